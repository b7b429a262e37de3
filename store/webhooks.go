package store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"
)

// ---- outgoing webhooks ----------------------------------------------------
//
// The outbox of outgoing webhooks (issue 21): every reported change is a
// WebhookEvent, recorded before the hub acknowledges the change (and, for an
// inbound message, before the message joins its timeline, so a crash at any
// point is healed by the redelivery that completes the change). The
// dispatcher (package webhooks) fans each event out into one
// WebhookDelivery per subscribed endpoint and works through each endpoint's
// pending deliveries in recording order.

// WebhookEventID is the webhook-id of the change of type typ identified by
// key (an entry id, a conversation id and version, ...): the same change
// recorded twice (a redelivered message) is one event. at is a time of the
// change that is the same every time it is recorded (for a message's
// events, its conversation's creation time, which the store keeps); it
// leads the id as 9 characters of milliseconds in base32hex, so ids sort
// with time and the embedded store's outbox, keyed by id, is written at its
// right edge instead of at a random leaf per event (issue 21: the random
// key was most of recording's cost on ingest). The rest is
// base64url(sha256(typ NUL key)[:18]), the whole id of earlier versions and
// of changes without such a time (at zero): LegacyWebhookEventID finds it,
// so a change recorded by an earlier version is not recorded again.
func WebhookEventID(typ, key string, at time.Time) string {
	sum := sha256.Sum256([]byte(typ + "\x00" + key))
	h := base64.RawURLEncoding.EncodeToString(sum[:18])
	if at.IsZero() {
		return "msg_" + h
	}
	ms := max(at.UnixMilli(), 0)
	if ms >= 1<<45 { // past the year 3084
		ms = 1<<45 - 1
	}
	var b [4 + idTimeChars]byte
	copy(b[:], "msg_")
	for i := len(b) - 1; i >= 4; i-- {
		b[i] = base32hex[ms&31]
		ms >>= 5
	}
	return string(b[:]) + h
}

// WebhookEventsWithTheEntry is implemented by a store whose
// AppendWithWebhookEvents writes the events in the append's own atomic
// step (the embedded store: one transaction), so no event outlives an
// append that failed. Only there does message.received's webhook-id lead
// with its conversation's creation time: where the events can be
// recorded in a step before the append (Redis: always on a Cluster, and on
// a standalone server whenever an append leaves the one-step function for
// the Cluster path), a copy of the message redelivered after a crash there
// can join another conversation (the first one resolved meanwhile), whose
// time would give the same message a second event; there the id is the
// hash alone (TestWebhookIDOfARedeliveredMessageAfterAResolve). A store
// implements it only if no append of it ever records before writing.
type WebhookEventsWithTheEntry interface {
	WebhookEventsWithTheEntry()
}

const (
	idTimeChars = 9 // 45 bits of milliseconds
	idHashChars = 24
	base32hex   = "0123456789abcdefghijklmnopqrstuv" // sorts as its values do
)

// LegacyWebhookEventID is the id an earlier version gave the change of
// id (WebhookEventID without the time), or "" when id has no time part.
// Backends look it up before recording id, so a change whose event an
// earlier version recorded (a redelivery across an upgrade) stays one
// event under its old id.
func LegacyWebhookEventID(id string) string {
	if len(id) != 4+idTimeChars+idHashChars || !strings.HasPrefix(id, "msg_") {
		return ""
	}
	for i := 4; i < 4+idTimeChars; i++ {
		if strings.IndexByte(base32hex, id[i]) < 0 {
			return ""
		}
	}
	return "msg_" + id[4+idTimeChars:]
}

// Webhook delivery statuses.
const (
	WebhookPending   = "pending"   // waiting for its (next) attempt
	WebhookDelivered = "delivered" // the endpoint answered 2xx
	WebhookFailed    = "failed"    // retries exhausted, or the endpoint disabled
)

// WebhookEvent is one outbox record. ID is the webhook-id receivers see
// (WebhookEventID): deterministic (the same change recorded twice is one
// event) and stable across retries.
type WebhookEvent struct {
	ID         string    `json:"id"`
	Seq        int64     `json:"seq"` // set by the backend: order of recording
	Type       string    `json:"type"`
	CustomerID string    `json:"customer_id,omitempty"`
	At         time.Time `json:"at"`
	Data       []byte    `json:"data"` // the body's data object, JSON
}

// WebhookFanOut is one event (its ID and Seq) and its deliveries.
type WebhookFanOut struct {
	Event      WebhookEvent
	Deliveries []WebhookDelivery
}

