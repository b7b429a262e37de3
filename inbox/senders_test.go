package inbox_test

import (
	"context"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/router"
)

// idleSender accepts every message and sends nothing (the tests here look
// at what is stored and queued, not at delivery).
type idleSender struct{}

func (idleSender) Send(context.Context, connectors.Outgoing) (connectors.SendResult, error) {
	return connectors.SendResult{ProviderID: "idle", Status: connectors.StatusSent}, nil
}

// withSenders registers a Sender for every channel of dir whose type has
// one in this build (email, sms, slack), as cmd/switchboard does; an api
// channel, a web form or a made-up type without one only receives, so a
// reply there is refused with channel_cannot_reply.
func withSenders(out *router.Outbound, dir *directory.Directory) *router.Outbound {
	for _, c := range dir.List() {
		if c.Type == "email" || c.Type == "sms" || c.Type == "slack" {
			out.SetSender(c.Name, idleSender{})
		}
	}
	return out
}
