package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
)

// Files customers share in Slack are fetched with the bot token (Slack's
// url_private_download needs it) into the hub's blob store, so agents
// download them from the conversation like email attachments.
const (
	// MaxFileBytes is the largest Slack file kept; larger ones are listed
	// with their size and Slack id, without content.
	MaxFileBytes = int64(10 << 20)
	// fileBudget bounds the downloads of one event: Slack wants the
	// webhook's answer within 3 seconds (the profile lookup takes up to
	// 1.5 of them). A file not fetched in time is listed without content.
	fileBudget = 1200 * time.Millisecond
)

// fetchFiles downloads the files of ev into the blob store and records
// them on msg's attachments (built by toMessage, in ev.Files' order).
// A file that cannot be fetched keeps its Omitted reason; a message is
// never held back by its files.
func (c *Channel) fetchFiles(ctx context.Context, ev *event, msg *connectors.Message) {
	if c.env.Blobs == nil || len(ev.Files) == 0 || len(msg.Attachments) != len(ev.Files) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, fileBudget)
	defer cancel()
	for i, f := range ev.Files {
		a := &msg.Attachments[i]
		u := f.URLPrivateDownload
		if u == "" {
			u = f.URLPrivate
		}
		if u == "" {
			continue
		}
		if f.Size > MaxFileBytes {
			a.Omitted = fmt.Sprintf("larger than %d bytes (Slack file %s)", MaxFileBytes, f.ID)
			continue
		}
		var buf capped
		buf.max = MaxFileBytes
		if err := c.api.GetFileContext(ctx, u, &buf); err != nil {
			reason := "not downloaded"
			if errors.Is(err, connectors.ErrTooLarge) {
				reason = fmt.Sprintf("larger than %d bytes", MaxFileBytes)
			} else if ctx.Err() != nil {
				reason = "not downloaded in time"
			}
			c.log.Warn("slack: file not downloaded", "file", f.ID, "err", err)
			a.Omitted = reason + " (Slack file " + f.ID + ")"
			continue
		}
		sum, n, err := c.env.Blobs.Put(ctx, bytes.NewReader(buf.b.Bytes()), MaxFileBytes)
		if err != nil {
			c.log.Warn("slack: file not stored", "file", f.ID, "err", err)
			a.Omitted = "not stored (Slack file " + f.ID + ")"
			continue
		}
		a.SHA256, a.Size, a.Omitted = sum, n, ""
	}
}

// capped is a buffer that refuses to grow past max bytes.
type capped struct {
	b   bytes.Buffer
	max int64
}

func (c *capped) Write(p []byte) (int, error) {
	if int64(c.b.Len()+len(p)) > c.max {
		return 0, connectors.ErrTooLarge
	}
	return c.b.Write(p)
}