// WebhookDelivery is one event's delivery to one endpoint.
type WebhookDelivery struct {
	Endpoint      string    `json:"endpoint"`
	EventID       string    `json:"event_id"`
	Seq           int64     `json:"seq"` // the event's Seq
	Type          string    `json:"type"`
	CustomerID    string    `json:"customer_id,omitempty"`
	Status        string    `json:"status"`
	Attempts      int       `json:"attempts"`
	LastCode      int       `json:"last_code,omitempty"`
	LastError     string    `json:"last_error,omitempty"`
	LastAttemptAt time.Time `json:"last_attempt_at,omitempty"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

// WebhookEndpoint is a receiver of outgoing webhooks, from the config
// (Source "config", written at start-up) or the admin API (Source "api").
type WebhookEndpoint struct {
	Name   string   `json:"name"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	// Secrets sign every delivery (whsec_ + base64); two during a rotation.
	Secrets               []string `json:"secrets"`
	AllowHTTP             bool     `json:"allow_http"`
	AllowPrivateAddresses bool     `json:"allow_private_addresses"`
	Enabled               bool     `json:"enabled"`
	// DisabledReason is set when the hub disabled it (a 410 answer);
	// enabling it again clears it.
	DisabledReason string    `json:"disabled_reason,omitempty"`
	Source         string    `json:"source"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Active reports whether deliveries to e are attempted.
func (e WebhookEndpoint) Active() bool { return e.Enabled && e.DisabledReason == "" }

// Webhooks is the outbox, the deliveries and the endpoints.
type Webhooks interface {
	// PutWebhookEvent records ev (Seq assigned) unless an event with ev.ID,
	// or with LegacyWebhookEventID(ev.ID), exists; then it returns that
	// one, created=false, and changes nothing.
	PutWebhookEvent(ctx context.Context, ev WebhookEvent) (WebhookEvent, bool, error)
	// PutWebhookEvents is PutWebhookEvent for several events, in order, in
	// one step.
	PutWebhookEvents(ctx context.Context, evs []WebhookEvent) error
	// AppendWithWebhookEvents is AppendToConversation that also records
	// evs (as PutWebhookEvents does) for the entry it appends: in the same
	// step where the backend can (the embedded store: one transaction,
	// written exactly when the entry is created), else in a step just
	// before the append (Redis: the outbox has its own Cluster slot). Either
	// way an entry that exists has its events, and no extra write waits
	// for its own commit where the backend can avoid one (issue 21's speed:
	// on the embedded store a separate outbox write cost ingest a serial
	// fsync per message).
	AppendWithWebhookEvents(ctx context.Context, e Entry, seen Conversation, fn func(*Conversation) error, evs []WebhookEvent) (Entry, Conversation, bool, error)
	// CreateCustomerWithWebhookEvents is CreateCustomer and
	// PutWebhookEvents(evs), both every time (each is idempotent): in one
	// step where the backend can (the embedded store), else one after the
	// other.
	CreateCustomerWithWebhookEvents(ctx context.Context, c Customer, evs []WebhookEvent) error
	GetWebhookEvent(ctx context.Context, id string) (WebhookEvent, error)
	// GetWebhookEvents returns the events of ids that exist, in the order
	// of ids.
	GetWebhookEvents(ctx context.Context, ids []string) ([]WebhookEvent, error)
	// PendingWebhookEvents returns up to limit events not yet fanned out,
	// by Seq ascending.
	PendingWebhookEvents(ctx context.Context, limit int) ([]WebhookEvent, error)
	// FanOutWebhookEvents stores, for each fan-out in order, each delivery
	// whose (endpoint, event) is new and marks the event fanned out: one
	// step per event (a crash leaves a prefix of fs done), and events
	// erased meanwhile are skipped.
	FanOutWebhookEvents(ctx context.Context, fs []WebhookFanOut) error
	// PutWebhookDeliveries replaces the records of (d.Endpoint, d.EventID)
	// for each d, in one step.
	PutWebhookDeliveries(ctx context.Context, ds ...WebhookDelivery) error
	GetWebhookDelivery(ctx context.Context, endpoint, eventID string) (WebhookDelivery, error)
	// ListWebhookDeliveries pages an endpoint's deliveries newest (highest
	// Seq) first, with Seq < before (before <= 0: from the newest).
	ListWebhookDeliveries(ctx context.Context, endpoint string, before int64, limit int) ([]WebhookDelivery, error)
	// PendingWebhookDeliveries returns up to limit of an endpoint's pending
	// deliveries by Seq ascending.
	PendingWebhookDeliveries(ctx context.Context, endpoint string, limit int) ([]WebhookDelivery, error)

	// CreateWebhookEndpoint stores e; ErrConflict when the name exists.
	CreateWebhookEndpoint(ctx context.Context, e WebhookEndpoint) error
	GetWebhookEndpoint(ctx context.Context, name string) (WebhookEndpoint, error)
	// UpdateWebhookEndpoint is compare-and-swap like UpdateCustomer.
	UpdateWebhookEndpoint(ctx context.Context, name string, fn func(*WebhookEndpoint) error) (WebhookEndpoint, error)
	ListWebhookEndpoints(ctx context.Context) ([]WebhookEndpoint, error)
	// DeleteWebhookEndpoint removes the endpoint and its deliveries.
	// Missing is not an error.
	DeleteWebhookEndpoint(ctx context.Context, name string) error

	// DeleteWebhookCustomer removes every event and delivery naming the
	// customer (erasure), returning how many events went.
	DeleteWebhookCustomer(ctx context.Context, customerID string) (int, error)
}

// RecordsAppender is implemented by a store that can write, in an
// append's own step, records derived from the conversation as the append
// left it (the embedded store: one transaction). Package timeline uses it
// for the audit record and timeline event of the automation rules that
// ran on a customer's message (issue 24's speed: otherwise they are one
// more commit the message waits for). Without it (Redis), the caller
// writes them after the append.
type RecordsAppender interface {
	// AppendWithRecords is AppendWithWebhookEvents that also writes, only
	// when it creates e, the entries (appended create-once, on the
	// conversation's customer's timeline) and audit records (once per
	// id) records returns for the updated conversation. records runs
	// inside the step: it must only compute.
	AppendWithRecords(ctx context.Context, e Entry, seen Conversation, fn func(*Conversation) error, evs []WebhookEvent,
		records func(Conversation) ([]Entry, []AuditRecord)) (Entry, Conversation, bool, error)
}
