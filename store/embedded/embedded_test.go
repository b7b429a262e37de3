package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	"github.com/switchboard-hub/switchboard/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock store.Clock, q store.QueueOptions) store.Store {
		s, err := embedded.Open(t.TempDir(), embedded.Options{Clock: clock, Queue: q})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func open(t testing.TB, dir string, opts embedded.Options) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRedeliveryAfterReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, embedded.Options{})
	id, err := s.Enqueue(ctx, "ingest", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := s.Read(ctx, "ingest", "c1", 10, 0)
	if err != nil || len(ds) != 1 || ds[0].ID != id || ds[0].Attempts != 1 {
		t.Fatalf("first read: %+v %v", ds, err)
	}
	// In flight: not handed out again before ClaimAfter.
	if again, _ := s.Read(ctx, "ingest", "c2", 10, 0); len(again) != 0 {
		t.Fatalf("in-flight item handed out twice: %+v", again)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir, embedded.Options{})
	defer s.Close()
	st, err := s.QueueStats(ctx, "ingest")
	if err != nil || st.Length != 1 || st.Pending != 0 {
		t.Fatalf("stats after reopen: %+v %v", st, err)
	}
	ds, err = s.Read(ctx, "ingest", "c1", 10, 0)
	if err != nil || len(ds) != 1 || ds[0].ID != id || ds[0].Attempts != 2 || string(ds[0].Payload) != "hello" {
		t.Fatalf("read after reopen: %+v %v", ds, err)
	}
	if err := s.Ack(ctx, "ingest", id); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.QueueStats(ctx, "ingest"); st.Length != 0 || st.Pending != 0 {
		t.Fatalf("stats after ack: %+v", st)
	}
}

func TestDataPersistsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, embedded.Options{})
	now := time.Now()
	if _, _, err := s.BindIdentity(ctx, store.Binding{Type: "email", Value: "a@x", CustomerID: "c1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCustomer(ctx, store.Customer{ID: "c1", Name: "Ann"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendEntry(ctx, store.Entry{ID: "e1", CustomerID: "c1", Text: "hi", OccurredAt: now}); err != nil {
		t.Fatal(err)
	}
	l1, err := s.AcquireLease(ctx, "imap", "p1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLease(ctx, "imap", "p1", l1.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Incr(ctx, "rr:team", 3); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, dir, embedded.Options{})
	defer s.Close()
	if b, err := s.LookupIdentity(ctx, "email", "a@x"); err != nil || b.CustomerID != "c1" {
		t.Fatalf("binding: %+v %v", b, err)
	}
	if c, err := s.GetCustomer(ctx, "c1"); err != nil || c.Name != "Ann" {
		t.Fatalf("customer: %+v %v", c, err)
	}
	if es, err := s.PageEntries(ctx, "c1", "", 10); err != nil || len(es) != 1 || es[0].Text != "hi" {
		t.Fatalf("entries: %+v %v", es, err)
	}
	if n, _ := s.CountEntries(ctx, "c1"); n != 1 {
		t.Fatalf("count %d", n)
	}
	l2, err := s.AcquireLease(ctx, "imap", "p2", time.Minute)
	if err != nil || l2.Token <= l1.Token {
		t.Fatalf("fencing token not increasing across restart: %d then %+v %v", l1.Token, l2, err)
	}
	if m, _ := s.GetCounters(ctx, "rr:"); m["rr:team"] != 3 {
		t.Fatalf("counters %v", m)
	}
}

func TestSecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, embedded.Options{})
	defer s.Close()
	_, err := embedded.Open(dir, embedded.Options{LockTimeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "in use by another switchboard process") {
		t.Fatalf("second open: %v", err)
	}
}

