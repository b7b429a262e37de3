package timeline

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// Recorder records a change for outgoing webhooks (webhooks.Outbox): the
// event of type typ about key (the same key is the same event), with data
// as its body's data object. It returns once the record is durable.
type Recorder interface {
	Record(ctx context.Context, typ, key, customerID string, data any) error
	// RecordAll records several events in one store step.
	RecordAll(ctx context.Context, evs []Hook) error
}

// Hook is one event for Recorder.RecordAll.
type Hook struct {
	Type, Key, CustomerID string
	Data                  any
	// At, when set, is a time of the change that is the same every time
	// it is recorded (a redelivery, a retry, another worker's copy): its
	// webhook-id starts with it (store.WebhookEventID), so the outbox is
	// written in time order. Zero: the id is the hash of Type and Key only.
	At time.Time
}

// Outgoing webhook event types this package records (webhooks.Types).
const (
	hookMessageReceived      = "message.received"
	hookConversationOpened   = "conversation.opened"
	hookConversationAssigned = "conversation.assigned"
	hookConversationResolved = "conversation.resolved"
	hookConversationReopened = "conversation.reopened"
)

// MessageData is the data of message.received and message.sent.
type MessageData struct {
	MessageID      string    `json:"message_id"`
	CustomerID     string    `json:"customer_id"`
	ConversationID string    `json:"conversation_id,omitempty"`
	Channel        string    `json:"channel"`
	Direction      string    `json:"direction"`
	Sender         string    `json:"sender,omitempty"` // type:value of an inbound message's sender
	Agent          string    `json:"agent,omitempty"`
	PostedBy       string    `json:"posted_by,omitempty"`
	Subject        string    `json:"subject,omitempty"`
	Text           string    `json:"text"`
	Attachments    int       `json:"attachments,omitempty"`
	Status         string    `json:"status,omitempty"`
	OccurredAt     time.Time `json:"occurred_at"`
}

// MessageDataOf is e's webhook data.
func MessageDataOf(e store.Entry) MessageData {
	d := MessageData{MessageID: e.ID, CustomerID: e.CustomerID, ConversationID: e.ConversationID, Channel: e.Channel,
		Direction: string(e.Direction), Agent: e.Agent, PostedBy: e.PostedBy, Subject: e.Subject, Text: e.Text,
		Attachments: len(e.Attachments), Status: e.Status, OccurredAt: e.OccurredAt}
	if e.Sender != nil {
		d.Sender = e.Sender.Type + ":" + e.Sender.Value
	}
	return d
}

// ConversationData is the data of the conversation.* events.
type ConversationData struct {
	ConversationID string `json:"conversation_id"`
	CustomerID     string `json:"customer_id"`
	Channel        string `json:"channel"`
	Status         string `json:"status"`
	Assignee       string `json:"assignee,omitempty"`
	Team           string `json:"team,omitempty"`
	Priority       string `json:"priority,omitempty"` // none when absent
	By             string `json:"by,omitempty"`       // the agent who changed it ("" for routing)
}

func conversationData(c store.Conversation, by string) ConversationData {
	return ConversationData{ConversationID: c.ID, CustomerID: c.CustomerID, Channel: c.Channel, Status: c.Status,
		Assignee: c.Assignee, Team: c.Team, Priority: c.Priority, By: by}
}

func (s *Service) record(ctx context.Context, typ, key, customerID string, data any) error {
	if s.hooks == nil {
		return nil
	}
	return s.hooks.Record(ctx, typ, key, customerID, data)
}

// WebhookEventMaker is an optional ability of a Recorder (webhooks.Outbox
// has it): the outbox records of hs that some endpoint wants, made but not
// written, for a store step that writes them with the change they report
// (store.AppendWithWebhookEvents).
type WebhookEventMaker interface {
	WebhookEvents(hs []Hook) ([]store.WebhookEvent, error)
}

// receivedEvents returns an inbound message's events for the append to
// write with the entry (store.AppendWithWebhookEvents), or, when the
// Recorder cannot make them, records them before the message joins its
// conversation and returns none: a crash after the record is healed by the
// redelivery that appends the message (the router's dedupe would stop one
// that came after the append, so recording after it could lose the event).
func (s *Service) receivedEvents(ctx context.Context, e store.Entry, c store.Conversation, agent string) ([]store.WebhookEvent, error) {
	if s.hooks == nil {
		return nil, nil
	}
	// The events' stable time is the conversation's creation time, which
	// the store keeps; the message's own times can differ between copies
	// (OccurredAt defaults to when it was received). message.received is
	// keyed by the message alone, so it takes that time only where no
	// event outlives a failed append (store.WebhookEventsWithTheEntry):
	// elsewhere a copy redelivered after a crash can join another
	// conversation than the attempt that recorded its events.
	at := c.CreatedAt
	var recvAt time.Time
	if s.timedReceived {
		recvAt = at
	}
	hs := []Hook{{Type: hookMessageReceived, Key: e.ID, CustomerID: e.CustomerID, Data: MessageDataOf(e), At: recvAt}}
	if c.LastMessageID == "" { // this message opens it
		hs = append(hs, Hook{Type: hookConversationOpened, Key: c.ID, CustomerID: c.CustomerID, Data: conversationData(c, ""), At: at})
	}
	if agent != "" {
		cd := conversationData(c, "")
		cd.Assignee = agent
		hs = append(hs, Hook{Type: hookConversationAssigned, Key: c.ID + "/" + e.ID, CustomerID: c.CustomerID, Data: cd, At: at})
	}
	if m, ok := s.hooks.(WebhookEventMaker); ok {
		return m.WebhookEvents(hs)
	}
	return nil, s.hooks.RecordAll(ctx, hs)
}

