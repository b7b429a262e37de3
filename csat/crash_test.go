package csat_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/store"
)

// crashAfterResolve is a store whose process "dies" right after a
// conversation's resolution is stored: every later write fails until
// restarted.
type crashAfterResolve struct {
	store.Store
	crashed atomic.Bool
}

var errCrashed = errors.New("crashed")

func (s *crashAfterResolve) UpdateConversation(ctx context.Context, id string, f func(*store.Conversation) error) (store.Conversation, error) {
	if s.crashed.Load() {
		return store.Conversation{}, errCrashed
	}
	c, err := s.Store.UpdateConversation(ctx, id, f)
	if err == nil && c.Status == store.StatusResolved {
		s.crashed.Store(true)
	}
	return c, err
}

func (s *crashAfterResolve) PutTimer(ctx context.Context, t store.Timer) error {
	if s.crashed.Load() {
		return errCrashed
	}
	return s.Store.PutTimer(ctx, t)
}

// TestCrashAfterResolveKeepsSurvey: the process stops between the
// resolution and anything after it; once restarted, the survey is still
// sent when due (its timer was written with the resolution, not after).
func TestCrashAfterResolveKeepsSurvey(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		cs := &crashAfterResolve{Store: st}
		h := newHub(t, cs)
		c := h.served("text", ann)
		if c.Status != store.StatusResolved {
			t.Fatalf("status %s", c.Status)
		}
		cs.crashed.Store(false) // restarted
		h2 := newHub(t, st)
		h2.clock.Advance(time.Hour)
		h2.sendDue(1)
		if n := len(h2.surveys(c.CustomerID)); n != 1 {
			t.Fatalf("%d surveys after a crash right after the resolution, want 1", n)
		}
	})
}

// TestFailedResolveSchedulesNothing: a timer written for a resolution that
// did not happen is dropped when due, no survey.
func TestFailedResolveSchedulesNothing(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		e := h.receive("text", ann, "my parcel is late", nil)
		if _, err := h.out.Reply(h.ctx, e.ConversationID, "alice", "", "it is on its way"); err != nil {
			t.Fatal(err)
		}
		c := h.conv(e.ConversationID)
		c.Status, c.ResolvedAt = store.StatusResolved, h.clock.Now()
		if err := h.cs.Schedule(h.ctx, c); err != nil { // the resolve's compare-and-swap then fails
			t.Fatal(err)
		}
		h.clock.Advance(time.Hour)
		h.sendDue(0)
		if n := len(h.surveys(c.CustomerID)); n != 0 {
			t.Fatalf("%d surveys for a resolution that did not happen", n)
		}
	})
}
