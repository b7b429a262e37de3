package inbox

import (
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/router"
)

// channelView is a channel as GET /api/v1/channels shows it: the
// directory's record plus what the inbox needs to know to offer it.
type channelView struct {
	directory.Channel
	// Attachments: replies on it may carry files (email in this build).
	Attachments bool `json:"attachments"`
	// Replies: agents may reply on it (false for an api channel, which
	// only receives; a reply there is refused with channel_cannot_reply).
	Replies bool `json:"replies"`
}

func viewChannel(c directory.Channel) channelView {
	return channelView{Channel: c, Attachments: router.SendsAttachments(c.Type), Replies: router.Replies(c.Type)}
}

func viewChannels(cs []directory.Channel) []channelView {
	out := make([]channelView, len(cs))
	for i, c := range cs {
		out[i] = viewChannel(c)
	}
	return out
}