func TestRetryDeadReplay(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), embedded.Options{Queue: store.QueueOptions{MaxAttempts: 2, RetryBackoff: 10 * time.Millisecond, ClaimAfter: time.Second}})
	defer s.Close()
	id, _ := s.Enqueue(ctx, "out", []byte("x"))
	ds, _ := s.Read(ctx, "out", "c", 1, 0)
	if dead, err := s.Retry(ctx, "out", ds[0], "boom"); dead || err != nil {
		t.Fatalf("retry 1: %v %v", dead, err)
	}
	// Redelivered after the backoff; a blocking read wakes up for it.
	start := time.Now()
	ds, err := s.Read(ctx, "out", "c", 1, 2*time.Second)
	if err != nil || len(ds) != 1 || ds[0].Attempts != 2 || time.Since(start) > time.Second {
		t.Fatalf("redelivery: %+v %v after %s", ds, err, time.Since(start))
	}
	if dead, err := s.Retry(ctx, "out", ds[0], "boom2"); !dead || err != nil {
		t.Fatalf("retry 2: %v %v", dead, err)
	}
	dls, _ := s.DeadLetters(ctx, "out", 10)
	if len(dls) != 1 || dls[0].ID != id || dls[0].LastError != "boom2" || dls[0].Attempts != 2 {
		t.Fatalf("dead letters: %+v", dls)
	}
	st, _ := s.QueueStats(ctx, "out")
	if st.Length != 0 || st.Dead != 1 {
		t.Fatalf("stats: %+v", st)
	}
	// A blocked reader wakes on replay.
	got := make(chan []store.Delivery, 1)
	go func() { ds, _ := s.Read(ctx, "out", "c", 1, 5*time.Second); got <- ds }()
	time.Sleep(50 * time.Millisecond)
	if n, err := s.ReplayDead(ctx, "out", ""); n != 1 || err != nil {
		t.Fatalf("replay: %d %v", n, err)
	}
	select {
	case ds := <-got:
		if len(ds) != 1 || string(ds[0].Payload) != "x" || ds[0].Attempts != 1 {
			t.Fatalf("replayed delivery %+v", ds)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("blocked reader not woken by replay")
	}
}

func TestClaimAfterWithFakeClock(t *testing.T) {
	ctx := context.Background()
	clock := store.NewFakeClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	s := open(t, t.TempDir(), embedded.Options{Clock: clock.Now, Queue: store.QueueOptions{ClaimAfter: time.Minute}})
	defer s.Close()
	s.Enqueue(ctx, "q", []byte("x"))
	s.Read(ctx, "q", "a", 1, 0)
	if ds, _ := s.Read(ctx, "q", "b", 1, 0); len(ds) != 0 {
		t.Fatal("redelivered too early")
	}
	clock.Advance(2 * time.Minute)
	if ds, _ := s.Read(ctx, "q", "b", 1, 0); len(ds) != 1 || ds[0].Attempts != 2 {
		t.Fatalf("not redelivered after ClaimAfter: %+v", ds)
	}
}

func TestReadHonoursContextAndClose(t *testing.T) {
	s := open(t, t.TempDir(), embedded.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Read(ctx, "q", "c", 1, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := s.Read(context.Background(), "q", "c", 1, time.Minute); done <- err }()
	time.Sleep(20 * time.Millisecond)
	s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, embedded.ErrClosed) {
			t.Fatalf("read after close: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("blocked read not ended by Close")
	}
}

func TestConcurrentBindAndAppend(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), embedded.Options{})
	defer s.Close()
	var wg sync.WaitGroup
	var bound, appended atomic.Int32
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, created, err := s.BindIdentity(ctx, store.Binding{Type: "phone", Value: "+1", CustomerID: fmt.Sprint("c", i)}); err == nil && created {
				bound.Add(1)
			}
			if _, created, err := s.AppendEntry(ctx, store.Entry{ID: "m1", CustomerID: fmt.Sprint("c", i), OccurredAt: time.Now()}); err == nil && created {
				appended.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if bound.Load() != 1 || appended.Load() != 1 {
		t.Fatalf("bound %d, appended %d; want exactly one each", bound.Load(), appended.Load())
	}
}

func BenchmarkEnqueueParallel(b *testing.B) {
	s := open(b, b.TempDir(), embedded.Options{})
	defer s.Close()
	ctx := context.Background()
	payload := []byte(strings.Repeat("x", 512))
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Enqueue(ctx, "ingest", payload); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkAppendEntryParallel(b *testing.B) {
	s := open(b, b.TempDir(), embedded.Options{})
	defer s.Close()
	ctx := context.Background()
	var n atomic.Int64
	text := strings.Repeat("y", 256)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			e := store.Entry{ID: fmt.Sprint("m", i), CustomerID: fmt.Sprint("c", i%1000), Text: text, OccurredAt: time.Now()}
			if _, _, err := s.AppendEntry(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
