package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
)

// Channel is one configured email channel. It is a
// connectors.LeasedSource (IMAP, on one replica at a time, its checkpoints
// in env.State), a connectors.Sender (SMTP) and a connectors.Tester.
type Channel struct {
	name  string
	set   Settings
	env   connectors.Env
	st    connectors.State
	log   *slog.Logger
	clock func() time.Time
	auto  autoLimit // automatic mails per address (send.go)
}

var (
	_ connectors.LeasedSource = (*Channel)(nil)
	_ connectors.Sender       = (*Channel)(nil)
	_ connectors.Tester       = (*Channel)(nil)
)

// New builds the channel from its configuration; env.State keeps the
// folders' checkpoints.
func New(cfg config.Channel, env connectors.Env) (*Channel, error) {
	s, err := LoadSettings(cfg)
	if err != nil {
		return nil, err
	}
	if env.State == nil {
		return nil, errors.New("email: env.State is required (checkpoints)")
	}
	c := &Channel{name: cfg.Name, set: s, env: env, st: env.State, log: env.Logger, clock: env.Clock}
	if c.name == "" {
		c.name = env.Name
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.clock == nil {
		c.clock = time.Now
	}
	return c, nil
}

// Settings returns the channel's effective settings (defaults applied).
func (c *Channel) Settings() Settings { return c.set }

// ProviderID is the provider id of a parsed mail found in folder: the
// folder and its Message-ID, so the same mail fetched again (after a
// UIDVALIDITY change, or delivered twice) maps to the same hub message;
// without a Message-ID, the SHA-256 of the raw bytes stands in for it.
func ProviderID(folder string, p *Parsed, raw []byte) string {
	if p.MessageID != "" {
		return folder + "/<" + p.MessageID + ">"
	}
	h := sha256.Sum256(raw)
	return folder + "/sha256:" + hex.EncodeToString(h[:16])
}

// MessageIDOf recovers the Message-ID (with brackets) from a provider id
// of this channel: an inbound "FOLDER/<id>" or an outbound "<id>". It
// returns "" when the provider id carries none.
func MessageIDOf(providerID string) string {
	if !strings.HasSuffix(providerID, ">") {
		return ""
	}
	i := strings.LastIndex(providerID, "<")
	if i < 0 || (i > 0 && providerID[i-1] != '/') {
		return ""
	}
	if id := cleanID(providerID[i+1 : len(providerID)-1]); id != "" {
		return "<" + id + ">"
	}
	return ""
}

// placeholderSender stands in for a mail whose sender cannot be read; it
// is a claimed identity, so it never joins anyone's timeline by itself.
const placeholderSender = "unknown-sender@invalid"

// message turns a parsed mail into the hub's message, storing attachment
// content in the blob store.
func (c *Channel) message(ctx context.Context, folder string, raw []byte, p *Parsed, internal time.Time) (connectors.Message, error) {
	m := connectors.Message{
		Channel:    c.name,
		ProviderID: ProviderID(folder, p, raw),
		Subject:    p.Subject,
		Text:       p.Text,
		HTML:       p.HTML,
		Fields:     append([]connectors.Field(nil), p.Fields...),
		Flags:      append([]string(nil), p.Flags...),
		NoReply:    p.NoReply,
		ReceivedAt: c.clock().UTC(),
	}
	if folder != "INBOX" {
		m.Fields = append(m.Fields, connectors.Field{Name: "Folder", Value: folder})
	}
	if p.From != nil && strings.EqualFold(p.From.Address, c.set.SMTP.From) || isHubID(p.MessageID) {
		// The hub's own mail (a Bcc to the mailbox, a watched Sent
		// folder, a list reflecting it): never answer it, or two hubs
		// could loop. When it names one of the hub's own Message-IDs, it
		// is filed beside that message (connectors.Message.Regarding),
		// never as a customer's message on a timeline of the hub's own
		// address.
		m.NoReply = true
		m.Flags = append(m.Flags, FlagOwnMail)
		if ref := hubRef(p); ref != "" {
			m.Regarding = ref
		}
	}
	if p.From != nil {
		// Claimed unless a trusted server authenticated From (see
		// Parsed.Authenticated): anyone can write any From.
		m.Identities = []connectors.Identity{{Type: connectors.Email, Value: p.From.Address, Verified: p.Authenticated(c.set.TrustedAuthservIDs)}}
		m.SenderName = p.From.Name
	} else {
		m.Identities = []connectors.Identity{{Type: connectors.Email, Value: placeholderSender}}
		m.Flags = append(m.Flags, FlagNoSender)
	}
	key := threadKey(p.MessageID, p.InReplyTo, p.References, strings.TrimPrefix(m.ProviderID, folder+"/"))
	m.ThreadKey = key
	m.Thread = c.threadHints(folder, p)
	switch {
	case !p.Date.IsZero() && (internal.IsZero() || p.Date.Before(internal.Add(24*time.Hour))):
		m.OccurredAt = p.Date
	case !internal.IsZero():
		m.OccurredAt = internal
	}
	for _, part := range p.Parts {
		a := connectors.Attachment{Name: part.Name, ContentType: part.ContentType, Size: part.Size, Inline: part.Inline, Omitted: part.Omitted}
		if part.Data != nil {
			switch {
			case c.env.Blobs == nil:
				a.Omitted = "no attachment store configured"
			default:
				max := c.set.Limits.MaxAttachmentBytes
				if part.Name == OriginalName && part.ContentType == "message/rfc822" {
					max = c.set.Limits.MaxMessageBytes
				}
				sum, n, err := c.env.Blobs.Put(ctx, bytes.NewReader(part.Data), max)
				switch {
				case errors.Is(err, connectors.ErrTooLarge):
					a.Omitted = fmt.Sprintf("larger than %d bytes", max)
				case err != nil:
					return m, fmt.Errorf("email: store attachment %q: %w", part.Name, err)
				default:
					a.SHA256, a.Size = sum, n
				}
			}
		}
		m.Attachments = append(m.Attachments, a)
	}
	return m, nil
}

// deliver parses one raw mail and hands it to sink; it returns nil only
// once the mail is durable in the hub (or, for a mail the hub refuses
// even in its most basic form, after logging it as lost).
func (c *Channel) deliver(ctx context.Context, sink connectors.Sink, folder string, raw []byte, truncated bool, internal time.Time) error {
	p := Parse(raw, c.set.Limits, truncated)
	m, err := c.message(ctx, folder, raw, p, internal)
	if err != nil {
		return err
	}
	hubBounce := p.Bounce != nil && isHubID(p.Bounce.OriginalMessageID)
	if hubBounce {
		// Filed beside the reply it reports on, not on the mailer-daemon.
		m.Regarding = "<" + p.Bounce.OriginalMessageID + ">"
	}
	if m.Regarding == "" && slices.Contains(m.Flags, FlagOwnMail) {
		// The hub's own address naming none of the hub's messages (a
		// token in the subject of a new mail, a test sent from the
		// support address): never a customer's message. An admin sees it
		// in the quarantine and may release it.
		if q, ok := sink.(connectors.Quarantiner); ok {
			return q.Quarantine(ctx, m, "the hub's own mail came back (From is the channel's address)")
		}
	}
	_, err = sink.Deliver(ctx, m)
	if errors.Is(err, connectors.ErrInvalid) {
		// The hub refused something the parser let through (an address
		// the hub's normaliser rejects, ...): keep the mail with a
		// placeholder sender rather than block the folder or drop it.
		c.log.Warn("email: hub refused a parsed mail; keeping it with a placeholder sender", "folder", folder, "err", err)
		m.Identities = []connectors.Identity{{Type: connectors.Email, Value: placeholderSender}}
		m.Flags = append(m.Flags, FlagNoSender)
		m.Text = strings.ToValidUTF8(m.Text, "")
		m.SenderName, m.Subject = strings.ToValidUTF8(m.SenderName, ""), strings.ToValidUTF8(m.Subject, "")
		_, err = sink.Deliver(ctx, m)
		if errors.Is(err, connectors.ErrInvalid) {
			c.log.Error("email: mail refused by the hub; skipped", "folder", folder, "provider_id", m.ProviderID, "err", err)
			return nil
		}
	}
	if err != nil {
		return err
	}
	if hubBounce && c.env.Status != nil {
		c.reportBounce(ctx, p.Bounce, m.Regarding)
	}
	return nil
}

// reportBounce sets the status of the hub's message id (as sent, with
// angle brackets) that bounce b reports on.
func (c *Channel) reportBounce(ctx context.Context, b *Bounce, id string) {
	status := ""
	switch b.Action {
	case "failed":
		status = connectors.StatusFailed
	case "delivered", "relayed", "expanded":
		status = connectors.StatusDelivered
	default:
		return // "delayed": the mail may still arrive
	}
	detail := strings.TrimSpace(strings.Join(nonEmpty([]string{b.Status, b.Diagnostic}), " "))
	if detail == "" {
		detail = "bounced"
	}
	if b.Recipient != "" {
		detail += " (" + b.Recipient + ")"
	}
	if err := c.env.Status.UpdateStatus(ctx, c.name, id, status, detail); err != nil {
		c.log.Warn("email: bounce names a message the hub does not know", "message_id", b.OriginalMessageID, "err", err)
	}
}
