package storetest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

func quarantineTests() []testCase {
	return []testCase{
		{"PutListTake", testQuarantinePutListTake},
		{"TakeOnce", testQuarantineTakeOnce},
	}
}

func testQuarantinePutListTake(t *testing.T, f Factory) {
	e := newEnv(t, f)
	items := []store.QuarantineItem{
		{ID: "q1", Channel: "form", Reason: "honeypot", Payload: []byte(`{"text":"a"}`), At: epoch},
		{ID: "q2", Channel: "form", Reason: "too fast", Payload: []byte(`{"text":"b"}`), At: epoch.Add(time.Second)},
		{ID: "q3", Channel: "other", Reason: "honeypot", Payload: []byte(`{"text":"c"}`), At: epoch.Add(2 * time.Second)},
	}
	for _, q := range items {
		must(t, e.s.PutQuarantine(e.ctx, q), "PutQuarantine %s", q.ID)
	}
	// Idempotent: a second put of an id changes nothing.
	must(t, e.s.PutQuarantine(e.ctx, store.QuarantineItem{ID: "q1", Channel: "form", Reason: "changed", At: epoch}), "PutQuarantine again")
	got, err := e.s.ListQuarantine(e.ctx, "form", 10)
	must(t, err, "ListQuarantine")
	if len(got) != 2 || got[0].ID != "q2" || got[1].ID != "q1" {
		t.Fatalf("ListQuarantine(form) = %+v, want q2, q1 (newest first)", got)
	}
	if got[1].Reason != "honeypot" || !bytes.Equal(got[1].Payload, items[0].Payload) {
		t.Fatalf("q1 = %+v: a second put overwrote it or the payload changed", got[1])
	}
	all, err := e.s.ListQuarantine(e.ctx, "", 10)
	must(t, err, "ListQuarantine all")
	if len(all) != 3 || all[0].ID != "q3" {
		t.Fatalf("ListQuarantine(\"\") = %d items, first %+v", len(all), all)
	}
	q, err := e.s.TakeQuarantine(e.ctx, "q1")
	must(t, err, "TakeQuarantine")
	if q.ID != "q1" || !bytes.Equal(q.Payload, items[0].Payload) {
		t.Fatalf("TakeQuarantine = %+v", q)
	}
	_, err = e.s.TakeQuarantine(e.ctx, "q1")
	wantErr(t, err, store.ErrNotFound, "second TakeQuarantine")
	left, _ := e.s.ListQuarantine(e.ctx, "form", 10)
	if len(left) != 1 || left[0].ID != "q2" {
		t.Fatalf("after take: %+v", left)
	}
}

// Two admins releasing the same item at once: exactly one gets it.
func testQuarantineTakeOnce(t *testing.T, f Factory) {
	e := newEnv(t, f)
	must(t, e.s.PutQuarantine(e.ctx, store.QuarantineItem{ID: "once", Channel: "form", Payload: []byte("x"), At: epoch}), "put")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.s.TakeQuarantine(e.ctx, "once"); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent takers got the item, want exactly 1", wins)
	}
}
