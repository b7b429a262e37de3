package sla

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// TimerSetSLA is store.TimerSetSLA.
const TimerSetSLA = store.TimerSetSLA

// OverdueStore is what counting breaches at their due time needs.
type OverdueStore interface {
	store.Timers
	UpdateConversation(ctx context.Context, id string, fn func(*store.Conversation) error) (store.Conversation, error)
}

// overdue counts a breach when a pending target's due time passes, not
// only when the late answer comes: each change that sets a due time writes
// a durable timer (conversation, target) at it; when due, the replica that
// claims it records the target as breached on the conversation (one
// compare-and-swap, only if the target is still pending with that due
// time and not breached), and the rollup counts the new breach; the late
// answer then finds the target breached already and counts nothing.
// Writing the timer follows the change (best effort like the counts): a
// crash between them leaves that breach counted at the late answer, as
// before.
type overdue struct {
	st    OverdueStore
	clock store.Clock
	// breaching: the "about to breach" timers (BreachingTimers).
	breaching *breaching
}

// breaching says when to write a timer of store.TimerSetSLABreaching
// beside each due-time timer: Before the due time, while Wanted.
type breaching struct {
	Before time.Duration
	Wanted func() bool
}

// BreachingTimers makes the rollup write, beside each due-time timer (see
// overdue; CountOverdue must be on), a timer of store.TimerSetSLABreaching
// due before ahead of the due time, while wanted reports true (some
// automation rule runs on sla.breaching: package automation claims these
// timers). The payload is the due-time timer's: JSON {"conversation",
// "target", "due"}.
func (r *Rollup) BreachingTimers(before time.Duration, wanted func() bool) {
	o := r.overdue.Load()
	if o == nil || before <= 0 {
		return
	}
	n := *o
	n.breaching = &breaching{Before: before, Wanted: wanted}
	r.overdue.Store(&n)
}

// overdueLease: a claimed timer whose replica died is due again after this.
const overdueLease = time.Minute

// overdueEvery is how often a running Rollup looks for passed due times.
const overdueEvery = 10 * time.Second

type dueTimer struct {
	Conversation string    `json:"conversation"`
	Target       string    `json:"target"`
	Due          time.Time `json:"due"`
}

// CountOverdue makes the rollup count breaches when due times pass (see
// overdue), with timers in st; Run then also fires them. clock nil: the
// system clock.
func (r *Rollup) CountOverdue(st OverdueStore, clock store.Clock) {
	if clock == nil {
		clock = store.SystemClock
	}
	r.overdue.Store(&overdue{st: st, clock: clock})
}

// pendingDue is the due time of target still pending on c (zero: none).
func pendingDue(c store.Conversation, target string) time.Time { return c.PendingSLADue(target) }

var slaTargets = []string{store.SLAFirstResponse, store.SLANextResponse, store.SLAResolution}

// schedule writes a timer for each due time the change set.
func (o *overdue) schedule(ctx context.Context, before, after store.Conversation) error {
	var errs []error
	for _, t := range slaTargets {
		d := pendingDue(after, t)
		if d.IsZero() || d.Equal(pendingDue(before, t)) {
			continue
		}
		b, _ := json.Marshal(dueTimer{Conversation: after.ID, Target: t, Due: d})
		if err := o.st.PutTimer(ctx, store.Timer{Set: TimerSetSLA, ID: after.ID + "|" + t, At: d, Payload: b}); err != nil {
			errs = append(errs, err)
		}
		if w := o.breaching; w != nil && (w.Wanted == nil || w.Wanted()) {
			if err := o.st.PutTimer(ctx, store.Timer{Set: store.TimerSetSLABreaching, ID: after.ID + "|" + t, At: d.Add(-w.Before), Payload: b}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

var errNotDue = errors.New("not overdue")

// CountOverdueNow records and counts the breaches whose due time has passed
// (timers claimed by this replica) and returns how many it counted.
func (r *Rollup) CountOverdueNow(ctx context.Context) (int, error) {
	o := r.overdue.Load()
	if o == nil {
		return 0, nil
	}
	counted := 0
	for {
		now := o.clock().UTC()
		ts, err := o.st.ClaimTimers(ctx, TimerSetSLA, now, overdueLease, 100)
		if err != nil {
			return counted, err
		}
		for _, t := range ts {
			var d dueTimer
			if json.Unmarshal(t.Payload, &d) == nil {
				var before store.Conversation
				after, err := o.st.UpdateConversation(ctx, d.Conversation, func(x *store.Conversation) error {
					before = *x
					due := pendingDue(*x, d.Target)
					if due.IsZero() || !due.Equal(d.Due) || !now.After(due) {
						return errNotDue // met, moved, or breached already
					}
					s := *x.SLA
					s.Breached = append(append([]string(nil), s.Breached...), d.Target)
					x.SLA = &s
					return nil
				})
				switch {
				case err == nil:
					before.PendingEvents = nil
					r.Changed(ctx, before, after, now, "")
					counted++
				case errors.Is(err, errNotDue), errors.Is(err, store.ErrNotFound):
				default:
					// Left to its lease: tried again after overdueLease.
					r.log.Warn("SLA breach not recorded; trying again later", "timer", t.ID, "err", err)
					continue
				}
			}
			if err := o.st.DeleteTimer(ctx, TimerSetSLA, t.ID); err != nil {
				return counted, fmt.Errorf("sla timer %s: %w", t.ID, err)
			}
		}
		if len(ts) < 100 {
			return counted, nil
		}
	}
}
