package webhooks

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	json "github.com/goccy/go-json"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Event types an endpoint may subscribe to; All subscribes to every one.
const (
	MessageReceived      = "message.received"
	MessageSent          = "message.sent"
	MessageStatus        = "message.status"
	ConversationOpened   = "conversation.opened"
	ConversationAssigned = "conversation.assigned"
	ConversationResolved = "conversation.resolved"
	ConversationReopened = "conversation.reopened"
	CustomerCreated      = "customer.created"
	CustomerMerged       = "customer.merged"
	CustomerUnmerged     = "customer.unmerged"
	CustomerErased       = "customer.erased"
	ConsentChanged       = "consent.changed"
	CSATReceived         = "csat.received"
	ChannelPhaseChanged  = "channel.phase_changed"
	AutomationWebhook    = "automation.webhook" // a rule's webhook action (issue 24)
	All                  = "*"
	Ping                 = "webhook.ping" // the test ping; not subscribable
)

// Types lists every subscribable event type.
var Types = []string{
	MessageReceived, MessageSent, MessageStatus,
	ConversationOpened, ConversationAssigned, ConversationResolved, ConversationReopened,
	CustomerCreated, CustomerMerged, CustomerUnmerged, CustomerErased,
	ConsentChanged, CSATReceived, ChannelPhaseChanged, AutomationWebhook,
}

// ValidType reports whether t may be named in an endpoint's events.
func ValidType(t string) bool { return t == All || slices.Contains(Types, t) }

// EventID is the webhook-id of the change of type typ identified by key
// (an entry id, a conversation id and version, ...) that has no stable time
// of its own: the same change recorded twice (a redelivered message) is one
// event. EventIDAt is the id of one that has.
func EventID(typ, key string) string { return store.WebhookEventID(typ, key, time.Time{}) }

// EventIDAt is the webhook-id of the change of type typ identified by key
// with at a time of the change that is the same every time it is recorded
// (store.WebhookEventID: the id starts with it, so the outbox's keys sort
// with time).
func EventIDAt(typ, key string, at time.Time) string { return store.WebhookEventID(typ, key, at) }

// Outbox records events in the store for the dispatcher. Record writes
// nothing for a type no active endpoint wants (the common case costs
// ingest nothing); the set of wanted types follows the store's endpoints
// (Service.Refresh, every second on every replica). A nil *Outbox records
// nothing.
type Outbox struct {
	st    store.Store
	clock store.Clock
	wants atomic.Pointer[map[string]bool]
	pace  *pacer // told of each recording (nil: not paced)
}

// Wants reports whether some active endpoint subscribes to typ.
func (o *Outbox) Wants(typ string) bool {
	if o == nil {
		return false
	}
	w := o.wants.Load()
	return w != nil && ((*w)[typ] || (*w)[All])
}

func (o *Outbox) setEndpoints(eps []store.WebhookEndpoint) {
	w := map[string]bool{}
	for _, e := range eps {
		if !e.Active() {
			continue
		}
		for _, t := range e.Events {
			w[t] = true
		}
	}
	o.wants.Store(&w)
}

// Record stores the event of type typ about key (see EventID) with data as
// the body's data object, unless no endpoint wants it or it is recorded
// already. It returns after the record is durable: callers record before
// they acknowledge the change (or before they make it, when a redelivery
// would complete the change but not record it).
func (o *Outbox) Record(ctx context.Context, typ, key, customerID string, data any) error {
	return o.RecordAll(ctx, []timeline.Hook{{Type: typ, Key: key, CustomerID: customerID, Data: data}})
}

// RecordAll is Record for several events, written in one store step
// (those no endpoint wants are left out).
func (o *Outbox) RecordAll(ctx context.Context, hs []timeline.Hook) error {
	evs, err := o.WebhookEvents(hs)
	if err != nil || len(evs) == 0 {
		return err
	}
	return o.st.PutWebhookEvents(ctx, evs)
}

// WebhookEvents returns the outbox records of hs that some endpoint wants,
// without writing them: the caller writes them in the store step of the
// change they report (timeline.WebhookEventMaker).
func (o *Outbox) WebhookEvents(hs []timeline.Hook) ([]store.WebhookEvent, error) {
	if o == nil {
		return nil, nil
	}
	var evs []store.WebhookEvent
	for _, h := range hs {
		if !o.Wants(h.Type) {
			continue
		}
		b, err := json.Marshal(h.Data)
		if err != nil {
			return nil, err
		}
		evs = append(evs, store.WebhookEvent{ID: EventIDAt(h.Type, h.Key, h.At), Type: h.Type, CustomerID: h.CustomerID, At: o.clock().UTC(), Data: b})
	}
	if len(evs) > 0 {
		o.pace.recorded()
	}
	return evs, nil
}

var (
	_ timeline.Recorder          = (*Outbox)(nil)
	_ timeline.WebhookEventMaker = (*Outbox)(nil)
)
