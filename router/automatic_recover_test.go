package router_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// TestAutomaticMessageSurvivesACrashBeforeItsQueue (issue 24), on both
// stores: the process dies after an automatic message (a rule's reply) is
// stored and before its outbound queue item is written. After the
// recovery delay the restarted hub queues it, and the customer gets it
// exactly once; a message that was queued normally, and one whose process
// died after queueing it but before dropping its recovery timer, are not
// queued again.
func TestAutomaticMessageSurvivesACrashBeforeItsQueue(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		var mu sync.Mutex
		now := time.Now().UTC().Truncate(time.Second)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive}}, clock, nil)
		convs := timeline.NewService(st, timeline.Options{Clock: clock})
		rt := router.New(st, dir, router.Options{Conversations: convs, Clock: clock})
		in := connectors.Message{ID: "mail:m1", Channel: "mail", ProviderID: "m1", Text: "hello", SenderName: "Kim Doe",
			Identities: []connectors.Identity{{Type: connectors.Email, Value: "kim@example.com", Verified: true}}, ReceivedAt: clock(), OccurredAt: clock()}
		if err := rt.Process(ctx, in); err != nil {
			t.Fatal(err)
		}
		m, err := st.GetEntry(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		send := func(out *router.Outbound, id string) error {
			_, _, err := out.SendAutomatic(ctx, router.AutomaticRequest{ConversationID: m.ConversationID, EntryID: id, Text: "Thanks, " + id, Agent: "automation"})
			return err
		}

		// The first process: it dies between the entry and the queue.
		first := router.NewOutbound(st, dir, clock, log, nil, convs)
		first.SetSender("mail", &recordingSender{}) // never reached: it dies first
		router.SetAutomaticCrashPoint(func(string) { panic("killed") })
		func() {
			defer router.SetAutomaticCrashPoint(nil) // also when this fails
			defer func() {
				if recover() == nil {
					t.Fatal("the crash point was not reached")
				}
			}()
			_ = send(first, "ar_lost")
		}()
		router.SetAutomaticCrashPoint(nil)
		if e, err := st.GetEntry(ctx, "ar_lost"); err != nil || e.Status != connectors.StatusQueued {
			t.Fatalf("after the crash: entry %+v, %v; want it stored, queued", e, err)
		}

		// The restarted process.
		out := router.NewOutbound(st, dir, clock, log, nil, convs)
		snd := &recordingSender{}
		out.SetSender("mail", snd)
		if err := send(out, "ar_fine"); err != nil {
			t.Fatal(err)
		}
		if err := send(out, "ar_undeleted"); err != nil {
			t.Fatal(err)
		}
		// Died after queueing ar_undeleted, before dropping its timer.
		if err := st.PutTimer(ctx, store.Timer{Set: store.TimerSetAutomatic, ID: "ar_undeleted", At: clock().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if n, err := out.RecoverAutomatic(ctx); err != nil || n != 0 {
			t.Fatalf("recovery before the delay queued %d (%v); want 0", n, err)
		}
		advance(2 * time.Minute)
		if n, err := out.RecoverAutomatic(ctx); err != nil || n != 1 {
			t.Fatalf("recovery after the delay queued %d (%v); want 1 (the lost message)", n, err)
		}
		if n, err := out.RecoverAutomatic(ctx); err != nil || n != 0 {
			t.Fatalf("a second recovery queued %d (%v); want 0", n, err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); out.Run(rctx, 1, "t") }()
		deadline := time.Now().Add(20 * time.Second)
		for len(snd.sent()) < 3 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		// Anything queued twice would be dispatched right behind: give it
		// the time of a few more dispatches, then stop.
		time.Sleep(300 * time.Millisecond)
		cancel()
		<-done
		got := map[string]int{}
		for _, o := range snd.sent() {
			got[o.EntryID]++
			if !o.Automatic {
				t.Errorf("%s was sent without the automatic flag", o.EntryID)
			}
		}
		for _, id := range []string{"ar_lost", "ar_fine", "ar_undeleted"} {
			if got[id] != 1 {
				t.Errorf("%s sent %d times; want once (all sends: %v)", id, got[id], got)
			}
			if e, err := st.GetEntry(ctx, id); err != nil || e.Status != connectors.StatusSent {
				t.Errorf("%s: status %q (%v); want sent", id, e.Status, err)
			}
		}
		if ts, err := st.ClaimTimers(ctx, store.TimerSetAutomatic, clock().Add(time.Hour), time.Minute, 10); err != nil || len(ts) != 0 {
			t.Errorf("timers left: %v (%v); want none", ts, err)
		}
	})
}
