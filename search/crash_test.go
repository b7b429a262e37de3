package search_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/search"
	sredis "github.com/switchboard-hub/switchboard/search/redis"
	"github.com/switchboard-hub/switchboard/store"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
	"github.com/switchboard-hub/switchboard/timeline"
)

// hub is a router's ingest path over st with ix (nil: none).
func hub(st store.Store, ix search.Index) (*router.Ingest, *router.Router) {
	dir := directory.New(st, []directory.Channel{{Name: "api", Type: "api", Phase: store.PhaseLive, Trusted: true}}, store.SystemClock, nil)
	m := router.NewMetrics(nil)
	o := timeline.Options{}
	if ix != nil {
		o.Index = search.Indexer{Index: ix}
	}
	rt := router.New(st, dir, router.Options{Workers: 1, Batch: 1, Metrics: m, Conversations: timeline.NewService(st, o)})
	return router.NewIngest(st, dir, "FI", store.SystemClock, m), rt
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !f(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}

func found(t *testing.T, st store.Store, ix search.Index, q, id string) bool {
	t.Helper()
	s := &search.Searcher{Index: ix, Conversations: st, Region: "FI"}
	r, err := s.Search(context.Background(), search.Query{Text: q})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range r.Hits {
		if h.ID == id {
			return true
		}
	}
	return false
}

// TestAcceptedMessageFoundAfterCrashBeforeIndexing: a hub that stored a
// message's entry and died before its search index write (and before
// acknowledging the message) leaves the message in the ingest queue; the
// restarted hub finds the entry stored (a duplicate to drop) and still
// indexes it, so the message an API client was told was accepted is found
// by search.
func TestAcceptedMessageFoundAfterCrashBeforeIndexing(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store, ix search.Index) {
		ctx := context.Background()
		msg := connectors.Message{Channel: "api", ProviderID: "crash-1", SenderName: "Ann Lee",
			Identities: []connectors.Identity{{Type: connectors.Email, Value: "ann@example.com"}}, Text: "the pelican invoice is wrong"}
		// The hub that dies: it stores the entry, never indexes it, never
		// acks the queue item.
		in, dead := hub(st, nil)
		prepared, err := in.Prepare(msg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.Deliver(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if err := dead.Process(ctx, prepared); err != nil {
			t.Fatal(err)
		}
		e, err := st.GetEntry(ctx, prepared.ID)
		if err != nil {
			t.Fatal(err)
		}
		if found(t, st, ix, "pelican", e.ID) {
			t.Fatal("indexed before the restart: the test does not simulate the crash")
		}
		// The restarted hub.
		_, rt := hub(st, ix)
		rctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { rt.Run(rctx); close(done) }()
		defer func() { stop(); <-done }()
		eventually(t, "the message found by search after the restart", func() bool { return found(t, st, ix, "pelican", e.ID) })
		if !found(t, st, ix, "ann@example.com", e.ID) {
			t.Fatal("not found by its sender's address")
		}
	})
}

// acks records the ingest items acknowledged.
type acks struct {
	store.Store
	mu  sync.Mutex
	ids []string
}

func (a *acks) Ack(ctx context.Context, q string, ids ...string) error {
	if q == store.QueueIngest {
		a.mu.Lock()
		a.ids = append(a.ids, ids...)
		a.mu.Unlock()
	}
	return a.Store.Ack(ctx, q, ids...)
}

func (a *acks) n() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ids)
}

// holdScripts holds every script its client sends until released.
type holdScripts struct{ release chan struct{} }

