package sdk_test

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-hub/switchboard/plugins/sdk"
)

// echo is a whole channel: it receives one message a second from a fake
// provider and "sends" replies by printing them.
type echo struct{ cfg sdk.Config }

func (e *echo) Describe() sdk.Description {
	return sdk.Description{Name: "echo", Version: "1.0.0",
		Identities: []sdk.IdentityKind{{Kind: "echo", Verified: true}}}
}

func (e *echo) Configure(ctx context.Context, cfg sdk.Config) error { e.cfg = cfg; return nil }

func (e *echo) Run(ctx context.Context, host sdk.Host) error {
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
		_, err := host.Deliver(ctx, sdk.Message{ProviderID: fmt.Sprint(i), Text: "ping",
			Identities: []sdk.Identity{{Type: "echo", Value: "user-1", Verified: true}}})
		if sdk.Retryable(err) {
			i-- // not stored: deliver the same message again
		}
	}
}

func (e *echo) Send(ctx context.Context, out sdk.Outgoing) (sdk.SendResult, error) {
	fmt.Printf("to %s: %s\n", out.To.Value, out.Text)
	return sdk.SendResult{ProviderID: "echo-" + out.EntryID, Status: "sent"}, nil
}

// A plugin's main is sdk.Serve(&echo{}); the hub then calls Describe,
// Configure, Run and Send as below.
func Example() {
	var ch sdk.Channel = &echo{}
	d := ch.Describe()
	fmt.Println(d.Name, d.Version, d.Identities[0].Kind)
	res, _ := ch.Send(context.Background(), sdk.Outgoing{EntryID: "e1", To: sdk.Identity{Type: "echo", Value: "user-1"}, Text: "pong"})
	fmt.Println(res.ProviderID, res.Status)
	// Output:
	// echo 1.0.0 echo
	// to user-1: pong
	// echo-e1 sent
}
