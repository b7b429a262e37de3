package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// EventSLABreaching: an SLA target's due time is near (the configured
// lead time, automation.sla_breaching_before, ahead of it) and the target
// is still pending. Once per conversation, target and due time.
const EventSLABreaching = "sla.breaching"

// CondSLATarget: Value first_response, next_response or resolution, the
// target about to breach (event sla.breaching).
const CondSLATarget = "sla_target"

// SLATargets are the targets a sla_target condition may name.
var SLATargets = []string{store.SLAFirstResponse, store.SLANextResponse, store.SLAResolution}

// Wants reports whether some enabled rule runs on event (package sla
// writes the sla.breaching timers only then). When the rules cannot be
// read it says yes: a timer too many fires nothing.
func (en *Engine) Wants(event string) bool {
	rs, err := en.active(context.Background())
	if err != nil {
		return true
	}
	return slices.ContainsFunc(rs, func(r Rule) bool { return r.Event == event })
}

// breachingLease: a claimed sla.breaching timer whose replica died is due
// again after this.
const breachingLease = time.Minute

// breachingTimer is the payload package sla writes (its due-time timer's).
type breachingTimer struct {
	Conversation string    `json:"conversation"`
	Target       string    `json:"target"`
	Due          time.Time `json:"due"`
}

var (
	errRanAlready   = errors.New("the rules ran on this already")
	errNotBreaching = errors.New("the target is met, moved or missed")
	errNoRule       = errors.New("no rule fired")
	errRuleFailed   = errors.New("automation rule failed")
)

// BreachingKey is the key of the sla.breaching run on conversation conv's
// target due at due (the ids of its records and effects derive from it).
func BreachingKey(conv, target string, due time.Time) string {
	return "sla/" + conv + "/" + target + "/" + strconv.FormatInt(due.Unix(), 10)
}

// FireSLABreaching runs the sla.breaching rules on the timers of
// store.TimerSetSLABreaching due now (the Engine's clock) and returns on
// how many conversations some rule fired.
//
// Exactly once across replicas and crashes: the store hands a due timer
// to one claimer at a time (for breachingLease); the rules run inside the
// compare-and-swap that keeps their run on the conversation, keyed
// BreachingKey, and only if no run of that key is there and the target is
// still pending with that due time; the timer is deleted after. A replica
// that dies after the swap leaves the timer due again after the lease: the
// next claimer finds the run and only makes its records and effects (ids
// derived from the key: made once).
func (ru *Runner) FireSLABreaching(ctx context.Context) (int, error) {
	fired := 0
	for {
		now := ru.En.o.Clock().UTC()
		ts, err := ru.En.st.ClaimTimers(ctx, store.TimerSetSLABreaching, now, breachingLease, 100)
		if err != nil {
			return fired, err
		}
		for _, t := range ts {
			ok, err := ru.breaching(ctx, t, now)
			if err != nil {
				if ru.Logger != nil {
					ru.Logger.Warn("sla.breaching rules not run; trying again later", "timer", t.ID, "err", err)
				}
				continue // left to its lease
			}
			if ok {
				fired++
			}
			if err := ru.En.st.DeleteTimer(ctx, store.TimerSetSLABreaching, t.ID); err != nil {
				return fired, fmt.Errorf("sla.breaching timer %s: %w", t.ID, err)
			}
		}
		if len(ts) < 100 {
			return fired, nil
		}
	}
}

func (ru *Runner) breaching(ctx context.Context, t store.Timer, now time.Time) (bool, error) {
	var d breachingTimer
	if json.Unmarshal(t.Payload, &d) != nil || d.Conversation == "" {
		return false, nil // not ours to understand: dropped
	}
	rs, err := ru.En.active(ctx)
	if err != nil {
		return false, err
	}
	rs = ofEvents(rs, EventSLABreaching)
	if len(rs) == 0 {
		return false, nil
	}
	cur, err := ru.En.st.GetConversation(ctx, d.Conversation)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s := Subject{Event: EventSLABreaching, Key: BreachingKey(d.Conversation, d.Target, d.Due), At: now, SLATarget: d.Target,
		Calendars: ru.En.o.Calendars}
	convs, err := ru.facts(ctx, rs, cur.CustomerID, &s)
	if err != nil {
		return false, err
	}
	c, err := ru.En.st.UpdateConversation(ctx, d.Conversation, func(x *store.Conversation) error {
		if slices.ContainsFunc(x.RuleRuns, func(r store.RuleRun) bool { return r.MessageID == s.Key }) {
			return errRanAlready
		}
		if due := x.PendingSLADue(d.Target); due.IsZero() || !due.Equal(d.Due) {
			return errNotBreaching
		}
		// A rule that panics changes nothing.
		snapshot := *x
		var failed any
		ran := false
		func() {
			defer func() { failed = recover() }()
			s.SeenBefore = seenBefore(convs, x.ID)
			if fired := Run(rs, s, x); len(fired) > 0 {
				keepRun(x, runOf(fired, s.Key, s.Event, now))
				ran = true
			}
		}()
		switch {
		case failed != nil:
			*x = snapshot
			return fmt.Errorf("%w: %v", errRuleFailed, failed)
		case !ran:
			return errNoRule
		}
		return nil
	})
	switch {
	case errors.Is(err, errRanAlready):
		// A crash after the swap: the records and effects, once.
		c, err := ru.En.st.GetConversation(ctx, d.Conversation)
		if err != nil {
			return false, err
		}
		ru.recordFrom(ctx, s.Key, c)
		return false, nil
	case errors.Is(err, errNotBreaching), errors.Is(err, errNoRule), errors.Is(err, store.ErrNotFound):
		return false, nil
	case errors.Is(err, errRuleFailed):
		if ru.Logger != nil {
			ru.Logger.Error("sla.breaching rule failed", "conversation", d.Conversation, "err", err)
		}
		return false, nil
	case err != nil:
		return false, err
	}
	ru.recordFrom(ctx, s.Key, c)
	_ = timeline.Publish(ctx, ru.En.st, timeline.Event{Type: timeline.EventConversationUpdated, CustomerID: c.CustomerID, ConversationID: c.ID,
		Channel: c.Channel, Status: c.Status, Audience: c.Audience, Assignee: c.Assignee, Agent: "automation"})
	return true, nil
}

// RunSLABreaching fires the sla.breaching rules every interval until ctx
// ends.
func (ru *Runner) RunSLABreaching(ctx context.Context, every time.Duration) {
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			if _, err := ru.FireSLABreaching(ctx); err != nil && ctx.Err() == nil && ru.Logger != nil {
				ru.Logger.Warn("sla.breaching rules", "err", err)
			}
		}
	}
}
