package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testUseOnce: an id is used once; of concurrent users exactly one is
// first; other ids are independent.
func testUseOnce(t *testing.T, f Factory) {
	e := newEnv(t, f)
	first, err := e.s.UseOnce(e.ctx, "ticket-a", time.Minute)
	must(t, err, "UseOnce")
	if !first {
		t.Fatal("UseOnce of a new id = false, want true")
	}
	again, err := e.s.UseOnce(e.ctx, "ticket-a", time.Minute)
	must(t, err, "UseOnce again")
	if again {
		t.Fatal("UseOnce of a used id = true, want false")
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := e.s.UseOnce(e.ctx, "ticket-b", time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d of 16 concurrent UseOnce calls were first, want 1", n)
	}
}
