package store

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
)

// Sentinel errors, identical for every backend.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict: a compare-and-swap lost, or a create found a different record.
	ErrConflict = errors.New("conflict")
	// ErrLeaseHeld: someone else holds the lease.
	ErrLeaseHeld = errors.New("lease held by another holder")
)

// Store is the whole contract. Every method is safe for concurrent use by
// many goroutines and (for shared backends) many processes. Every write is
// idempotent or compare-and-swap, and no method needs a transaction spanning
// two customers (DESIGN invariant 3).
type Store interface {
	Identities
	Customers
	Merges
	Conversations
	Entries
	Channels
	Queues
	Leases
	Checkpoints
	ProviderIDs
	Sessions
	Events
	Audit
	Consents
	Counters
	Quarantine
	Rights
	ConsentLog
	SelfService
	Figures
	Webhooks
	Timers
	Budgets

	// Ping reports whether the backend is reachable (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// ---- identities ---------------------------------------------------------

// Binding says which customer an identity belongs to and how that was learned.
type Binding struct {
	Type       string    `json:"type"`
	Value      string    `json:"value"`
	CustomerID string    `json:"customer_id"`
	Verified   bool      `json:"verified"`
	Channel    string    `json:"channel"`    // where it was learned
	MessageID  string    `json:"message_id"` // the message that taught it
	CreatedAt  time.Time `json:"created_at"`
}

// Identities is the identity index: (type, value) → the customer it was first
// bound to. Bindings are never moved by merges (merges link customers
// instead), which is what makes merges undoable.
type Identities interface {
	// BindIdentity binds b.Type:b.Value to b.CustomerID if the identity is
	// unbound, atomically (exactly one of several concurrent callers wins).
	// It returns the binding now in force and whether this call created it.
	BindIdentity(ctx context.Context, b Binding) (Binding, bool, error)
	// UpgradeIdentity marks an existing binding verified (CAS on CustomerID:
	// ErrConflict when bound to another customer, ErrNotFound when unbound).
	UpgradeIdentity(ctx context.Context, typ, value, customerID string) error
	// LookupIdentity returns the binding or ErrNotFound.
	LookupIdentity(ctx context.Context, typ, value string) (Binding, error)
	// BindClaim is BindIdentity for the separate claim index: where unverified
	// claims of an identity that belongs to someone else are collected (so
	// repeated claims of the same address land on one claimer customer).
	BindClaim(ctx context.Context, b Binding) (Binding, bool, error)
	LookupClaim(ctx context.Context, typ, value string) (Binding, error)
	// UnbindIdentity removes both the binding and the claim of typ:value
	// when (and only when) they point at customerID. Used by erasure.
	UnbindIdentity(ctx context.Context, typ, value, customerID string) error
}

// ---- customers ----------------------------------------------------------

// Customer is one person. Identities lists what is attached to this record
// itself (not to records merged into it).
type Customer struct {
	ID         string                `json:"id"`
	Name       string                `json:"name,omitempty"`
	AvatarURL  string                `json:"avatar_url,omitempty"`
	Identities []connectors.Identity `json:"identities"`
	// MergedInto is set when this customer was merged into another; the
	// effective customer is found by following MergedInto to the root.
	MergedInto string `json:"merged_into,omitempty"`
	// Members are customers merged directly into this one.
	Members   []string  `json:"members,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version is managed by the backend: incremented on every update.
	Version int64 `json:"version"`
	// Hold is a legal hold (store/rights.go); nil when none.
	Hold *Hold `json:"hold,omitempty"`
	// Labels and Attributes are the customer's labels and custom
	// attributes (issue 24, store/labels.go).
	Labels     []string          `json:"labels,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

type Customers interface {
	// CreateCustomer stores c if no customer with c.ID exists; creating an
	// existing id is not an error (idempotent) and leaves it unchanged.
	CreateCustomer(ctx context.Context, c Customer) error
	GetCustomer(ctx context.Context, id string) (Customer, error)
	// UpdateCustomer applies fn to the current record and stores the result
	// with compare-and-swap, retrying fn on concurrent change. fn may return
	// an error to abort (returned as is). ErrNotFound when missing.
	UpdateCustomer(ctx context.Context, id string, fn func(*Customer) error) (Customer, error)
	// ListCustomers pages all customers by id ascending, starting after `after`.
	ListCustomers(ctx context.Context, after string, limit int) ([]Customer, error)
	// DeleteCustomer removes the record (erasure). Missing is not an error.
	DeleteCustomer(ctx context.Context, id string) error
}

// ---- merges and suggestions ---------------------------------------------

const (
	MergeApplied  = "applied"  // a merge in force
	MergeUndone   = "undone"   // a merge that was unmerged
	MergeProposed = "proposed" // a suggestion waiting for an agent
	MergeRejected = "rejected" // a suggestion an agent rejected
)

// Merge records a merge (Kind "merge") or a suggestion (Kind "suggestion")
// of Loser into Winner, with the evidence that caused it.
type Merge struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"` // merge | suggestion
	Winner    string    `json:"winner"`
	Loser     string    `json:"loser"`
	Status    string    `json:"status"`
	Evidence  string    `json:"evidence"`
	MessageID string    `json:"message_id,omitempty"`
	By        string    `json:"by,omitempty"` // "router" or an agent name
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// The evidence of a suggestion in parts (issue 22): which identity
	// ("type:value"), learned on which channel, and its kind (identity's
	// Evidence* constants), so the queue can be filtered and shown in words.
	Identity     string `json:"identity,omitempty"`
	Channel      string `json:"channel,omitempty"`
	EvidenceKind string `json:"evidence_kind,omitempty"`
	// Rejected remembers the evidence agents rejected for this pair
	// ("identity|TYPE:VALUE", or a kind when no identity links them): the
	// same evidence does not propose the pair again.
	Rejected []string `json:"rejected,omitempty"`
}

type Merges interface {
	// PutMerge stores m if its id is new; an existing id is left unchanged
	// and not an error (idempotent).
	PutMerge(ctx context.Context, m Merge) error
	GetMerge(ctx context.Context, id string) (Merge, error)
	// UpdateMerge is compare-and-swap like UpdateCustomer.
	UpdateMerge(ctx context.Context, id string, fn func(*Merge) error) (Merge, error)
	// ListMerges returns every merge and suggestion naming customerID as
	// winner or loser, oldest first.
	ListMerges(ctx context.Context, customerID string) ([]Merge, error)
	// ListSuggestions returns suggestions with status proposed, oldest first.
	ListSuggestions(ctx context.Context, limit int) ([]Merge, error)
}

// ---- conversations ------------------------------------------------------

// Conversation statuses.
const (
	StatusOpen     = "open"
	StatusPending  = "pending"
	StatusSnoozed  = "snoozed"
	StatusResolved = "resolved"
)

// Audience values: who may see a conversation (channel phases).
const (
	AudienceAll    = ""       // live
	AudienceShadow = "shadow" // shadow: nobody's inbox
	// "team:NAME" restricts to one team (pilot).
)

type Conversation struct {
	ID         string `json:"id"`
	CustomerID string `json:"customer_id"`
	Channel    string `json:"channel"`
	// ThreadKey is the key under which the conversation was opened
	// (channel + provider thread). Unique among a customer's unresolved conversations.
	ThreadKey    string    `json:"thread_key"`
	Subject      string    `json:"subject,omitempty"`
	Status       string    `json:"status"`
	Team         string    `json:"team,omitempty"`
	Assignee     string    `json:"assignee,omitempty"`
	Audience     string    `json:"audience,omitempty"`
	SnoozedUntil time.Time `json:"snoozed_until,omitempty"`
	// LastMessageID/Preview/LastInboundAt feed the inbox list.
	LastMessageID string    `json:"last_message_id,omitempty"`
	Preview       string    `json:"preview,omitempty"`
	LastInboundAt time.Time `json:"last_inbound_at,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	LastActivity  time.Time `json:"last_activity"`
	Version       int64     `json:"version"`
	// Service metrics (issue 17), kept by timeline.Service as things
	// happen: the customer's first message, the first agent reply and how
	// many replies, the latest resolution (zero while unresolved) and how
	// often the conversation was reopened after one.
	FirstInboundAt time.Time `json:"first_inbound_at,omitzero"`
	FirstReplyAt   time.Time `json:"first_reply_at,omitzero"`
	Replies        int       `json:"replies,omitempty"`
	ResolvedAt     time.Time `json:"resolved_at,omitzero"`
	Reopened       int       `json:"reopened,omitempty"`
	// SLA is the conversation's service level (nil: no policy applies).
	SLA *ConversationSLA `json:"sla,omitempty"`
	// Survey is the satisfaction survey sent after a resolution (csat.go).
	Survey *Survey `json:"survey,omitempty"`
	// PendingEvents are the outgoing webhook events of the last agent
	// change, written in the change's own compare-and-swap (pending.go).
	PendingEvents []PendingEvent `json:"pending_events,omitempty"`
	// Labels and Attributes are the conversation's labels and custom
	// attributes (issue 24, store/labels.go).
	Labels     []string          `json:"labels,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// Priority is none (""), low, medium, high or urgent (priority.go).
	Priority string `json:"priority,omitempty"`
	// RuleRuns are the latest automation runs on the conversation's
	// messages, written in the message's own compare-and-swap, so their
	// records can be written again after a crash (package automation).
	RuleRuns []RuleRun `json:"rule_runs,omitempty"`
}

// RuleRun is what the automation rules did on one message (or, with
// Event set, on another event whose key is MessageID).
type RuleRun struct {
	MessageID string   `json:"message_id"`
	Rules     []string `json:"rules"`
	Texts     []string `json:"texts"`
	// Event is the event other than message.received; Effects are the
	// actions beyond the conversation (reply, note, webhook) to make after
	// the change, with ids derived from MessageID, Rule and N.
	Event   string       `json:"event,omitempty"`
	At      time.Time    `json:"at,omitzero"`
	Effects []RuleEffect `json:"effects,omitempty"`
}

// RuleEffect is one action of a rule beyond the conversation.
type RuleEffect struct {
	Rule   string `json:"rule"`
	N      int    `json:"n"`
	Type   string `json:"type"`
	Text   string `json:"text,omitempty"`
	Canned string `json:"canned,omitempty"`
	Value  string `json:"value,omitempty"`
}

// ConversationFilter selects conversations; zero fields match everything.
type ConversationFilter struct {
	Status   string
	Channel  string
	Assignee string // "-" selects unassigned
	Team     string
	// Audiences, when non-nil, lists the audience values the reader may see.
	Audiences []string
	// CustomerIDs, when non-nil, restricts to these customers.
	CustomerIDs []string
	// Before is an opaque cursor from a previous page (newest activity first).
	Before string
	Limit  int
	// Sort "" pages by activity, newest first; SortSLADue by SLA due time,
	// earliest first, only conversations with a due time pending (Before
	// is then a cursor of that order).
	Sort string
	// Label, when set, selects conversations carrying that label (issue 24),
	// or, when LabelOnCustomer is set too, whose customer carries it
	// (LabelOnCustomer reports that for a customer id).
	Label           string
	LabelOnCustomer func(customerID string) bool `json:"-"`
	// Priority, when set, selects conversations of that priority
	// (PriorityFilterNone: without one).
	Priority string
}

type Conversations interface {
	// OpenConversation returns the customer's unresolved conversation with
	// c.ThreadKey if there is one (created=false); otherwise stores c
	// (c.ID chosen by the caller; deterministic ids make retries safe) as that
	// thread's conversation. Atomic per (customer, thread key). A call with
	// an id that already exists returns that conversation, created=false.
	OpenConversation(ctx context.Context, c Conversation) (Conversation, bool, error)
	GetConversation(ctx context.Context, id string) (Conversation, error)
	// UpdateConversation is compare-and-swap like UpdateCustomer. When the
	// status becomes resolved, the thread key is released so the next
	// message on it opens a new conversation; reopening a resolved
	// conversation re-takes its thread key unless another conversation holds
	// it (then ErrConflict). Callers that update a conversation concurrently
	// must only ever move LastActivity forward: a backend may keep its
	// activity index outside the compare-and-swap (Redis: another slot),
	// where concurrent index updates can land in any order.
	UpdateConversation(ctx context.Context, id string, fn func(*Conversation) error) (Conversation, error)
	// ListConversations pages by LastActivity, newest first (or as f.Sort
	// says).
	ListConversations(ctx context.Context, f ConversationFilter) ([]Conversation, string, error)
	// DeleteConversation removes the conversation and its thread key (erasure).
	DeleteConversation(ctx context.Context, id string) error
}

// ---- timeline entries ---------------------------------------------------

// Entry kinds.
const (
	KindMessage = "message"
	KindNote    = "note"
	KindEvent   = "event" // consent change, merge, edit/delete notices, ...
)

type Entry struct {
	ID             string                  `json:"id"`
	CustomerID     string                  `json:"customer_id"`
	ConversationID string                  `json:"conversation_id,omitempty"`
	Channel        string                  `json:"channel"`
	Direction      connectors.Direction    `json:"direction"`
	Kind           string                  `json:"kind"`
	ProviderID     string                  `json:"provider_id,omitempty"`
	Sender         *connectors.Identity    `json:"sender,omitempty"`
	SenderName     string                  `json:"sender_name,omitempty"`
	Agent          string                  `json:"agent,omitempty"`
	PostedBy       string                  `json:"posted_by,omitempty"` // who posted an inbound message (connectors.Message.PostedBy)
	Subject        string                  `json:"subject,omitempty"`
	Text           string                  `json:"text"`
	HTML           string                  `json:"html,omitempty"`
	Attachments    []connectors.Attachment `json:"attachments,omitempty"`
	Fields         []connectors.Field      `json:"fields,omitempty"`
	Flags          []string                `json:"flags,omitempty"`
	Status         string                  `json:"status,omitempty"`
	StatusDetail   string                  `json:"status_detail,omitempty"`
	OccurredAt     time.Time               `json:"occurred_at"`
	CreatedAt      time.Time               `json:"created_at"`
	UpdatedAt      time.Time               `json:"updated_at"`
	Version        int64                   `json:"version"`
	// Purpose is the consent purpose of an outbound message the agent
	// started ("" for a reply: service).
	Purpose string `json:"purpose,omitempty"`
	// CSAT is the answer of a KindCSAT entry (csat.go).
	CSAT *CSAT `json:"csat,omitempty"`
	// Choices of an outbound message (connectors.Outgoing.Choices).
	Choices []connectors.Choice `json:"choices,omitempty"`
}

// Entry flags the hub itself sets (channels add their own, such as
// "malformed-mime").
const (
	// FlagNoReply: an inbound message that must never be answered
	// automatically (connectors.Message.NoReply: auto-replies, bulk mail).
	FlagNoReply = "no-reply"
	// FlagAutomatic: an outbound message no agent wrote (a survey, an
	// automation's reply); sent with connectors.Outgoing.Automatic.
	FlagAutomatic = "automatic"
)

// SortKey orders a customer's entries: by OccurredAt, then id. It is a
// fixed-width string so backends can compare it lexically.
func (e Entry) SortKey() string { return SortKey(e.OccurredAt, e.ID) }

type Entries interface {
	// AppendEntry adds e to e.CustomerID's timeline unless an entry with
	// e.ID exists anywhere; then it returns the existing entry, created=false,
	// and changes nothing (the dedupe guarantee: exactly one entry per id,
	// even under concurrent calls).
	AppendEntry(ctx context.Context, e Entry) (Entry, bool, error)
	// AppendToConversation is AppendEntry and UpdateConversation of
	// e.ConversationID with fn in one atomic step: the conversation is
	// updated exactly when the entry is created, so a crash leaves both or
	// neither and a repeated call changes nothing (created=false, the
	// existing entry, a zero Conversation, fn not applied). It is how a
	// message joins its conversation in one round trip where a backend can.
	// seen is the caller's latest copy of the conversation: a backend may
	// take it as the expected state of its compare-and-swap and skip a
	// read; a stale copy costs a retry, never a lost update. fn may run more
	// than once and follows UpdateConversation's rules. ErrNotFound when the
	// conversation does not exist (nothing is written). One exception to
	// the atomicity: when e.ID is already recorded for another customer
	// than the conversation's (a call that crashed midway, then a merge),
	// the entry goes there as with AppendEntry and the conversation update
	// follows it as a second step.
	AppendToConversation(ctx context.Context, e Entry, seen Conversation, fn func(*Conversation) error) (Entry, Conversation, bool, error)
	GetEntry(ctx context.Context, id string) (Entry, error)
	// UpdateEntry is compare-and-swap like UpdateCustomer. The sort position
	// (OccurredAt, CustomerID) must not be changed by fn (ErrConflict).
	UpdateEntry(ctx context.Context, id string, fn func(*Entry) error) (Entry, error)
	// PageEntries returns up to limit of one customer's entries with
	// SortKey < before (all when before == ""), newest first.
	PageEntries(ctx context.Context, customerID, before string, limit int) ([]Entry, error)
	// CountEntries returns the number of entries on one customer's timeline.
	CountEntries(ctx context.Context, customerID string) (int, error)
	// DeleteEntries removes every entry of the customer's timeline, their
	// dedupe records and the provider ids recorded for the customer
	// (ProviderIDs) (erasure), returning how many entries were removed.
	DeleteEntries(ctx context.Context, customerID string) (int, error)
}

// ---- channels -----------------------------------------------------------

// Channel phases (DESIGN invariant 8).
const (
	PhaseOff    = "off"
	PhaseShadow = "shadow"
	PhasePilot  = "pilot"
	PhaseLive   = "live"
)

// ChannelState is the run-time state of a channel that overrides its
// configured phase once an admin changed it.
type ChannelState struct {
	Name      string    `json:"name"`
	Phase     string    `json:"phase"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

type Channels interface {
	// GetChannelState returns ErrNotFound when the phase was never changed at run time.
	GetChannelState(ctx context.Context, name string) (ChannelState, error)
	PutChannelState(ctx context.Context, s ChannelState) error
	ListChannelStates(ctx context.Context) ([]ChannelState, error)
}

// ---- queues -------------------------------------------------------------

// Queue names used by the hub.
const (
	QueueIngest   = "ingest"
	QueueOutbound = "outbound"
)

// Delivery is one queued item handed to a consumer.
type Delivery struct {
	ID       string `json:"id"` // backend-assigned, unique within the queue
	Payload  []byte `json:"payload"`
	Attempts int    `json:"attempts"` // 1 on first delivery
	// EnqueuedAt is when the item was first enqueued (for lag metrics).
	EnqueuedAt time.Time `json:"enqueued_at"`
}

// DeadLetter is an item moved aside after too many failed attempts.
type DeadLetter struct {
	ID         string    `json:"id"`
	Queue      string    `json:"queue"`
	Payload    []byte    `json:"payload"`
	Attempts   int       `json:"attempts"`
	LastError  string    `json:"last_error"`
	DeadAt     time.Time `json:"dead_at"`
	EnqueuedAt time.Time `json:"enqueued_at"`
}

type QueueStats struct {
	Queue string `json:"queue"`
	// Length is items not yet acked (waiting + in flight).
	Length int64 `json:"length"`
	// Pending is items handed to a consumer and not yet acked.
	Pending int64 `json:"pending"`
	Dead    int64 `json:"dead"`
	// OldestAge is the age of the oldest unacked item (0 when empty).
	OldestAge time.Duration `json:"oldest_age"`
}

// QueueOptions configure every queue of a backend.
type QueueOptions struct {
	// MaxAttempts before an item is dead-lettered (default 5).
	MaxAttempts int
	// ClaimAfter: an item delivered but not acked for this long is handed to
	// another consumer (crashed worker). Default 30s.
	ClaimAfter time.Duration
	// RetryBackoff is the base delay before a Retry'd item is redelivered,
	// doubled per attempt (default 1s, capped at ClaimAfter).
	RetryBackoff time.Duration
	// Heartbeat: a consumer counts as alive while the process that reads
	// with it said so within this long (it says so every Heartbeat/5). The
	// unacked items of a consumer that is no longer alive (its process
	// died) are handed to another consumer at once, without waiting for
	// ClaimAfter; a live consumer's items only after ClaimAfter. Default
	// 1.5s. Backends whose queues live in one process (embedded) ignore it:
	// there every unacked item is ready again when the store opens.
	Heartbeat time.Duration
}

// WithDefaults fills unset options: MaxAttempts 5, ClaimAfter 30s,
// RetryBackoff 1s, Heartbeat 1.5s.
func (q QueueOptions) WithDefaults() QueueOptions {
	if q.MaxAttempts <= 0 {
		q.MaxAttempts = 5
	}
	if q.ClaimAfter <= 0 {
		q.ClaimAfter = 30 * time.Second
	}
	if q.RetryBackoff <= 0 {
		q.RetryBackoff = time.Second
	}
	if q.Heartbeat <= 0 {
		q.Heartbeat = 1500 * time.Millisecond
	}
	return q
}

// Queues are durable at-least-once queues with consumer groups. Enqueue
// returns only after the item is durable. An item read but never acked is
// redelivered (to any consumer) after ClaimAfter, including after a restart
// of the process that read it; when that process died, already once its
// heartbeat lapsed (QueueOptions.Heartbeat), not after ClaimAfter.
type Queues interface {
	Enqueue(ctx context.Context, queue string, payload []byte) (string, error)
	// Read returns up to max items for consumer, waiting up to block for at
	// least one (0 = don't wait). Items due for redelivery come first.
	Read(ctx context.Context, queue, consumer string, max int, block time.Duration) ([]Delivery, error)
	// Ack marks items done. An error wrapping ErrNotReplicated (Redis with
	// min_replicas_ack, ingest queue) means nothing was acked because no
	// replica confirmed the work done for them: the caller must not retry
	// the Ack; the items are handed out again and acked after processing.
	Ack(ctx context.Context, queue string, ids ...string) error
	// Retry records a failed attempt. When d.Attempts >= MaxAttempts the item
	// is moved to the dead letters (dead=true); otherwise it is redelivered
	// after a backoff.
	Retry(ctx context.Context, queue string, d Delivery, reason string) (dead bool, err error)
	QueueStats(ctx context.Context, queue string) (QueueStats, error)
	DeadLetters(ctx context.Context, queue string, limit int) ([]DeadLetter, error)
	// ReplayDead re-enqueues one dead letter (id) or all (id == "") and
	// removes them from the dead letters; returns how many.
	ReplayDead(ctx context.Context, queue, id string) (int, error)
	// DeleteDead removes the named dead letters for good (erasure: a dead
	// letter can hold a person's message); ids that are not dead letters
	// of queue are ignored. Returns how many were removed. On Redis the
	// dead-letter stream is rewritten without them (XDEL alone leaves the
	// bytes in the stream's memory and its RDB form); the embedded store
	// frees their pages, which Compact (run by erasure) drops.
	DeleteDead(ctx context.Context, queue string, ids ...string) (int, error)
	// PeekQueue lists up to limit (<= 0: all) unacked items of queue,
	// waiting or in flight, oldest first, without handing them out or
	// changing them (erasure looks for the person's messages not yet
	// processed). Attempts is not filled (0).
	PeekQueue(ctx context.Context, queue string, limit int) ([]Delivery, error)
}

// ---- leases and checkpoints ----------------------------------------------

// Lease is held by one holder at a time. Token increases on every new
// acquisition (a fencing token), so a holder that lost its lease can be
// recognised by a stale token.
type Lease struct {
	Name      string    `json:"name"`
	Holder    string    `json:"holder"`
	Token     int64     `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

type Leases interface {
	// AcquireLease takes the lease for holder if free or expired, or renews
	// it when holder already holds it. ErrLeaseHeld otherwise.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error)
	// RenewLease extends a lease held with token; ErrLeaseHeld when lost.
	RenewLease(ctx context.Context, name, holder string, token int64, ttl time.Duration) (Lease, error)
	ReleaseLease(ctx context.Context, name, holder string, token int64) error
}

// Checkpoints store small opaque state of a channel (IMAP UIDVALIDITY/UID, a
// Slack cursor), and nothing else: the hub's own records have their own
// parts of the contract. GetCheckpoint returns ErrNotFound when never written.
type Checkpoints interface {
	GetCheckpoint(ctx context.Context, key string) ([]byte, error)
	PutCheckpoint(ctx context.Context, key string, value []byte) error
}

// ---- provider ids -------------------------------------------------------

// ProviderIDs index the hub's outbound messages by the id their channel's
// provider gave them (a Twilio SID, an email Message-ID), so a delivery
// report or a bounce that names that id finds the entry. A record belongs
// to the customer whose timeline holds the entry and is erased with that
// timeline (DeleteEntries).
type ProviderIDs interface {
	// PutProviderID records that channel's provider knows entry entryID, on
	// customerID's timeline, as providerID. Writing the same id again
	// replaces the record.
	PutProviderID(ctx context.Context, channel, providerID, customerID, entryID string) error
	// GetProviderID returns the entry id recorded for (channel,
	// providerID), or ErrNotFound. An id recorded by an earlier version
	// (a checkpoint named LegacyProviderIDCheckpoint) is found too.
	GetProviderID(ctx context.Context, channel, providerID string) (string, error)
	// DeleteProviderID removes the record. Missing is not an error.
	DeleteProviderID(ctx context.Context, channel, providerID string) error
}

// ---- sign-in sessions ---------------------------------------------------

// Sessions hold what every replica needs to accept the web UI's session
// cookies: one signing key per store and a per-agent epoch that logging out
// increments (a cookie of an older epoch is refused).
type Sessions interface {
	// GetOrCreateSessionKey returns the stored session key, storing key
	// first when there is none. Atomic: of concurrent callers, the first
	// key stored wins and all of them get it.
	GetOrCreateSessionKey(ctx context.Context, key []byte) ([]byte, error)
	// SessionEpoch returns agent's session epoch (0 when never bumped).
	SessionEpoch(ctx context.Context, agent string) (int64, error)
	// BumpSessionEpoch increments agent's session epoch atomically (every
	// one of concurrent calls counts) and returns the new value.
	BumpSessionEpoch(ctx context.Context, agent string) (int64, error)
	// UseOnce records id as used for ttl and reports whether this call was
	// its first use (false while an earlier record lasts). Atomic: of
	// concurrent callers, on any replica, exactly one gets true. Single-use
	// tokens (event stream tickets) are consumed with it.
	UseOnce(ctx context.Context, id string, ttl time.Duration) (bool, error)
}

// ---- realtime events ----------------------------------------------------

// Events fan out realtime notifications to every replica's subscribers
// (best effort: a subscriber that is slow may miss events; the API stays
// the source of truth).
type Events interface {
	Publish(ctx context.Context, topic string, payload []byte) error
	// Subscribe delivers events published on topic after it returned,
	// until ctx is cancelled; then the channel is closed.
	Subscribe(ctx context.Context, topic string) (<-chan []byte, error)
}

// ---- audit, consent, counters ---------------------------------------------

type AuditRecord struct {
	ID     string    `json:"id"` // set by the backend when empty
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail,omitempty"`
	// Customer is the customer the action concerned, when not the Target
	// (a reply: target the conversation, customer its customer).
	Customer string `json:"customer,omitempty"`
}

// Audit is the audit log (audit.go: queries). A record holds who did what
// to which id, never message content.
type Audit interface {
	// AppendAudit adds r. A record with a given ID is written once: a
	// second append of the same ID (a retried action) changes nothing.
	AppendAudit(ctx context.Context, r AuditRecord) error
	// ListAudit returns the newest records first.
	ListAudit(ctx context.Context, limit int) ([]AuditRecord, error)
	// QueryAudit returns the newest matching records first, a page at a
	// time (AuditQuery, AuditScanBudget); ErrBadAuditCursor for a cursor it
	// did not issue.
	QueryAudit(ctx context.Context, q AuditQuery) (AuditPage, error)
	// DeleteAuditBefore removes up to max records (0: no limit) older than
	// before, oldest first, and returns how many it removed.
	DeleteAuditBefore(ctx context.Context, before time.Time, max int) (int, error)
}

// Consent is one recorded consent decision of a customer.
type Consent struct {
	CustomerID string    `json:"customer_id"`
	Channel    string    `json:"channel"` // channel type or name, e.g. "sms"
	Purpose    string    `json:"purpose"` // e.g. "support", "marketing"
	Granted    bool      `json:"granted"`
	Text       string    `json:"text,omitempty"`
	Version    string    `json:"version,omitempty"`
	Source     string    `json:"source,omitempty"` // message id or agent
	At         time.Time `json:"at"`
	// RecordedBy is who recorded the decision: an agent, "customer" (the
	// self-service page, an unsubscribe link), or "" for a channel message.
	RecordedBy string `json:"recorded_by,omitempty"`
	// MessageID is the message that carried the decision (SMS STOP, a form).
	MessageID string `json:"message_id,omitempty"`
}

type Consents interface {
	// PutConsent records the latest decision for (customer, channel, purpose).
	PutConsent(ctx context.Context, c Consent) error
	// ListConsents returns the customer's latest decision per (channel, purpose).
	ListConsents(ctx context.Context, customerID string) ([]Consent, error)
	DeleteConsents(ctx context.Context, customerID string) error
}

// Counters are shared integer counters (round-robin cursors, per-channel
// matching statistics).
type Counters interface {
	// Incr adds delta to counter name and returns the new value.
	Incr(ctx context.Context, name string, delta int64) (int64, error)
	// GetCounters returns the values of all counters whose name starts with prefix.
	GetCounters(ctx context.Context, prefix string) (map[string]int64, error)
}

// ---- quarantine ---------------------------------------------------------

// QuarantineItem is an inbound message held back as suspected spam (a
// filled honeypot, a bot-speed form). It is on no timeline until an admin
// releases it; false positives are never lost.
type QuarantineItem struct {
	ID      string    `json:"id"`
	Channel string    `json:"channel"`
	Reason  string    `json:"reason"`
	Payload []byte    `json:"payload"` // the connectors.Message as JSON
	At      time.Time `json:"at"`
}

type Quarantine interface {
	// PutQuarantine stores q; an existing id is left unchanged (idempotent).
	PutQuarantine(ctx context.Context, q QuarantineItem) error
	// ListQuarantine returns a channel's items ("" = every channel), newest first.
	ListQuarantine(ctx context.Context, channel string, limit int) ([]QuarantineItem, error)
	// TakeQuarantine removes and returns one item; ErrNotFound when absent.
	TakeQuarantine(ctx context.Context, id string) (QuarantineItem, error)
}
