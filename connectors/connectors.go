package connectors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors shared by every channel. Callers branch on them with errors.Is.
var (
	// ErrInvalid marks a message that can never be accepted (no identity,
	// malformed body, ...). It is the caller's fault; retrying will not help.
	ErrInvalid = errors.New("invalid message")
	// ErrChannelOff is returned by a Sink when the channel is in phase off.
	ErrChannelOff = errors.New("channel is off")
	// ErrUnknownChannel is returned when a message names a channel the hub does not have.
	ErrUnknownChannel = errors.New("unknown channel")
	// ErrNotConnected from a Source or Sender means "reconnect and try again".
	ErrNotConnected = errors.New("not connected")
	// ErrTooLarge: a body or attachment is over its limit.
	ErrTooLarge = errors.New("too large")
	// ErrPermanent wraps a send failure that must not be retried (e.g. the
	// recipient opted out, or the provider refused the content).
	ErrPermanent = errors.New("permanent failure")
	// ErrUnknownMessage is returned by a StatusSink for a provider id the hub
	// never sent (another system using the same number or account): there is
	// nothing to update, and nothing for the provider to retry.
	ErrUnknownMessage = errors.New("unknown message")
)

// Delivery statuses of an outbound message, in the order they may advance
// (a report never moves a message back; delivered, undelivered and failed
// are final).
const (
	StatusQueued      = "queued"
	StatusSent        = "sent"
	StatusDelivered   = "delivered"
	StatusUndelivered = "undelivered"
	StatusFailed      = "failed"
)

// Direction of a message relative to the hub.
type Direction string

const (
	Inbound  Direction = "in"
	Outbound Direction = "out"
	Note     Direction = "note" // an agent's private note; never sent
)

// Message is what a channel hands to the hub: one customer message, normalised.
type Message struct {
	// ID is the deterministic hub id: the Sink sets it to
	// MessageID(Channel, ProviderID), replacing whatever a channel put
	// here, so every channel's redeliveries dedupe the same way.
	ID string `json:"id"`
	// Channel is the configured channel name (not its type).
	Channel string `json:"channel"`
	// ProviderID identifies the message at the provider: Twilio MessageSid,
	// Slack event id or channel:ts, IMAP "UIDVALIDITY:UID/Message-ID", a form
	// token, the API channel's external_id. Required.
	ProviderID string `json:"provider_id"`
	// ThreadKey groups messages into one conversation within the channel
	// (a Slack thread_ts, an email thread root, an API thread_id). Empty means
	// "the customer's current conversation on this channel".
	ThreadKey string `json:"thread_key,omitempty"`
	// Thread, when the channel has them, are the further clues of the
	// message's thread the router's threading chain tries (email).
	Thread *ThreadHints `json:"thread,omitempty"`
	// Sender identities, at least one. Verified ones can merge customers;
	// claimed ones only ever produce merge suggestions.
	Identities []Identity `json:"identities"`
	// SenderName is a display name, when the channel knows one.
	SenderName string `json:"sender_name,omitempty"`
	// SenderAvatar is the URL of the sender's picture, when the channel has one.
	SenderAvatar string `json:"sender_avatar,omitempty"`
	Subject      string `json:"subject,omitempty"`
	Text         string `json:"text"`
	// HTML is sanitized HTML kept for display, when the channel has it.
	HTML        string       `json:"html,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// Fields are ordered key/value pairs (web form fields, email headers of
	// interest) shown with the entry.
	Fields []Field `json:"fields,omitempty"`
	// Flags mark a message kept despite problems (e.g. "malformed-mime").
	Flags []string `json:"flags,omitempty"`
	// Consent, when set, is recorded on the customer (SMS STOP, form consent).
	Consent *ConsentChange `json:"consent,omitempty"`
	// NoReply marks messages that must never be answered automatically
	// (auto-replies, bulk mail, bounces).
	NoReply bool `json:"no_reply,omitempty"`
	// PostedBy is the hub principal who handed the message in, when one
	// did (an agent's or a system's token posting to the api channel); the
	// entry records it as posted_by. Channels a provider delivers into
	// leave it empty.
	PostedBy string `json:"posted_by,omitempty"`
	// Regarding is the provider id of one of the hub's own outbound messages
	// on this channel that this message reports on (a bounce, a delivery
	// report). The hub files such a message on that reply's conversation,
	// beside the reply, instead of on a timeline of its own sender (a
	// mailer-daemon is not a customer). When the reply is unknown, the
	// message is handled like any other.
	Regarding  string    `json:"regarding,omitempty"`
	OccurredAt time.Time `json:"occurred_at"`
	ReceivedAt time.Time `json:"received_at"`
}

// Field is one named value shown with an entry, in order.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Attachment describes a file carried by a message. The content lives in the
// blob store under its SHA-256; Omitted explains why content was not kept.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256,omitempty"`
	Inline      bool   `json:"inline,omitempty"`
	Omitted     string `json:"omitted,omitempty"`
}

// MessageID derives the hub's deterministic message id from the channel and
// the provider's id, so re-delivery of the same provider message always maps
// to the same id (DESIGN invariant 2).
func MessageID(channel, providerID string) string {
	h := sha256.Sum256([]byte(channel + "\x00" + providerID))
	return "m_" + hex.EncodeToString(h[:16])
}

// MaxIDBytes bounds a message's ProviderID and ThreadKey (the api
// channel's external_id and thread_id, a plugin's provider_id and
// thread_key). Both become parts of store keys: a thread key of 100 KB is
// over the embedded store's key limit, so the message failed on every
// attempt and was dead-lettered. Every built-in channel's ids fit (an email
// Message-ID is at most 250 bytes, a form's thread key 200).
const MaxIDBytes = 512