// updateEvents are the webhook events of an agent's change from before
// to after, keyed by the conversation's new version (the backend adds one
// to it in the compare-and-swap). None without a Recorder.
func (s *Service) updateEvents(before, after store.Conversation, by string) ([]store.PendingEvent, error) {
	if s.hooks == nil {
		return nil, nil
	}
	key := after.ID + "/" + strconv.FormatInt(before.Version+1, 10)
	cd := conversationData(after, by)
	var types []string
	if after.Assignee != "" && after.Assignee != before.Assignee {
		types = append(types, hookConversationAssigned)
	}
	switch {
	case after.Status == store.StatusResolved && before.Status != store.StatusResolved:
		types = append(types, hookConversationResolved)
	case before.Status == store.StatusResolved && after.Status != store.StatusResolved:
		types = append(types, hookConversationReopened)
	}
	if len(types) == 0 {
		return nil, nil
	}
	data, err := json.Marshal(cd)
	if err != nil {
		return nil, err
	}
	evs := make([]store.PendingEvent, 0, len(types))
	for _, t := range types {
		evs = append(evs, store.PendingEvent{Type: t, Key: key, CustomerID: after.CustomerID, Data: data})
	}
	return evs, nil
}

// recordPending records pending events of conversation c in the outbox
// (one store step), their webhook-ids led by c's creation time like its
// message's events (receivedEvents): stable for every recording of them,
// and events an earlier version recorded under ids without it are found
// under those (store.LegacyWebhookEventID).
func (s *Service) recordPending(ctx context.Context, c store.Conversation, evs []store.PendingEvent) error {
	if s.hooks == nil || len(evs) == 0 {
		return nil
	}
	hs := make([]Hook, 0, len(evs))
	for _, e := range evs {
		hs = append(hs, Hook{Type: e.Type, Key: e.Key, CustomerID: e.CustomerID, Data: e.Data, At: c.CreatedAt})
	}
	return s.hooks.RecordAll(ctx, hs)
}

// SweepPendingEvents records again the pending webhook events of every
// conversation an agent changed since from (found by the changes' audit
// records, which are written before each change): what a crash between a
// change and its recording left behind. The outbox keeps one event per
// key, so an event recorded already is not sent twice. It returns how many
// conversations it looked at.
func (s *Service) SweepPendingEvents(ctx context.Context, from time.Time) (int, error) {
	if s.hooks == nil && s.automation == nil {
		return 0, nil
	}
	seen := map[string]bool{}
	q := store.AuditQuery{Action: "conversation.update", From: from, Limit: store.MaxAuditPage}
	for {
		page, err := s.st.QueryAudit(ctx, q)
		if err != nil {
			return len(seen), err
		}
		for _, r := range page.Records {
			if seen[r.Target] {
				continue
			}
			seen[r.Target] = true
			c, err := s.st.GetConversation(ctx, r.Target)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return len(seen), err
			}
			if err := s.recordPending(ctx, c, c.PendingEvents); err != nil {
				return len(seen), err
			}
			if s.automation != nil {
				s.automation.Sweep(ctx, c) // automate.go
			}
		}
		if page.Next == "" {
			return len(seen), nil
		}
		q.Cursor = page.Next
	}
}

// RunPendingEvents sweeps every interval (SweepPendingEvents) until ctx
// ends, each time from a little before the previous sweep began (an audit
// record is written just before its change), first over the last ten
// minutes. Every replica may run it: sweeps are idempotent.
func (s *Service) RunPendingEvents(ctx context.Context, interval time.Duration) {
	store.RunAuditSweeps(ctx, s.clock, interval, func(ctx context.Context, from time.Time) error {
		_, err := s.SweepPendingEvents(ctx, from)
		return err
	}, func(err error) { s.log.Warn("pending webhook events sweep", "err", err) })
}

// RecordWebhook records an event of another part's change through the
// service's Recorder (nil: nothing): the router's consent.changed.
func (s *Service) RecordWebhook(ctx context.Context, typ, key, customerID string, data any) error {
	return s.record(ctx, typ, key, customerID, data)
}
