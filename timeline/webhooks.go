package timeline

import (
	"context"
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
	By             string `json:"by,omitempty"` // the agent who changed it ("" for routing)
}

func conversationData(c store.Conversation, by string) ConversationData {
	return ConversationData{ConversationID: c.ID, CustomerID: c.CustomerID, Channel: c.Channel, Status: c.Status,
		Assignee: c.Assignee, Team: c.Team, By: by}
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
	hs := []Hook{{Type: hookMessageReceived, Key: e.ID, CustomerID: e.CustomerID, Data: MessageDataOf(e)}}
	if c.LastMessageID == "" { // this message opens it
		hs = append(hs, Hook{Type: hookConversationOpened, Key: c.ID, CustomerID: c.CustomerID, Data: conversationData(c, "")})
	}
	if agent != "" {
		cd := conversationData(c, "")
		cd.Assignee = agent
		hs = append(hs, Hook{Type: hookConversationAssigned, Key: c.ID + "/" + e.ID, CustomerID: c.CustomerID, Data: cd})
	}
	if m, ok := s.hooks.(WebhookEventMaker); ok {
		return m.WebhookEvents(hs)
	}
	return nil, s.hooks.RecordAll(ctx, hs)
}

// recordUpdate records an agent's change after it was made (keyed by the
// conversation's new version); a failure is returned for logging, the
// change stands.
func (s *Service) recordUpdate(ctx context.Context, before, after store.Conversation, by string) error {
	key := after.ID + "/" + strconv.FormatInt(after.Version, 10)
	cd := conversationData(after, by)
	if after.Assignee != "" && after.Assignee != before.Assignee {
		if err := s.record(ctx, hookConversationAssigned, key, after.CustomerID, cd); err != nil {
			return err
		}
	}
	switch {
	case after.Status == store.StatusResolved && before.Status != store.StatusResolved:
		return s.record(ctx, hookConversationResolved, key, after.CustomerID, cd)
	case before.Status == store.StatusResolved && after.Status != store.StatusResolved:
		return s.record(ctx, hookConversationReopened, key, after.CustomerID, cd)
	}
	return nil
}

// RecordWebhook records an event of another part's change through the
// service's Recorder (nil: nothing): the router's consent.changed.
func (s *Service) RecordWebhook(ctx context.Context, typ, key, customerID string, data any) error {
	return s.record(ctx, typ, key, customerID, data)
}
