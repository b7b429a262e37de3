package sla_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/sla"
	"github.com/switchboard-hub/switchboard/store"
)

// lostReply applies the first AddFigures and then reports a failure, as a
// write whose reply timed out.
type lostReply struct {
	store.Store
	lost atomic.Bool
}

func (l *lostReply) AddFigures(ctx context.Context, f store.FigureAdd) error {
	if err := l.Store.AddFigures(ctx, f); err != nil {
		return err
	}
	if l.lost.CompareAndSwap(false, true) {
		return errors.New("i/o timeout")
	}
	return nil
}

// TestRollupFlushRetryCountsOnce: a flush whose write applied but failed
// to answer is retried at the next flush, and the retry counts nothing
// more (on Redis, where a write can apply without its reply arriving).
func TestRollupFlushRetryCountsOnce(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		lr := &lostReply{Store: st}
		roll := sla.NewRollup(lr, nil, nil, nil)
		roll.Batch()
		t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		c := store.Conversation{ID: "c1", Channel: "mail", Status: store.StatusOpen, CreatedAt: t0}
		opened := c
		opened.FirstInboundAt = t0
		roll.Changed(ctx, c, opened, t0, "")
		if err := roll.Flush(ctx); err == nil {
			t.Fatal("first flush: want the lost reply's error")
		}
		// More counted meanwhile, then the next flush.
		c2 := store.Conversation{ID: "c2", Channel: "mail", Status: store.StatusOpen, CreatedAt: t0}
		opened2 := c2
		opened2.FirstInboundAt = t0
		roll.Changed(ctx, c2, opened2, t0, "")
		if err := roll.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		rep, err := sla.Read(ctx, st, sla.Query{From: t0, To: t0, GroupBy: sla.GroupChannel, Keys: []string{"mail"}})
		if err != nil {
			t.Fatal(err)
		}
		if n := rep.Rows[0].Conversations; n != 2 {
			t.Fatalf("%d conversations, want 2", n)
		}
	})
}
