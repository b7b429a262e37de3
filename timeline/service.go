package timeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// ErrInvalidChange: a conversation change that can never apply (an unknown
// status, a snooze without a future time).
var ErrInvalidChange = errors.New("invalid conversation change")

// Options configure a Service.
type Options struct {
	Clock  store.Clock
	Logger *slog.Logger
	// Teams lists each team's agents in configuration order: the round
	// robin of automatic assignment goes through them in that order.
	Teams map[string][]string
	// MaxOpenPerAgent: an agent with this many unresolved conversations gets
	// no more automatically (0 = 20). Agents may still assign themselves
	// (or be assigned) past it.
	MaxOpenPerAgent int
	// Webhooks records the changes outgoing webhooks report (nil: none).
	Webhooks Recorder
	// Tracker keeps conversations' SLA and service figures (nil: none).
	Tracker Tracker
	// Index keeps the search index (nil: none; search.go).
	Index Indexer
}

// Service is the one writer of conversations: an inbound message joining
// (or opening) its conversation, agents' assignments and status changes,
// snoozes ending, a reply's effect on its conversation, erasure. Each
// operation makes the store change, keeps the agents' load counters, writes
// the audit record of an agent's change and announces the change, in that
// order. It is safe for concurrent use; several Services (replicas) may
// share one store.
type Service struct {
	st      store.Store
	clock   store.Clock
	log     *slog.Logger
	teams   map[string][]string
	maxOpen int
	hooks   Recorder
	track   Tracker
	idx     Indexer
	// timedReceived: message.received's webhook-id may lead with its
	// conversation's time (the store writes events with the entry,
	// store.WebhookEventsWithTheEntry; receivedEvents).
	timedReceived bool
	// resolved is called after a change resolved a conversation (resolved.go).
	resolved func(ctx context.Context, c store.Conversation)
	// resolving is called before a change resolves a conversation (resolved.go).
	resolving func(ctx context.Context, c store.Conversation) error
	// automation runs rules on agents' changes (automate.go).
	automation ChangeAutomation
}

