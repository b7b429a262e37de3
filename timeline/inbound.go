package timeline

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/switchboard-hub/switchboard/store"
)

// Inbound is a customer's message arriving on the timeline: its entry and
// where the conversation it opens goes.
type Inbound struct {
	// Entry is the message's entry (ID, CustomerID, Channel, Subject, Text,
	// OccurredAt and the rest); Receive sets its ConversationID.
	Entry store.Entry
	// ThreadKey is the customer's thread the message belongs to (channel
	// and provider thread); ConversationID names the conversation opened
	// when the thread has no unresolved one (deterministic per message, so
	// a redelivery opens the same one).
	ThreadKey      string
	ConversationID string
	// Audience follows the channel's phase at the latest message.
	Audience string
	// Team is the team a conversation that needs routing goes to ("" for
	// none): a new one, one without a team, or one whose audience changed.
	// Outside shadow, such a conversation without an assignee gets one of
	// the team's agents with a free slot, round-robin.
	Team string
	// Automate, when set, runs automation rules (issue 24) on the message
	// inside the append's compare-and-swap: it changes x (labels, team,
	// assignee, attributes, status) and may be called again when the swap
	// retries, so it must depend only on e and x. The append happens once
	// per message, so its changes are made exactly once.
	Automate func(e store.Entry, x *store.Conversation)
	// Records, when set, gives the records of that run (its timeline
	// event, its audit record) for the conversation as the append left
	// it; a store that can (store.RecordsAppender) writes them in the
	// append's own step, only when the entry is created. Receive calls it
	// only then: a caller that sees it called knows they are written with
	// the message.
	Records func(c store.Conversation) ([]store.Entry, []store.AuditRecord)
}

