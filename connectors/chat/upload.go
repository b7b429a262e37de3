package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/slack-go/slack"

	"github.com/switchboard-hub/switchboard/connectors"
)

// Files an agent attaches to a reply go out with Slack's external upload
// (what slack-go calls UploadFileV2): files.getUploadURLExternal and an
// upload of the bytes for each file, then one files.completeUploadExternal
// that shares them all in the conversation's channel and thread with the
// reply's text as the initial comment. Nothing is visible in Slack before
// that last call, so a failure on the way leaves no half-sent reply: the
// queue retries the whole send, or, for what Slack refuses for good, the
// reply is marked failed with the reason and keeps its files in the hub.
const (
	// MaxUploadBytes is the largest file a reply may send to Slack: the
	// hub's own limit for all the attachments of one reply (25 MiB,
	// inbox.MaxReplyAttachmentsBytes), far below Slack's 1 GB.
	MaxUploadBytes = int64(25 << 20)
	// MaxUploadFiles is the most files of one reply: the hub's limit
	// (inbox.MaxReplyAttachments).
	MaxUploadFiles = 20
)

var (
	errUploadBlob   = errors.New("reading the attachment from the hub's store failed")
	errUploadDenied = errors.New("attachment")
)

// upload is one file read from the blob store, ready to send.
type upload struct {
	name string
	data []byte
}

// sendFiles uploads out's attachments and shares them, with text as the
// initial comment, into channel (thread: under that message). It returns
// the reply's provider id, "CHANNEL:files:F1,F2".
func (c *Channel) sendFiles(ctx context.Context, out connectors.Outgoing, channel, thread, text string) (string, error) {
	files, err := c.readAttachments(ctx, out.Attachments)
	if err != nil {
		return "", err
	}
	summaries := make([]slack.FileSummary, 0, len(files))
	for _, f := range files {
		var u *slack.GetUploadURLExternalResponse
		err := c.withRateLimit(ctx, "files.getUploadURLExternal", func() error {
			var err error
			u, err = c.api.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: f.name, FileSize: len(f.data)})
			return err
		})
		if err != nil {
			return "", fmt.Errorf("%w (file %q)", err, f.name)
		}
		err = c.api.UploadToURL(ctx, slack.UploadToURLParameters{UploadURL: u.UploadURL, Filename: f.name, Reader: bytes.NewReader(f.data)})
		if err != nil {
			return "", fmt.Errorf("%w (file %q)", classify("upload", err), f.name)
		}
		summaries = append(summaries, slack.FileSummary{ID: u.FileID, Title: f.name})
	}
	var res *slack.CompleteUploadExternalResponse
	err = c.withRateLimit(ctx, "files.completeUploadExternal", func() error {
		var err error
		res, err = c.api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{
			Files: summaries, Channel: channel, ThreadTimestamp: thread, InitialComment: text})
		return err
	})
	if err != nil {
		return "", err
	}
	ids := make([]string, 0, len(summaries))
	for _, s := range summaries {
		ids = append(ids, s.ID)
	}
	if res != nil && len(res.Files) > 0 {
		ids = ids[:0]
		for _, f := range res.Files {
			ids = append(ids, f.ID)
		}
	}
	return channel + ":files:" + strings.Join(ids, ","), nil
}

// readAttachments reads every attachment from the blob store before
// anything is sent: a file the hub does not hold, or one over the limits,
// fails the reply for good (ErrPermanent, naming the file); a store that
// cannot be read now is retried.
func (c *Channel) readAttachments(ctx context.Context, as []connectors.Attachment) ([]upload, error) {
	if len(as) > MaxUploadFiles {
		return nil, fmt.Errorf("slack: %w: %d attachments; a reply may carry at most %d files", connectors.ErrPermanent, len(as), MaxUploadFiles)
	}
	if c.env.Blobs == nil {
		return nil, fmt.Errorf("slack: %w: no attachment store configured", connectors.ErrPermanent)
	}
	files := make([]upload, 0, len(as))
	for _, a := range as {
		name := uploadName(a.Name)
		if a.SHA256 == "" || a.Omitted != "" {
			return nil, fmt.Errorf("slack: %w: %w %q has no stored content", connectors.ErrPermanent, errUploadDenied, name)
		}
		rc, err := c.env.Blobs.Get(ctx, a.SHA256)
		if errors.Is(err, connectors.ErrBlobNotFound) {
			return nil, fmt.Errorf("slack: %w: %w %q has no stored content", connectors.ErrPermanent, errUploadDenied, name)
		}
		if err != nil {
			return nil, fmt.Errorf("slack: %w %q: %v", errUploadBlob, name, err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, MaxUploadBytes+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("slack: %w %q: %v", errUploadBlob, name, err)
		}
		switch {
		case int64(len(data)) > MaxUploadBytes:
			return nil, fmt.Errorf("slack: %w: %w %q is over %d bytes", connectors.ErrPermanent, errUploadDenied, name, MaxUploadBytes)
		case len(data) == 0:
			// Slack refuses a zero-length upload.
			return nil, fmt.Errorf("slack: %w: %w %q is empty", connectors.ErrPermanent, errUploadDenied, name)
		}
		files = append(files, upload{name: name, data: data})
	}
	return files, nil
}

// uploadName is a file name Slack shows as sent: one line, no path, never
// empty.
func uploadName(n string) string {
	n = strings.Map(func(r rune) rune {
		switch {
		case r == '/' || r == '\\':
			return '_'
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, n)
	if n = strings.TrimSpace(n); n == "" {
		return "attachment"
	}
	return n
}
