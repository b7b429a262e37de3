package sdk

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Errors a Host returns from Deliver (and a Channel may return from Send).
// Test them with errors.Is.
var (
	// ErrInvalid: the hub refused the message as malformed (no identity,
	// invalid UTF-8, an undeclared identity kind, ...). Redelivering the
	// same message will not help: confirm it to the provider and log it.
	ErrInvalid = errors.New("invalid message")
	// ErrTooLarge: the message is over the hub's size limit. Do not retry.
	ErrTooLarge = errors.New("message too large")
	// ErrChannelOff: the channel is switched off in the hub. Retry later.
	ErrChannelOff = errors.New("channel is off")
	// ErrUnavailable: the hub could not store the message now (or the
	// connection to it was lost). Retry: do not confirm it to the provider.
	ErrUnavailable = errors.New("hub unavailable")
	// ErrPermanent, wrapped by an error a Channel returns from Send, tells
	// the hub not to retry the send (the recipient blocked the bot, the
	// content was refused). Any other Send error is retried with backoff.
	ErrPermanent = errors.New("permanent failure")
)

// Retryable reports whether a Deliver error means "try again later" (the
// message was not stored) rather than "this message is refused for good".
func Retryable(err error) bool {
	return err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge)
}

// Channel is what a plugin implements.
type Channel interface {
	// Describe says what the channel is. It is called before Configure and
	// must not block.
	Describe() Description
	// Configure receives the channel's settings. An error here (a missing
	// token) is shown to the admin and the plugin is not started again
	// until much later; return it for problems only a config change fixes.
	Configure(ctx context.Context, cfg Config) error
	// Run receives inbound messages and delivers each with host.Deliver
	// until ctx is cancelled, then returns nil. It should retry transient
	// provider errors itself; returning an error makes the hub restart
	// the plugin with backoff.
	Run(ctx context.Context, host Host) error
	// Send delivers an agent's reply. Wrap ErrPermanent for failures that
	// must not be retried.
	Send(ctx context.Context, out Outgoing) (SendResult, error)
}

// Host is the hub as seen from a plugin. It is safe for concurrent use;
// concurrent Delivers are pipelined on one stream.
type Host interface {
	// Deliver hands one inbound message to the hub and returns the hub's
	// message id once it is durable. See the Err* values for failures.
	Deliver(ctx context.Context, msg Message) (id string, err error)
	// UpdateStatus reports a delivery status ("delivered", "undelivered",
	// "failed"; see UpdateStatuses) of a message this plugin sent, by the
	// provider id Send returned. Statuses never move backwards in the hub;
	// any other status is refused.
	UpdateStatus(ctx context.Context, providerID, status, detail string) error
}

// Tester is an optional ability: check credentials and reachability
// (`switchboard channels test NAME`).
type Tester interface {
	Test(ctx context.Context) (report string, err error)
}

// Injector is an optional ability for the conformance kit: make the
// provider side produce one inbound message whose provider id derives from
// key (the same key is the same provider message). Plugins whose provider
// cannot be driven from the plugin leave it out; the kit then needs its own
// way to inject.
type Injector interface {
	Inject(ctx context.Context, key, text string) error
}

// Description is what a plugin says about itself.
type Description struct {
	// Name of the plugin (e.g. "telegram"); shown in `switchboard plugins list`.
	Name string
	// Version of the plugin, shown in `switchboard plugins list`.
	Version string
	// Identities are the identity kinds the plugin produces. The hub refuses
	// a message with an undeclared kind and treats every identity of a kind
	// not declared Verified as claimed.
	Identities []IdentityKind
	// Routes are the webhook endpoints the plugin serves (the Channel must
	// be an http.Handler). The hub mounts them under
	// /webhooks/plugin/{channel}; r.URL.Path is the path below that.
	Routes []Route
	// RunOnce: Run must not run on two hub replicas at once (a single
	// long-poll consumer such as Telegram's getUpdates). The hub then calls
	// Run only on the replica holding the channel's lease, and cancels it
	// there when the lease moves; Send and webhook routes are served on
	// every replica (use Config.Host to deliver from a webhook).
	RunOnce bool
}

// IdentityKind is one kind of sender identity a plugin produces: a
// lower-case word ("telegram", "whatsapp") or a hub kind ("email",
// "phone", "slack").
type IdentityKind struct {
	Kind string
	// Verified: the provider vouches for the identity (a Telegram user id).
	// Anything a customer typed is not verified. For the hub's own kinds
	// (email, phone, slack) this counts only where the operator allowed it
	// (plugins[].verified_kinds); otherwise they are stored as claimed.
	Verified bool
}

// Route is one webhook endpoint: Method ("POST") and Path ("/update").
type Route struct {
	Method string
	Path   string
}

// Config is what the hub passes to Configure.
type Config struct {
	// Channel is the configured channel name.
	Channel string
	// Settings are the plugin's settings from the hub's configuration.
	Settings map[string]string
	// WebhookURL is the public URL of /webhooks/plugin/{channel}, for
	// providers that must be told where to post (empty when the hub has no
	// http.public_url).
	WebhookURL string
	// MaxTextBytes is the largest Text the hub accepts.
	MaxTextBytes int
	// Logger writes structured logs into the hub's log, tagged with the
	// plugin's name. Never log message bodies or secrets at info level.
	Logger *slog.Logger
	// Host is the hub, the same one Run gets: webhook handlers deliver
	// through it, also on replicas where Run is not called (RunOnce).
	Host Host
}

// Message is one inbound customer message.
type Message struct {
	// ProviderID identifies the message at the provider and must be the
	// same on every redelivery (a Telegram "chat:message_id"). Required.
	ProviderID string
	// ThreadKey groups messages into one conversation (empty: the
	// customer's current conversation on this channel).
	ThreadKey string
	// Identities of the sender, at least one, of declared kinds.
	Identities   []Identity
	SenderName   string
	SenderAvatar string
	Subject      string
	Text         string
	// HTML, when set, must already be safe to display.
	HTML   string
	Fields []Field
	// Flags mark messages kept despite problems.
	Flags   []string
	Consent *Consent
	// NoReply marks messages that must never be answered automatically.
	NoReply bool
	// OccurredAt is when the customer sent it (zero: now).
	OccurredAt time.Time
}

// Identity is one typed way to reach the sender.
type Identity struct {
	Type     string
	Value    string
	Verified bool
}

// Field is a named value shown with a message, in order.
type Field struct {
	Name, Value string
}

// Consent is a consent decision carried by a message (a "STOP").
type Consent struct {
	Purpose string
	Granted bool
	Text    string
	Version string
}

// Outgoing is an agent's reply for the plugin to send.
type Outgoing struct {
	EntryID        string
	ConversationID string
	CustomerID     string
	Channel        string
	// To is the customer's identity on this channel.
	To        Identity
	ThreadKey string
	Subject   string
	Text      string
	HTML      string
	// InReplyTo is the provider id of the customer's last inbound message.
	InReplyTo string
	Agent     string
}

// SendResult is what the provider said about an accepted send.
type SendResult struct {
	// ProviderID identifies the sent message (for later status updates).
	ProviderID string
	// Status is "sent" (the default) or "delivered"; the hub records any
	// other value as "sent". Later statuses go through Host.UpdateStatus.
	Status string
}

// UpdateStatuses are the statuses Host.UpdateStatus takes.
var UpdateStatuses = []string{"sent", "delivered", "undelivered", "failed"}
