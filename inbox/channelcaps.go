package inbox

import (
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/router"
)

// channelView is a channel as GET /api/v1/channels shows it: the
// directory's record plus what the inbox needs to know to offer it.
type channelView struct {
	directory.Channel
	// Attachments: replies on it may carry files (email and Slack in this
	// build).
	Attachments bool `json:"attachments"`
	// Replies: the channel has a Sender, so agents may reply on it (false
	// for an api channel or a web form, which only receive, and for any
	// channel built without a Sender; a reply there is refused with 422
	// channel_cannot_reply). The same test as the router's ErrCannotReply
	// (router.Outbound.CanSend); the phase is shown apart, in phase.
	Replies bool `json:"replies"`
}

func (s *Server) viewChannel(c directory.Channel) channelView {
	return channelView{Channel: c, Attachments: router.SendsAttachments(c.Type), Replies: s.o.Outbound != nil && s.o.Outbound.CanSend(c.Name)}
}

func (s *Server) viewChannels(cs []directory.Channel) []channelView {
	out := make([]channelView, len(cs))
	for i, c := range cs {
		out[i] = s.viewChannel(c)
	}
	return out
}