// Receive records in's message on its conversation: it finds or opens the
// thread's conversation, routes it when it needs routing (reserving the
// agent's slot first, so concurrent workers never put an agent past
// capacity), then stores the entry and the conversation's change in one
// store step (store.AppendToConversation), keeps the load counters and
// announces conversation.opened (for the first message to join) and
// entry.created. created is false for a message already recorded (nothing
// is announced). Every step is idempotent, so a redelivery converges on the
// one entry; a reservation the change did not use is given back.
//
// The store round trips are those of the path before this service: the
// open; for a conversation to route, the round-robin cursor and a load
// read per agent tried, then the reservation in place of the load
// increment that followed the append; the append.
func (s *Service) Receive(ctx context.Context, in Inbound) (e store.Entry, conv store.Conversation, created bool, err error) {
	e = in.Entry
	c, opened, err := s.st.OpenConversation(ctx, store.Conversation{
		ID: in.ConversationID, CustomerID: e.CustomerID, Channel: e.Channel, ThreadKey: in.ThreadKey,
		Subject: e.Subject, Status: store.StatusOpen, Audience: in.Audience, CreatedAt: s.clock().UTC(), LastActivity: e.OccurredAt,
	})
	if err != nil {
		return e, c, false, fmt.Errorf("open conversation: %w", err)
	}
	route := (opened || c.Team == "" || c.Audience != in.Audience) && in.Audience != store.AudienceShadow
	agent := ""
	if route && c.Assignee == "" && in.Team != "" {
		if agent, err = s.reserve(ctx, in.Team); err != nil {
			return e, c, false, fmt.Errorf("route conversation %s: %w", c.ID, err)
		}
	}
	preview := e.Text
	if len(preview) > 140 {
		preview = preview[:140]
		for !utf8.ValidString(preview) {
			preview = preview[:len(preview)-1]
		}
	}
	var before store.Conversation
	update := func(x *store.Conversation) error {
		before = *x
		// The audience follows the channel's phase at the latest message:
		// a shadow conversation becomes visible when the channel goes live.
		x.Audience = in.Audience
		if route {
			if in.Team != "" {
				x.Team = in.Team
			}
			if x.Assignee == "" {
				x.Assignee = agent
			}
		}
		if x.Status == store.StatusSnoozed || x.Status == store.StatusPending {
			x.Status = store.StatusOpen // the customer wrote again
		}
		if !e.OccurredAt.Before(x.LastActivity) || x.LastMessageID == "" {
			// Never backwards, even for the first message recorded on a
			// conversation another worker opened with a later one: the
			// activity index of the Redis store relies on it (its
			// add-new/remove-old updates of concurrent workers may apply
			// in any order, which is only safe while activity only grows).
			if e.OccurredAt.After(x.LastActivity) {
				x.LastActivity = e.OccurredAt
			}
			x.LastMessageID = e.ID
			x.Preview = preview
		}
		if e.OccurredAt.After(x.LastInboundAt) {
			x.LastInboundAt = e.OccurredAt
		}
		if x.FirstInboundAt.IsZero() || e.OccurredAt.Before(x.FirstInboundAt) {
			x.FirstInboundAt = e.OccurredAt
		}
		if in.Automate != nil {
			in.Automate(e, x)
		}
		s.trackApply(before, x, e.OccurredAt)
		return nil
	}
	e.ConversationID = c.ID
	evs, err := s.receivedEvents(ctx, e, c, agent)
	if err != nil {
		s.giveBack(ctx, agent)
		return e, c, false, fmt.Errorf("record webhook events: %w", err)
	}
	var stored store.Entry
	var after store.Conversation
	// The message's two events, built here only: conversation.opened for
	// the first message to join, then entry.created. A store that can
	// publish them in the append's own step (Redis without slots) sends
	// them as its announcement; otherwise the hub publishes them below.
	openedEvent := func(c store.Conversation) Event {
		return Event{Type: EventConversationOpened, CustomerID: c.CustomerID, ConversationID: c.ID,
			Channel: c.Channel, Audience: c.Audience, Assignee: c.Assignee}
	}
	createdEvent := func(c store.Conversation) Event {
		return Event{Type: EventEntryCreated, CustomerID: in.Entry.CustomerID, ConversationID: c.ID, EntryID: e.ID,
			Channel: in.Entry.Channel, Audience: c.Audience, Assignee: c.Assignee}
	}
	ann := &store.Announcement{Topic: EventsTopic, Events: func(before, after store.Conversation) [][]byte {
		var out [][]byte
		if before.LastMessageID == "" {
			out = append(out, eventPayload(openedEvent(after)))
		}
		return append(out, eventPayload(createdEvent(after)))
	}}
	ra, inStep := s.st.(store.RecordsAppender)
	switch {
	case in.Records != nil && inStep:
		stored, after, created, err = ra.AppendWithRecords(ctx, e, c, update, evs, in.Records)
	case len(evs) > 0:
		stored, after, created, err = s.st.AppendWithWebhookEvents(store.WithAnnouncement(ctx, ann), e, c, update, evs)
	default:
		stored, after, created, err = s.st.AppendToConversation(store.WithAnnouncement(ctx, ann), e, c, update)
	}
	announced := created && err == nil && ann.Published()
	conv = c
	switch {
	case created && err != nil:
		// The entry is stored and only its conversation's update failed
		// (the store's rare two-step path): a redelivery would stop at the
		// router's dedupe check, so go on and announce the entry.
		s.log.Warn("message stored, its conversation not updated", "message", e.ID, "conversation", c.ID, "err", err)
		err = nil
		s.giveBack(ctx, agent)
	case created:
		conv = after
		d := deltaOf(before, after)
		unused := agent
		if d.without(agent) {
			unused = ""
		}
		if lerr := applyLoad(ctx, s.st, d, unused); lerr != nil {
			s.log.Error("agent load counter not updated", "conversation", conv.ID, "err", lerr)
		}
		s.trackChanged(ctx, before, after, e.OccurredAt, "")
		// Opened means "first message to join", decided when the message
		// is stored: an attempt that opened the conversation and failed
		// later leaves the announcement to the next one.
		if before.LastMessageID == "" && !announced {
			s.publish(ctx, openedEvent(conv))
		}
	default:
		s.giveBack(ctx, agent) // a duplicate, or nothing written
	}
	if err != nil {
		return stored, conv, false, fmt.Errorf("append entry: %w", err)
	}
	if !created {
		return stored, conv, false, nil
	}
	s.index(ctx, stored)
	if !announced {
		s.publish(ctx, createdEvent(conv))
	}
	return stored, conv, true, nil
}

// Append puts e on its customer's timeline in conversation c without
// changing c (a report about a message the hub sent, filed beside it; an
// agent's note) and announces it (entry.created with the entry's delivery
// status, if any); created is false for an entry already recorded.
func (s *Service) Append(ctx context.Context, e store.Entry, c store.Conversation) (store.Entry, bool, error) {
	e.ConversationID = c.ID
	stored, created, err := s.st.AppendEntry(ctx, e)
	if err != nil {
		return stored, false, fmt.Errorf("append entry: %w", err)
	}
	if created {
		s.index(ctx, stored)
		s.publish(ctx, Event{Type: EventEntryCreated, CustomerID: e.CustomerID, ConversationID: c.ID, EntryID: stored.ID,
			Channel: e.Channel, Status: stored.Status, Audience: c.Audience, Assignee: c.Assignee})
	} else if ctx.Value(indexWaitsKey{}) != nil {
		// A router worker's redelivery (DeferIndexing) meeting an entry
		// its first attempt stored (an automation's note or event): that
		// attempt may have died before the index write (idempotent).
		s.index(ctx, stored)
	}
	return stored, created, nil
}

// giveBack returns a reserved slot the change did not use.
func (s *Service) giveBack(ctx context.Context, agent string) {
	if agent == "" {
		return
	}
	if err := applyLoad(ctx, s.st, loadDelta{}, agent); err != nil {
		s.log.Error("reserved agent slot not given back", "agent", agent, "err", err)
	}
}