// NewService returns the conversation service over st.
func NewService(st store.Store, o Options) *Service {
	if o.Clock == nil {
		o.Clock = store.SystemClock
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxOpenPerAgent <= 0 {
		o.MaxOpenPerAgent = 20
	}
	_, timed := st.(store.WebhookEventsWithTheEntry)
	return &Service{st: st, clock: o.Clock, log: o.Logger, teams: o.Teams, maxOpen: o.MaxOpenPerAgent, hooks: o.Webhooks, track: o.Tracker, idx: o.Index,
		timedReceived: timed}
}

// Change is what an agent changes on a conversation; nil fields stay.
type Change struct {
	// Status is open, pending, snoozed (with SnoozedUntil in the future) or
	// resolved. Any status but snoozed clears the snooze time.
	Status       *string
	SnoozedUntil *time.Time
	// Assignee "" unassigns. Capacity is not checked: an agent's own
	// choice wins over automatic assignment's limit.
	Assignee *string
	Team     *string
	// AddLabels and RemoveLabels change the conversation's labels;
	// Attributes sets custom attributes ("" removes one). Issue 24: the
	// caller validates them against the catalog (package labels).
	AddLabels    []string
	RemoveLabels []string
	Attributes   map[string]string
	// Priority is none (""), low, medium, high or urgent (store.Priorities).
	Priority *string
}

// ErrAudit: the change's audit record could not be written, so the change
// was not made.
var ErrAudit = store.ErrAuditFailed

// detail describes the conversation as the change leaves it for the audit
// log (status and assignee; a snooze time, a team when changed; no content).
func (ch Change) detail(cur store.Conversation) string {
	status, assignee := cur.Status, cur.Assignee
	if ch.Status != nil {
		status = *ch.Status
	}
	if ch.Assignee != nil {
		assignee = *ch.Assignee
	}
	parts := []string{"status=" + status, "assignee=" + assignee}
	if ch.SnoozedUntil != nil {
		parts = append(parts, "snoozed_until="+ch.SnoozedUntil.UTC().Format(time.RFC3339))
	}
	if ch.Team != nil {
		parts = append(parts, "team="+*ch.Team)
	}
	if ch.Priority != nil {
		parts = append(parts, "priority="+store.PriorityName(*ch.Priority))
	}
	parts = append(parts, ch.labelDetail()...) // labels.go
	return strings.Join(parts, " ")
}

func (ch Change) check(now time.Time) error {
	if ch.SnoozedUntil != nil && (ch.Status == nil || *ch.Status != store.StatusSnoozed) {
		return fmt.Errorf("%w: a snooze time needs the status snoozed", ErrInvalidChange)
	}
	if ch.Priority != nil && !store.ValidPriority(*ch.Priority) {
		return fmt.Errorf("%w: priority must be one of none, %s", ErrInvalidChange, strings.Join(store.Priorities, ", "))
	}
	if ch.Status == nil {
		return nil
	}
	switch *ch.Status {
	case store.StatusOpen, store.StatusPending, store.StatusResolved:
	case store.StatusSnoozed:
		if ch.SnoozedUntil == nil || !ch.SnoozedUntil.After(now) {
			return fmt.Errorf("%w: snoozing needs a snooze time in the future", ErrInvalidChange)
		}
	default:
		return fmt.Errorf("%w: status must be one of open, pending, snoozed, resolved", ErrInvalidChange)
	}
	return nil
}

// Update applies an agent's change to conversation id: one compare-and-swap,
// the load counters, an audit record (action conversation.update, by the
// agent) and a conversation.updated event. An empty change still records
// and announces (a client may use it to refresh others' views). Errors:
// ErrInvalidChange, store.ErrNotFound, store.ErrConflict (reopening a
// conversation whose thread another open conversation holds).
//
// The audit record is written before the change; when it cannot be, the
// change is not made (ErrAudit). Once the conversation changed, Update
// returns it without error: a failed load-counter write is logged at error
// level (the change stands and is announced; failing the request would
// tell the agent it did not happen), a failed announcement at debug level
// (events are best effort).
func (s *Service) Update(ctx context.Context, id string, ch Change, by string) (store.Conversation, error) {
	now := s.clock().UTC()
	if err := ch.check(now); err != nil {
		return store.Conversation{}, err
	}
	// The audit record goes first (docs/ARCHITECTURE.md, "The audit
	// rule"): when it cannot be written nothing changes. Its id comes from
	// the request's idempotency key, or else the conversation's version
	// before the change, so a retried change is audited once; the
	// compare-and-swap below applies only to that version.
	cur, err := s.st.GetConversation(ctx, id)
	if err != nil {
		return store.Conversation{}, fmt.Errorf("conversation %s: %w", id, err)
	}
	key := store.AuditKey(ctx)
	if key == "" {
		key = "v" + strconv.FormatInt(cur.Version, 10)
	}
	if err := s.st.AppendAudit(ctx, store.AuditRecord{ID: store.AuditID(by, "conversation.update", id, key, ch.detail(cur)), At: now, Actor: by,
		Action: "conversation.update", Target: id, Customer: cur.CustomerID, Detail: ch.detail(cur)}); err != nil {
		return store.Conversation{}, fmt.Errorf("conversation %s: %w: %w", id, ErrAudit, err)
	}
	ranResolving, err := s.beforeResolve(ctx, cur, ch, now)
	if err != nil {
		return store.Conversation{}, fmt.Errorf("conversation %s: %w", id, err)
	}
	automate, automated := s.prepareAutomation(ctx, cur, by) // automate.go
	var before store.Conversation
	var prev []store.PendingEvent
	c, err := s.st.UpdateConversation(ctx, id, func(x *store.Conversation) error {
		before, prev = *x, x.PendingEvents
		before.PendingEvents = nil
		if ch.Status != nil {
			x.Status = *ch.Status
			if *ch.Status == store.StatusSnoozed {
				x.SnoozedUntil = ch.SnoozedUntil.UTC()
			} else {
				x.SnoozedUntil = time.Time{}
			}
		}
		if ch.Assignee != nil {
			x.Assignee = *ch.Assignee
		}
		if ch.Team != nil {
			x.Team = *ch.Team
		}
		if ch.Priority != nil {
			x.Priority = *ch.Priority
		}
		ch.applyLabels(x) // labels.go
		switch {
		case before.Status != store.StatusResolved && x.Status == store.StatusResolved:
			x.ResolvedAt = now
		case before.Status == store.StatusResolved && x.Status != store.StatusResolved:
			x.ResolvedAt = time.Time{}
			x.Reopened++
		}
		automate(before, x, now)
		s.trackApply(before, x, now)
		// The change's webhook events go into the same compare-and-swap
		// (pending.go): durable with the change, and only with it.
		evs, err := s.updateEvents(before, *x, by)
		if err != nil {
			return err
		}
		x.PendingEvents = evs
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("conversation %s: %w", id, err)
	}
	s.load(ctx, before, c)
	s.trackChanged(ctx, before, c, now, "")
	s.afterResolve(ctx, ranResolving, before, c)
	automated(ctx, c)
	if before.Status != store.StatusResolved && c.Status == store.StatusResolved {
		s.countResolution(ctx, c, now)
		if s.resolved != nil {
			s.resolved(ctx, c)
		}
	}
	// The previous change's events too: they are recorded already unless
	// a crash came between that change and its recording (the outbox keeps
	// one event per key).
	if err := s.recordPending(ctx, c, append(prev, c.PendingEvents...)); err != nil {
		s.log.Error("conversation changed, its webhook events not recorded yet (the sweeper will)", "conversation", c.ID, "by", by, "err", err)
	}
	s.publish(ctx, Event{Type: EventConversationUpdated, CustomerID: c.CustomerID, ConversationID: c.ID,
		Channel: c.Channel, Status: c.Status, Audience: c.Audience, Assignee: c.Assignee, Agent: by,
		Priority: c.Priority, Detail: priorityDetail(before, c)})
	return c, nil
}

// Assign gives conversation id to agent ("" unassigns).
func (s *Service) Assign(ctx context.Context, id, agent, by string) (store.Conversation, error) {
	return s.Update(ctx, id, Change{Assignee: &agent}, by)
}

// SetStatus sets the status of conversation id (not snoozed: see Snooze).
func (s *Service) SetStatus(ctx context.Context, id, status, by string) (store.Conversation, error) {
	return s.Update(ctx, id, Change{Status: &status}, by)
}

// Resolve resolves conversation id: it leaves its agent's load, and its
// thread's next message opens a new conversation.
func (s *Service) Resolve(ctx context.Context, id, by string) (store.Conversation, error) {
	return s.SetStatus(ctx, id, store.StatusResolved, by)
}

// Reopen opens conversation id again (store.ErrConflict when its thread
// has another open conversation meanwhile).
func (s *Service) Reopen(ctx context.Context, id, by string) (store.Conversation, error) {
	return s.SetStatus(ctx, id, store.StatusOpen, by)
}

// Snooze hides conversation id until the given time (WakeSnoozed brings it
// back; so does the customer writing again).
func (s *Service) Snooze(ctx context.Context, id string, until time.Time, by string) (store.Conversation, error) {
	status := store.StatusSnoozed
	return s.Update(ctx, id, Change{Status: &status, SnoozedUntil: &until}, by)
}

// SetTeam moves conversation id to team ("" for none).
func (s *Service) SetTeam(ctx context.Context, id, team, by string) (store.Conversation, error) {
	return s.Update(ctx, id, Change{Team: &team}, by)
}

// Replied records an agent's reply entry e on its conversation: the
// activity moves forward and an open (or resolved) conversation waits for
// the customer (pending). The reply's own entry and its events stay with
// the outbound path.
func (s *Service) Replied(ctx context.Context, e store.Entry) (store.Conversation, error) {
	var before store.Conversation
	after, err := s.st.UpdateConversation(ctx, e.ConversationID, func(c *store.Conversation) error {
		before = *c
		if e.OccurredAt.After(c.LastActivity) {
			c.LastActivity = e.OccurredAt
		}
		if c.Status == store.StatusOpen || c.Status == store.StatusResolved {
			if c.Status == store.StatusResolved {
				c.ResolvedAt = time.Time{}
				c.Reopened++
			}
			c.Status = store.StatusPending // waiting for the customer
		}
		if c.FirstReplyAt.IsZero() {
			c.FirstReplyAt = e.OccurredAt
		}
		c.Replies++
		s.trackApply(before, c, e.OccurredAt)
		return nil
	})
	if err != nil {
		return after, fmt.Errorf("conversation %s: %w", e.ConversationID, err)
	}
	s.load(ctx, before, after)
	if before.FirstReplyAt.IsZero() && !after.FirstReplyAt.IsZero() {
		s.countFirstResponse(ctx, after)
	}
	s.trackChanged(ctx, before, after, e.OccurredAt, e.Agent)
	s.index(ctx, e)
	return after, nil
}

// Delete removes conversation c (erasure) and takes it off its agent's load.
func (s *Service) Delete(ctx context.Context, c store.Conversation) error {
	if err := s.st.DeleteConversation(ctx, c.ID); err != nil {
		return fmt.Errorf("delete conversation %s: %w", c.ID, err)
	}
	// Its survey, if one is scheduled (package csat), goes with it.
	if err := s.st.DeleteTimer(ctx, store.TimerSetCSAT, c.ID); err != nil {
		return fmt.Errorf("delete conversation %s: its survey timer: %w", c.ID, err)
	}
	// Its SLA due-time timers (package sla) too.
	for _, t := range []string{store.SLAFirstResponse, store.SLANextResponse, store.SLAResolution} {
		if err := s.st.DeleteTimer(ctx, store.TimerSetSLA, c.ID+"|"+t); err != nil {
			return fmt.Errorf("delete conversation %s: its SLA timers: %w", c.ID, err)
		}
		if err := s.st.DeleteTimer(ctx, store.TimerSetSLABreaching, c.ID+"|"+t); err != nil {
			return fmt.Errorf("delete conversation %s: its SLA timers: %w", c.ID, err)
		}
	}
	if s.idx != nil {
		if err := s.idx.UnindexConversation(ctx, c); err != nil {
			return fmt.Errorf("delete conversation %s from the search index: %w", c.ID, err)
		}
	}
	s.load(ctx, c, store.Conversation{})
	return nil
}

// WakeSnoozed reopens every snoozed conversation whose snooze time is not
// after now, as an agent would expect ("snooze until Monday 9:00" means it
// is back in the inbox on Monday at 9:00, not only when the customer
// writes). It is safe on every replica at once: each change is a
// compare-and-swap that only applies to a conversation still snoozed and
// due, so exactly one caller reopens it and announces it
// (conversation.updated, detail "snooze ended"). It returns how many it
// reopened.
func (s *Service) WakeSnoozed(ctx context.Context, now time.Time) (int, error) {
	now = now.UTC()
	woken := 0
	cursor := ""
	for {
		page, next, err := s.st.ListConversations(ctx, store.ConversationFilter{Status: store.StatusSnoozed, Before: cursor, Limit: 200})
		if err != nil {
			return woken, fmt.Errorf("list snoozed conversations: %w", err)
		}
		for _, c := range page {
			if c.SnoozedUntil.After(now) {
				continue
			}
			var before store.Conversation
			changed := false
			after, err := s.st.UpdateConversation(ctx, c.ID, func(x *store.Conversation) error {
				before, changed = *x, false
				if x.Status != store.StatusSnoozed || x.SnoozedUntil.After(now) {
					return nil // reopened, resnoozed or resolved meanwhile
				}
				x.Status, x.SnoozedUntil, changed = store.StatusOpen, time.Time{}, true
				return nil
			})
			if err != nil {
				return woken, fmt.Errorf("wake conversation %s: %w", c.ID, err)
			}
			if !changed {
				continue
			}
			woken++
			s.load(ctx, before, after)
			s.publish(ctx, Event{Type: EventConversationUpdated, CustomerID: after.CustomerID, ConversationID: after.ID,
				Channel: after.Channel, Status: after.Status, Audience: after.Audience, Assignee: after.Assignee, Detail: "snooze ended"})
		}
		if next == "" || len(page) == 0 {
			return woken, nil
		}
		cursor = next
	}
}

// RunSnoozeWaker calls WakeSnoozed every interval until ctx ends.
func (s *Service) RunSnoozeWaker(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := s.WakeSnoozed(ctx, s.clock()); err != nil && ctx.Err() == nil {
			s.log.Warn("waking snoozed conversations failed", "err", err)
		} else if n > 0 {
			s.log.Info("snoozed conversations are back in the inbox", "count", n)
		}
	}
}

// load moves the agents' load counters for a change from before to after
// that already happened; a failure is logged at error level, naming the
// agent whose counter is now off by one.
func (s *Service) load(ctx context.Context, before, after store.Conversation) {
	if err := applyLoad(ctx, s.st, deltaOf(before, after), ""); err != nil {
		s.log.Error("agent load counter not updated", "conversation", after.ID, "err", err)
	}
}

func (s *Service) publish(ctx context.Context, ev Event) {
	if err := Publish(ctx, s.st, ev); err != nil {
		s.log.Debug("publish event failed", "type", ev.Type, "err", err)
	}
}
