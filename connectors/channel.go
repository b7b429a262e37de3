package connectors

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Env is what the hub hands a channel when it builds one. Channel packages
// export New(cfg config.Channel, env Env, ...) and a type with whichever of
// the abilities below they have (Router, Sender, Source or LeasedSource,
// Tester); the hub finds them by type assertion. A channel sees the hub only
// through this package: it never imports the store or the router.
type Env struct {
	// Name is the channel's configured name (also in its URLs).
	Name string
	Sink Sink
	// Status receives delivery status reports for outbound messages.
	Status StatusSink
	Blobs  Blobs
	Logger *slog.Logger
	Clock  func() time.Time
	// PublicURL is the base URL the hub is reached at from outside
	// (http.public_url), for checking webhook signatures that cover the URL.
	PublicURL string
	// Region is identity.default_region, for reading phone numbers a
	// customer typed without a country code.
	Region string
	// Replica names this hub process (lease holder names).
	Replica string
	// Leases takes leases for this replica (the plugin host's RunOnce
	// receiving). A LeasedSource does not need it: the hub holds its lease.
	Leases Leases
	// State keeps the channel's small state (checkpoints), fenced by a lease.
	State State
	// Counters are shared statistics counters.
	Counters Counters
	// Budgets are shared sliding-window limits (the email channel's
	// automatic_limit); nil: a channel keeps such limits per replica.
	Budgets Budgets
	// Phase returns the channel's current phase (off, shadow, pilot, live).
	Phase func() string
}

// Route is one HTTP endpoint a channel serves (a webhook, a form).
type Route struct {
	// Pattern is a net/http ServeMux pattern, e.g.
	// "POST /webhooks/twilio/{channel}". The hub answers 404 for every route
	// of a channel in phase off before the handler runs.
	Pattern string
	Handler http.Handler
}

// Router is the ability to serve HTTP routes.
type Router interface {
	Routes() []Route
}

// StatusSink takes delivery status reports (e.g. Twilio status callbacks)
// for an outbound message identified by the provider's id. Statuses never
// move backwards (a late "sent" after "delivered" is ignored).
type StatusSink interface {
	UpdateStatus(ctx context.Context, channel, providerID, status, detail string) error
}

// ErrBlobNotFound is what Blobs.Get returns (wrapped or not) for content
// the store does not hold: it will not appear later.
var ErrBlobNotFound = errors.New("blob not found")

// Blobs keeps attachment content, addressed by its SHA-256.
type Blobs interface {
	// Put reads r up to max bytes (more is an error wrapping ErrTooLarge, and
	// nothing is kept) and returns the content's SHA-256 (hex) and size.
	Put(ctx context.Context, r io.Reader, max int64) (sha256 string, size int64, err error)
	// Get opens a blob; ErrBlobNotFound when the store does not hold it.
	Get(ctx context.Context, sha256 string) (io.ReadCloser, error)
	Delete(ctx context.Context, sha256 string) error
}

// ConsentChange is a consent decision carried by a message (an SMS STOP, a
// form's consent checkbox). The router records it on the customer the
// message resolves to.
type ConsentChange struct {
	Purpose string `json:"purpose"` // "messages" for STOP/START; a form's configured purpose
	Granted bool   `json:"granted"`
	Text    string `json:"text,omitempty"`    // what the customer saw or sent
	Version string `json:"version,omitempty"` // version of the consent text
}

// PurposeMessages is the consent purpose that governs whether the hub may
// message the customer on a channel at all (SMS STOP/START).
const PurposeMessages = "messages"