func (h holdScripts) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h holdScripts) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if n := cmd.Name(); n == "evalsha" || n == "eval" {
			<-h.release
		}
		return next(ctx, cmd)
	}
}
func (h holdScripts) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// TestIngestDoesNotWaitForTheIndexButAcksAfterIt (Redis index): a router
// worker goes on to the next message while its entry waits for the search
// index's write (the index is not on the message's path), but a message is
// acknowledged (taken off the ingest queue, so a crash no longer
// redelivers it) only once its document is written.
func TestIngestDoesNotWaitForTheIndexButAcksAfterIt(t *testing.T) {
	c, prefix, st, in, release := heldIndexHub(t)
	ctx := context.Background()
	var ids []string
	for i, text := range []string{"first pelican", "second pelican"} {
		msg := connectors.Message{Channel: "api", ProviderID: "nowait-" + text, SenderName: "Bo",
			Identities: []connectors.Identity{{Type: connectors.Email, Value: "bo@example.com"}}, Text: text}
		p, err := in.Prepare(msg)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
		if _, err := in.Deliver(ctx, msg); err != nil {
			t.Fatal(err)
		}
		// The one worker stores each message while the first's index
		// write is held.
		eventually(t, "message stored while the index write is held", func() bool {
			_, err := st.GetEntry(ctx, ids[i])
			return err == nil
		})
	}
	time.Sleep(3 * sredis.DefaultWindow)
	if n := st.n(); n != 0 {
		t.Fatalf("%d messages acknowledged before their index write", n)
	}
	release()
	eventually(t, "both acknowledged once indexed", func() bool { return st.n() == 2 })
	for _, id := range ids {
		if !found(t, st, sredis.New(c, prefix), "pelican", id) {
			t.Fatalf("%s acknowledged but not found", id)
		}
	}
}

// While the index's writes are held, the router reads ahead of them only
// so far (4 × its workers' slots, items not yet acknowledged), then waits:
// a slow index holds ingest back instead of letting goroutines and queued
// documents grow without limit and items stay pending past ClaimAfter.
func TestIngestReadsAheadOfTheIndexOnlySoFar(t *testing.T) {
	c, prefix, st, in, release := heldIndexHub(t) // one slot: at most 4 items unacknowledged
	ctx := context.Background()
	var ids []string
	for i := range 7 {
		msg := connectors.Message{Channel: "api", ProviderID: fmt.Sprintf("ahead-%d", i), SenderName: "Bo",
			Identities: []connectors.Identity{{Type: connectors.Email, Value: "bo@example.com"}}, Text: fmt.Sprintf("albatross %d", i)}
		p, err := in.Prepare(msg)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
		if _, err := in.Deliver(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	stored := func() int {
		n := 0
		for _, id := range ids {
			if _, err := st.GetEntry(ctx, id); err == nil {
				n++
			}
		}
		return n
	}
	eventually(t, "four messages stored while the index write is held", func() bool { return stored() >= 4 })
	time.Sleep(10 * sredis.DefaultWindow)
	if n := stored(); n != 4 {
		t.Fatalf("%d messages stored while the index was held, want 4 (read ahead without bound)", n)
	}
	release()
	eventually(t, "all acknowledged once indexed", func() bool { return st.n() == len(ids) })
	for _, id := range ids {
		if !found(t, st, sredis.New(c, prefix), "albatross", id) {
			t.Fatalf("%s acknowledged but not found", id)
		}
	}
}

// heldIndexHub is a hub with one router worker slot on Redis whose search
// index writes (scripts, on a client of the index's own) are held until
// release; the router runs until the test ends.
func heldIndexHub(t *testing.T) (c goredis.UniversalClient, prefix string, st *acks, in *router.Ingest, release func()) {
	c, prefix = testenv.Redis(t)
	rs := sbredis.New(c, sbredis.Options{Prefix: prefix})
	st = &acks{Store: rs}
	h := holdScripts{release: make(chan struct{})}
	ic := goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr()})
	ic.AddHook(h)
	in, rt := hub(st, sredis.New(ic, prefix))
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rt.Run(rctx); close(done) }()
	var once sync.Once
	release = func() { once.Do(func() { close(h.release) }) }
	t.Cleanup(func() {
		release()
		stop()
		<-done
		ic.Close()
		rs.Close()
	})
	return c, prefix, st, in, release
}