// CheckLine says what keeps s from being a one-line value of at most max
// bytes (an id, a name, a subject): its length, invalid UTF-8 or a control
// character (C0, DEL, C1; a NUL, a line break, an escape sequence); nil
// when nothing does. The error reads after the value's name: "external_id
// is 600 bytes, the limit is 512".
func CheckLine(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("is %d bytes, the limit is %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8")
	}
	for i, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("has the control character %U at byte %d", r, i)
		}
	}
	return nil
}

// CheckID is CheckLine for a provider id or thread key (MaxIDBytes).
func CheckID(id string) error { return CheckLine(id, MaxIDBytes) }

// Validate checks what every channel's message must satisfy before it is
// accepted. Errors wrap ErrInvalid.
func (m *Message) Validate(maxText int) error {
	var errs []error
	if m.Channel == "" {
		errs = append(errs, errors.New("channel is empty"))
	}
	if m.ProviderID == "" {
		errs = append(errs, errors.New("provider id is empty"))
	} else if err := CheckID(m.ProviderID); err != nil {
		errs = append(errs, fmt.Errorf("provider id %w", err))
	}
	if err := CheckID(m.ThreadKey); err != nil {
		errs = append(errs, fmt.Errorf("thread key %w", err))
	}
	if len(m.Identities) == 0 {
		errs = append(errs, errors.New("no sender identity"))
	}
	for _, id := range m.Identities {
		if id.Type == "" || id.Value == "" {
			errs = append(errs, errors.New("identity with empty type or value"))
		}
	}
	if maxText > 0 && len(m.Text) > maxText {
		errs = append(errs, errors.New("text too long"))
	}
	if !validUTF8(m.Text) || !validUTF8(m.SenderName) || !validUTF8(m.Subject) {
		errs = append(errs, errors.New("text is not valid UTF-8"))
	}
	if len(errs) > 0 {
		return errors.Join(append([]error{ErrInvalid}, errs...)...)
	}
	return nil
}

// Sink receives inbound messages. Deliver returns nil only after the message
// is durable in the ingest queue: once it returned nil, the message reaches a
// timeline even if the process is killed right after. Deliver is safe for
// concurrent use and idempotent per (Channel, ProviderID).
type Sink interface {
	Deliver(ctx context.Context, msg Message) (id string, err error)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, msg Message) (string, error)

func (f SinkFunc) Deliver(ctx context.Context, msg Message) (string, error) { return f(ctx, msg) }

// Source is a channel that pulls messages (IMAP, Slack Socket Mode, a plugin).
// Run connects, delivers every message it receives into sink and returns when
// ctx is cancelled (nil) or on an error it cannot recover from. It must retry
// transient errors itself with backoff; a Source that returns early is
// restarted by its owner with backoff.
type Source interface {
	Run(ctx context.Context, sink Sink) error
}

// Outgoing is an agent's reply handed to a Sender.
type Outgoing struct {
	EntryID        string `json:"entry_id"`
	ConversationID string `json:"conversation_id"`
	CustomerID     string `json:"customer_id"`
	Channel        string `json:"channel"`
	// To is the customer identity on this channel the reply goes to.
	To        Identity `json:"to"`
	ThreadKey string   `json:"thread_key,omitempty"`
	Subject   string   `json:"subject,omitempty"`
	Text      string   `json:"text"`
	HTML      string   `json:"html,omitempty"`
	// InReplyTo is the provider id of the customer's last inbound message in
	// the conversation, for channels that thread by it.
	InReplyTo string `json:"in_reply_to,omitempty"`
	Agent     string `json:"agent,omitempty"`
	// Attachments the agent added to the reply; each one's content is the
	// blob named by its SHA256 (Env.Blobs). A Sender that cannot carry them
	// must fail the send with ErrPermanent, never drop them silently.
	Attachments []Attachment `json:"attachments,omitempty"`
	// Purpose is the consent purpose of a message an agent started (""
	// for a reply: service).
	Purpose string `json:"purpose,omitempty"`
	// Unsubscribe is the hub's one-click unsubscribe URL (RFC 8058) for a
	// message sent for a purpose other than service: an email Sender puts
	// it in List-Unsubscribe with List-Unsubscribe-Post.
	Unsubscribe string `json:"unsubscribe,omitempty"`
	// Automatic marks a message no agent wrote (a satisfaction survey, an
	// acknowledgement, an automation's canned reply): an email Sender marks
	// it Auto-Submitted: auto-generated (RFC 3834), and the hub never sends
	// one in answer to a message marked NoReply. Its entry carries the flag
	// "automatic" (store.FlagAutomatic).
	Automatic bool `json:"automatic,omitempty"`
	// Choices are quick answers a channel may offer as buttons (a survey's
	// scores: Slack renders them as a block of buttons whose click comes
	// back as an inbound message with the choice's Value as its text).
	// The Text stands on its own for channels without buttons.
	Choices []Choice `json:"choices,omitempty"`
}

// Choice is one quick answer of an Outgoing message.
type Choice struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// SendResult is what the provider said about an accepted send.
type SendResult struct {
	ProviderID string `json:"provider_id"`
	// Status is "sent" unless the provider already reports more.
	Status string `json:"status"`
}

// Sender delivers outgoing replies through a channel. A returned error that
// wraps ErrPermanent is not retried; any other error is retried with backoff
// and dead-lettered after the configured number of attempts.
type Sender interface {
	Send(ctx context.Context, out Outgoing) (SendResult, error)
}

// Tester is an optional ability: check credentials and reachability
// (`switchboard channels test NAME`).
type Tester interface {
	Test(ctx context.Context) (report string, err error)
}
