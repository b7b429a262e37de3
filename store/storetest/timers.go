package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

func timerTests() []testCase {
	return []testCase{
		{"DueInOrderAndLeased", testTimersDue},
		{"ConcurrentClaimsTakeEachOnce", testTimersConcurrent},
	}
}

// testTimersDue: only due timers are claimed, earliest first; a claimed
// timer is not handed out again until its lease passes (a worker that
// died), then it is; a deleted one never again; a rescheduled one at its
// new time; sets are independent.
func testTimersDue(t *testing.T, f Factory) {
	e := newEnv(t, f)
	now := epoch.Truncate(time.Millisecond)
	put := func(set, id string, at time.Time, payload string) {
		t.Helper()
		must(t, e.s.PutTimer(e.ctx, store.Timer{Set: set, ID: id, At: at, Payload: []byte(payload)}), "PutTimer")
	}
	put("s", "late", now.Add(time.Hour), "L")
	put("s", "b", now.Add(-time.Minute), "B")
	put("s", "a", now.Add(-time.Hour), "A")
	put("other", "x", now.Add(-time.Hour), "X")
	got, err := e.s.ClaimTimers(e.ctx, "s", now, time.Minute, 10)
	must(t, err, "ClaimTimers")
	if len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" || string(got[0].Payload) != "A" || string(got[1].Payload) != "B" {
		t.Fatalf("claimed %+v, want a then b with their payloads", got)
	}
	if !got[0].At.Equal(now.Add(-time.Hour)) || got[0].Set != "s" {
		t.Fatalf("claimed timer a = %+v, want its own set and time %v", got[0], now.Add(-time.Hour))
	}
	if again, err := e.s.ClaimTimers(e.ctx, "s", now.Add(30*time.Second), time.Minute, 10); err != nil || len(again) != 0 {
		t.Fatalf("claim within the lease = %+v, %v; want nothing", again, err)
	}
	must(t, e.s.DeleteTimer(e.ctx, "s", "a"), "DeleteTimer")
	must(t, e.s.DeleteTimer(e.ctx, "s", "missing"), "DeleteTimer of a missing timer")
	put("s", "late", now.Add(2*time.Minute), "L2") // rescheduled: its old time is gone
	after, err := e.s.ClaimTimers(e.ctx, "s", now.Add(2*time.Minute), time.Minute, 10)
	must(t, err, "ClaimTimers after the lease")
	if len(after) != 2 || after[0].ID != "b" || after[1].ID != "late" || string(after[1].Payload) != "L2" {
		t.Fatalf("claimed after the lease %+v, want b (its worker died) then the rescheduled late", after)
	}
	if hour, err := e.s.ClaimTimers(e.ctx, "s", now.Add(time.Hour+time.Second), time.Minute, 10); err != nil || len(hour) != 2 {
		t.Fatalf("claim at the old time of late = %+v, %v; want b and late again (leases passed), no copy of late", hour, err)
	}
	x, err := e.s.ClaimTimers(e.ctx, "other", now, time.Minute, 10)
	must(t, err, "ClaimTimers other")
	if len(x) != 1 || x[0].ID != "x" {
		t.Fatalf("other set = %+v, want x", x)
	}
}

// testTimersConcurrent: of workers claiming at once, each timer goes to
// exactly one.
func testTimersConcurrent(t *testing.T, f Factory) {
	e := newEnv(t, f)
	now := epoch.Truncate(time.Millisecond)
	for i := range 40 {
		must(t, e.s.PutTimer(e.ctx, store.Timer{Set: "c", ID: string(rune('A' + i)), At: now.Add(-time.Duration(i) * time.Second)}), "PutTimer")
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				got, err := e.s.ClaimTimers(e.ctx, "c", now, time.Hour, 3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, tm := range got {
					seen[tm.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 40 {
		t.Fatalf("%d distinct timers claimed, want 40", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("timer %q claimed %d times, want once", id, n)
		}
	}
}
