package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/redis"
)

type fixture struct {
	s      *redis.Store
	c      goredis.UniversalClient
	prefix string
	clock  *store.FakeClock
}

func newFixture(t *testing.T, client func(testing.TB) (goredis.UniversalClient, string), q store.QueueOptions) fixture {
	t.Helper()
	c, prefix := client(t)
	clock := store.NewFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 6789, time.UTC))
	s := redis.New(c, redis.Options{Prefix: prefix, Clock: clock.Now, Queue: q})
	t.Cleanup(func() { s.Close() })
	return fixture{s: s, c: c, prefix: prefix, clock: clock}
}

func TestQueueRedeliveryAndDeadLetter(t *testing.T) {
	// ClaimAfter is measured by Redis (idle time, its own clock); Retry
	// backoffs by the store's clock (here a fake one).
	f := newFixture(t, testenv.Redis, store.QueueOptions{MaxAttempts: 3, ClaimAfter: 400 * time.Millisecond, RetryBackoff: 100 * time.Millisecond})
	ctx := context.Background()
	s := f.s
	id, err := s.Enqueue(ctx, "q", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := s.Read(ctx, "q", "w1", 10, 0)
	if err != nil || len(ds) != 1 || ds[0].ID != id || string(ds[0].Payload) != "hello" || ds[0].Attempts != 1 {
		t.Fatalf("first read: %+v %v", ds, err)
	}
	if ds[0].EnqueuedAt.IsZero() {
		t.Fatal("no enqueued_at")
	}
	// Not due yet.
	if ds, _ := s.Read(ctx, "q", "w2", 10, 0); len(ds) != 0 {
		t.Fatalf("redelivered early: %+v", ds)
	}
	// Crashed worker: after ClaimAfter another consumer gets it.
	time.Sleep(450 * time.Millisecond)
	ds, err = s.Read(ctx, "q", "w2", 10, 0)
	if err != nil || len(ds) != 1 || ds[0].Attempts != 2 {
		t.Fatalf("claim: %+v %v", ds, err)
	}
	// Retry: backoff 200ms at attempt 2.
	if dead, err := s.Retry(ctx, "q", ds[0], "boom"); dead || err != nil {
		t.Fatal(dead, err)
	}
	f.clock.Advance(100 * time.Millisecond)
	if ds, _ := s.Read(ctx, "q", "w2", 10, 0); len(ds) != 0 {
		t.Fatalf("redelivered before backoff: %+v", ds)
	}
	f.clock.Advance(150 * time.Millisecond)
	ds, err = s.Read(ctx, "q", "w3", 10, 0)
	if err != nil || len(ds) != 1 || ds[0].Attempts != 3 {
		t.Fatalf("after backoff: %+v %v", ds, err)
	}
	dead, err := s.Retry(ctx, "q", ds[0], "final")
	if !dead || err != nil {
		t.Fatal(dead, err)
	}
	st, err := s.QueueStats(ctx, "q")
	if err != nil || st.Length != 0 || st.Pending != 0 || st.Dead != 1 {
		t.Fatalf("stats %+v %v", st, err)
	}
	dl, err := s.DeadLetters(ctx, "q", 10)
	if err != nil || len(dl) != 1 || dl[0].LastError != "final" || dl[0].Attempts != 3 || string(dl[0].Payload) != "hello" || dl[0].Queue != "q" {
		t.Fatalf("dead %+v %v", dl, err)
	}
	if n, err := s.ReplayDead(ctx, "q", dl[0].ID); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	ds, err = s.Read(ctx, "q", "w1", 10, 0)
	if err != nil || len(ds) != 1 || ds[0].Attempts != 1 || string(ds[0].Payload) != "hello" {
		t.Fatalf("replayed: %+v %v", ds, err)
	}
	if err := s.Ack(ctx, "q", ds[0].ID); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	if ds, _ := s.Read(ctx, "q", "w1", 10, 0); len(ds) != 0 {
		t.Fatalf("acked item redelivered: %+v", ds)
	}
	st, _ = s.QueueStats(ctx, "q")
	if st.Length != 0 || st.Pending != 0 || st.Dead != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestQueueBlockingRead(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	ctx := context.Background()
	go func() {
		time.Sleep(150 * time.Millisecond)
		f.s.Enqueue(ctx, "b", []byte("x"))
	}()
	start := time.Now()
	ds, err := f.s.Read(ctx, "b", "w", 5, 3*time.Second)
	if err != nil || len(ds) != 1 {
		t.Fatalf("%+v %v", ds, err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("took %v", el)
	}
	start = time.Now()
	ds, err = f.s.Read(ctx, "b", "w", 5, 300*time.Millisecond)
	if err != nil || len(ds) != 0 || time.Since(start) < 250*time.Millisecond {
		t.Fatalf("empty blocking read: %+v %v %v", ds, err, time.Since(start))
	}
}

func TestLeaseFencing(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	ctx := context.Background()
	s := f.s
	a, err := s.AcquireLease(ctx, "poller", "A", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !a.ExpiresAt.Equal(f.clock.Now().Add(10 * time.Second)) {
		t.Fatalf("expiry %v", a.ExpiresAt)
	}
	if _, err := s.AcquireLease(ctx, "poller", "B", 10*time.Second); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatal(err)
	}
	a2, err := s.AcquireLease(ctx, "poller", "A", 10*time.Second)
	if err != nil || a2.Token != a.Token {
		t.Fatalf("reacquire by holder: %+v %v", a2, err)
	}
	f.clock.Advance(11 * time.Second)
	b, err := s.AcquireLease(ctx, "poller", "B", 10*time.Second)
	if err != nil || b.Token <= a.Token {
		t.Fatalf("B after expiry: %+v %v", b, err)
	}
	if _, err := s.RenewLease(ctx, "poller", "A", a.Token, time.Second); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatal("stale token renewed", err)
	}
	if _, err := s.RenewLease(ctx, "poller", "B", b.Token, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLease(ctx, "poller", "A", a.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLease(ctx, "poller", "C", time.Second); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatal("stale release freed the lease", err)
	}
	if err := s.ReleaseLease(ctx, "poller", "B", b.Token); err != nil {
		t.Fatal(err)
	}
	c, err := s.AcquireLease(ctx, "poller", "C", time.Second)
	if err != nil || c.Token <= b.Token {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestAppendEntryDedupe(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	ctx := context.Background()
	now := f.clock.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := f.s.AppendEntry(ctx, store.Entry{ID: "m1", CustomerID: "c1", OccurredAt: now, Text: "hi"})
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				created++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if created != 1 {
		t.Fatalf("created %d times", created)
	}
	// A crash after the dedupe record: simulate by writing only the owner key.
	if err := f.c.Set(ctx, f.prefix+":{e:m2}:owner", "c1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	e, ok, err := f.s.AppendEntry(ctx, store.Entry{ID: "m2", CustomerID: "c1", OccurredAt: now.Add(time.Second), Text: "again"})
	if err != nil || !ok || e.Text != "again" {
		t.Fatalf("healing append: %+v %v %v", e, ok, err)
	}
	if n, _ := f.s.CountEntries(ctx, "c1"); n != 2 {
		t.Fatalf("count %d", n)
	}
	page, err := f.s.PageEntries(ctx, "c1", "", 10)
	if err != nil || len(page) != 2 || page[0].ID != "m2" {
		t.Fatalf("page %+v %v", page, err)
	}
	page, _ = f.s.PageEntries(ctx, "c1", page[0].SortKey(), 10)
	if len(page) != 1 || page[0].ID != "m1" {
		t.Fatalf("page2 %+v", page)
	}
	if n, err := f.s.DeleteEntries(ctx, "c1"); n != 2 || err != nil {
		t.Fatal(n, err)
	}
	if _, err := f.s.GetEntry(ctx, "m1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	if _, ok, _ := f.s.AppendEntry(ctx, store.Entry{ID: "m1", CustomerID: "c2", OccurredAt: now}); !ok {
		t.Fatal("dedupe record survived erasure")
	}
}

func TestEventsSubscribe(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := f.s.Subscribe(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.Publish(ctx, "t", []byte("x")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-ch:
		if string(m) != "x" {
			t.Fatal(string(m))
		}
	case <-time.After(3 * time.Second):
		t.Fatal("missed event")
	}
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("unexpected event")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("not closed")
	}
}

// workload touches every kind of key.
func workload(t *testing.T, s store.Store, clock *store.FakeClock) {
	ctx := context.Background()
	now := clock.Now()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 5; i++ {
		cid := fmt.Sprintf("cust{%d}:x", i)
		must(s.CreateCustomer(ctx, store.Customer{ID: cid}))
		_, err := s.UpdateCustomer(ctx, cid, func(c *store.Customer) error { c.Name = "n"; return nil })
		must(err)
		_, _, err = s.BindIdentity(ctx, store.Binding{Type: "email", Value: fmt.Sprintf("a%d@x", i), CustomerID: cid})
		must(err)
		_, _, err = s.BindClaim(ctx, store.Binding{Type: "phone", Value: fmt.Sprintf("+%d", i), CustomerID: cid})
		must(err)
		must(s.UpgradeIdentity(ctx, "email", fmt.Sprintf("a%d@x", i), cid))
		conv, _, err := s.OpenConversation(ctx, store.Conversation{ID: "v" + cid, CustomerID: cid, ThreadKey: "sms:", Status: store.StatusOpen})
		must(err)
		_, err = s.UpdateConversation(ctx, conv.ID, func(c *store.Conversation) error {
			c.Status = store.StatusResolved
			c.LastActivity = now.Add(time.Minute)
			return nil
		})
		must(err)
		_, err = s.UpdateConversation(ctx, conv.ID, func(c *store.Conversation) error { c.Status = store.StatusOpen; return nil })
		must(err)
		_, _, err = s.AppendEntry(ctx, store.Entry{ID: "e" + cid, CustomerID: cid, ConversationID: conv.ID, OccurredAt: now})
		must(err)
		_, err = s.UpdateEntry(ctx, "e"+cid, func(e *store.Entry) error { e.Status = connectors.StatusSent; return nil })
		must(err)
		must(s.PutConsent(ctx, store.Consent{CustomerID: cid, Channel: "sms", Purpose: "support", Granted: true}))
		_, err = s.ListConsents(ctx, cid)
		must(err)
		must(s.PutMerge(ctx, store.Merge{ID: "mg" + cid, Kind: "suggestion", Winner: cid, Loser: "cust{0}:x", Status: store.MergeProposed}))
		_, err = s.ListMerges(ctx, cid)
		must(err)
		_, err = s.PageEntries(ctx, cid, "", 10)
		must(err)
	}
	_, _, err := s.ListConversations(ctx, store.ConversationFilter{Limit: 2})
	must(err)
	_, err = s.ListSuggestions(ctx, 10)
	must(err)
	_, err = s.ListCustomers(ctx, "", 3)
	must(err)
	must(s.PutChannelState(ctx, store.ChannelState{Name: "sms", Phase: store.PhaseLive}))
	must(s.PutCheckpoint(ctx, "imap:{inbox}", []byte("1")))
	must(s.AppendAudit(ctx, store.AuditRecord{Actor: "a", Action: "b"}))
	_, err = s.ListAudit(ctx, 5)
	must(err)
	_, err = s.Incr(ctx, "rr:team", 1)
	must(err)
	_, err = s.GetCounters(ctx, "rr:")
	must(err)
	l, err := s.AcquireLease(ctx, "l{1}", "h", time.Second)
	must(err)
	_, err = s.RenewLease(ctx, "l{1}", "h", l.Token, time.Second)
	must(err)
	for _, q := range []string{store.QueueIngest, "q:{odd}"} {
		_, err = s.Enqueue(ctx, q, []byte("x"))
		must(err)
		ds, err := s.Read(ctx, q, "w", 1, 0)
		must(err)
		_, err = s.Retry(ctx, q, store.Delivery{ID: ds[0].ID, Attempts: 99}, "dead")
		must(err)
		_, err = s.QueueStats(ctx, q)
		must(err)
		_, err = s.DeadLetters(ctx, q, 10)
		must(err)
		_, err = s.ReplayDead(ctx, q, "")
		must(err)
		ds, err = s.Read(ctx, q, "w", 1, 0)
		must(err)
		must(s.Ack(ctx, q, ds[0].ID))
	}
	must(s.DeleteConversation(ctx, "vcust{1}:x"))
	_, err = s.DeleteEntries(ctx, "cust{1}:x")
	must(err)
	must(s.UnbindIdentity(ctx, "email", "a1@x", "cust{1}:x"))
	must(s.DeleteConsents(ctx, "cust{1}:x"))
	must(s.DeleteCustomer(ctx, "cust{1}:x"))
	_, err = s.TakeBudget(ctx, "email-automatic:{1}x", "o_{1}", 2, time.Hour)
	must(err)
}

// TestKeyLayout runs a workload and checks every key the backend created
// starts with the prefix and carries a well-formed hash tag. (Run against a
// cluster — TestKeyLayoutCluster — it also proves no script or transaction
// spans two slots: those fail there with CROSSSLOT.)
func TestKeyLayout(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	workload(t, f.s, f.clock)
	keys, err := allKeys(f.c, "*")
	if err != nil {
		t.Fatal(err)
	}
	mine := 0
	for _, k := range keys {
		if !strings.HasPrefix(k, f.prefix+":") {
			if strings.HasPrefix(k, "sbtest-") {
				continue // a concurrently running test's keys
			}
			t.Errorf("key %q outside the prefix", k)
			continue
		}
		mine++
		rest := strings.TrimPrefix(k, f.prefix+":")
		end := strings.IndexByte(rest, '}')
		if !strings.HasPrefix(rest, "{") || end < 2 || strings.ContainsAny(rest[1:end], "{") {
			t.Errorf("key %q has no proper hash tag", k)
		}
	}
	if mine < 20 {
		t.Fatalf("workload created only %d keys", mine)
	}
}

func TestKeyLayoutCluster(t *testing.T) {
	f := newFixture(t, testenv.RedisCluster, store.QueueOptions{})
	workload(t, f.s, f.clock)
	keys, err := allKeys(f.c, f.prefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 20 {
		t.Fatalf("only %d keys", len(keys))
	}
}

func allKeys(c goredis.UniversalClient, pattern string) ([]string, error) {
	ctx := context.Background()
	var mu sync.Mutex
	var out []string
	scan := func(ctx context.Context, n *goredis.Client) error {
		it := n.Scan(ctx, 0, pattern, 1000).Iterator()
		for it.Next(ctx) {
			mu.Lock()
			out = append(out, it.Val())
			mu.Unlock()
		}
		return it.Err()
	}
	if cc, ok := c.(*goredis.ClusterClient); ok {
		return out, cc.ForEachMaster(ctx, scan)
	}
	return out, scan(ctx, c.(*goredis.Client))
}

// TestQueueReclaimBehindBusyHead: an item abandoned behind a long head of
// pending items that keep being retried (a failing dependency) is still
// redelivered after ClaimAfter. The reclaim scan resumes where it stopped
// instead of looking at the head of the pending list every time.
func TestQueueReclaimBehindBusyHead(t *testing.T) {
	// Long enough for 149 Retry calls on a loaded machine to finish before
	// the first retried one idles out again (at 400 ms, CI's load made the
	// first one due again before the loop ended).
	claimAfter := 1500 * time.Millisecond
	f := newFixture(t, testenv.Redis, store.QueueOptions{MaxAttempts: 100, ClaimAfter: claimAfter, RetryBackoff: time.Hour})
	ctx := context.Background()
	const n = 150
	for i := range n {
		if _, err := f.s.Enqueue(ctx, "busy", fmt.Appendf(nil, "item %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := f.s.Read(ctx, "busy", "a", n, 0)
	if err != nil || len(ds) != n {
		t.Fatalf("read %d items, %v; want %d", len(ds), err, n)
	}
	time.Sleep(claimAfter + 50*time.Millisecond) // all idle: "a" crashed...
	// ...except that every item but the last is being retried by someone
	// (the fake clock never reaches their due time; Retry resets idle time).
	for _, d := range ds[:n-1] {
		if _, err := f.s.Retry(ctx, "busy", d, "dependency down"); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for time.Since(start) < claimAfter-100*time.Millisecond { // before the retried ones idle out
		got, err := f.s.Read(ctx, "busy", "b", 1, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 {
			if got[0].ID != ds[n-1].ID || got[0].Attempts != 2 {
				t.Fatalf("redelivered %s (attempt %d), want the abandoned %s (attempt 2)", got[0].Payload, got[0].Attempts, ds[n-1].Payload)
			}
			return
		}
	}
	t.Fatalf("the item abandoned behind %d retried ones was not redelivered within %v", n-1, claimAfter-100*time.Millisecond)
}

// appendFixture opens conversation cv1 of customer c1 and returns it.
func appendFixture(t *testing.T, f fixture) store.Conversation {
	t.Helper()
	c, _, err := f.s.OpenConversation(context.Background(), store.Conversation{ID: "cv1", CustomerID: "c1", Channel: "api", ThreadKey: "api|", Status: store.StatusOpen, LastActivity: f.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func touchAt(at time.Time) func(*store.Conversation) error {
	return func(c *store.Conversation) error { c.LastActivity = at; return nil }
}

// TestAppendToConversationScriptCacheLost: after SCRIPT FLUSH (a restarted
// or failed-over server) the append still works.
func TestAppendToConversationScriptCacheLost(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	ctx := context.Background()
	conv := appendFixture(t, f)
	if err := f.c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	at := f.clock.Now().Add(time.Second)
	_, got, created, err := f.s.AppendToConversation(ctx, store.Entry{ID: "m1", CustomerID: "c1", ConversationID: "cv1", OccurredAt: at, Text: "hi"}, conv, touchAt(at))
	if err != nil || !created || !got.LastActivity.Equal(at) {
		t.Fatalf("AppendToConversation after SCRIPT FLUSH: created=%v conv=%+v err=%v", created, got, err)
	}
}

// TestAppendToConversationHealsIndex: a conversation whose index member is
// missing (OpenConversation crashed before indexing it) is listed again
// once a message joins it, and it stays one member, scored by its activity.
func TestAppendToConversationHealsIndex(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	ctx := context.Background()
	conv := appendFixture(t, f)
	index := f.prefix + ":{convs}:recent"
	if n, err := f.c.Del(ctx, index).Result(); err != nil || n != 1 {
		t.Fatalf("deleting the index %s: %d %v (key layout changed?)", index, n, err)
	}
	if list, _, _ := f.s.ListConversations(ctx, store.ConversationFilter{}); len(list) != 0 {
		t.Fatalf("listed without an index member: %+v", list)
	}
	_, _, _, err := f.s.AppendToConversation(ctx, store.Entry{ID: "m1", CustomerID: "c1", ConversationID: "cv1", OccurredAt: conv.LastActivity, Text: "same time"}, conv, touchAt(conv.LastActivity))
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := f.s.ListConversations(ctx, store.ConversationFilter{})
	if err != nil || len(list) != 1 || list[0].ID != "cv1" {
		t.Fatalf("after a message joined it: listed %+v, %v; want cv1", list, err)
	}
	later := conv.LastActivity.Add(time.Minute)
	_, _, _, err = f.s.AppendToConversation(ctx, store.Entry{ID: "m2", CustomerID: "c1", ConversationID: "cv1", OccurredAt: later, Text: "later"}, list[0], touchAt(later))
	if err != nil {
		t.Fatal(err)
	}
	if zs, err := f.c.ZRangeWithScores(ctx, index, 0, -1).Result(); err != nil || len(zs) != 1 || zs[0].Score != float64(later.UnixMicro()) {
		t.Errorf("index after the activity moved = %v, %v; want the one member scored %d", zs, err, later.UnixMicro())
	}
}

// TestAppendToConversationDeletedElsewhere: a conversation deleted by
// another replica (this one still knows its owner) gives ErrNotFound and
// leaves no dedupe record that would send a later copy of the message to
// the deleted customer's timeline.
func TestAppendToConversationDeletedElsewhere(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	ctx := context.Background()
	conv := appendFixture(t, f)
	if _, err := f.s.GetConversation(ctx, "cv1"); err != nil { // remember the owner
		t.Fatal(err)
	}
	other := redis.New(f.c, redis.Options{Prefix: f.prefix})
	defer other.Close()
	if err := other.DeleteConversation(ctx, "cv1"); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := f.s.AppendToConversation(ctx, store.Entry{ID: "m1", CustomerID: "c1", ConversationID: "cv1", OccurredAt: conv.LastActivity, Text: "late"}, conv, touchAt(conv.LastActivity))
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AppendToConversation to a conversation deleted elsewhere: %v, want ErrNotFound", err)
	}
	if n, err := f.c.Exists(ctx, f.prefix+":{e:m1}:owner").Result(); err != nil || n != 0 {
		t.Errorf("dedupe record of m1 left behind (%d, %v)", n, err)
	}
	if _, err := f.s.GetEntry(ctx, "m1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetEntry(m1) = %v, want ErrNotFound", err)
	}
}

// TestQueuePrunesIdleConsumers: a store deletes the consumers that earlier
// processes left behind once they are idle with nothing pending, and keeps
// one that still holds an item (its item must stay claimable).
func TestQueuePrunesIdleConsumers(t *testing.T) {
	c, prefix := testenv.Redis(t)
	ctx := context.Background()
	opts := redis.Options{Prefix: prefix, PruneConsumersAfter: 200 * time.Millisecond}
	a := redis.New(c, opts)
	for _, p := range []string{"x", "y"} {
		if _, err := a.Enqueue(ctx, "pq", []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	held, err := a.Read(ctx, "pq", "crashed", 1, 0)
	if err != nil || len(held) != 1 {
		t.Fatalf("read: %v %v", held, err)
	}
	done, err := a.Read(ctx, "pq", "finished", 1, 0)
	if err != nil || len(done) != 1 || a.Ack(ctx, "pq", done[0].ID) != nil {
		t.Fatalf("read and ack: %v %v", done, err)
	}
	a.Close()
	time.Sleep(300 * time.Millisecond)
	b := redis.New(c, opts)
	defer b.Close()
	if _, err := b.Enqueue(ctx, "pq", []byte("z")); err != nil { // first use: prunes
		t.Fatal(err)
	}
	cs, err := c.XInfoConsumers(ctx, prefix+":{q:pq}:stream", "hub").Result()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range cs {
		names = append(names, x.Name)
	}
	if len(names) != 1 || names[0] != "crashed" {
		t.Errorf("consumers after pruning = %v, want [crashed] (it still holds an item)", names)
	}
}

// TestEventsInOrderOnCluster: events published one after another reach a
// subscriber in that order on a Redis Cluster too, where a plain PUBLISH
// may go through any node and cross the cluster bus.
func TestEventsInOrderOnCluster(t *testing.T) {
	f := newFixture(t, testenv.RedisCluster, store.QueueOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := f.s.Subscribe(ctx, "order")
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	for i := range n {
		if err := f.s.Publish(ctx, "order", fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		select {
		case b := <-ch:
			if string(b) != fmt.Sprint(i) {
				t.Fatalf("event %d = %q: events arrive out of publish order", i, b)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d events arrived", i, n)
		}
	}
}

// TestErrorsSayWhatFailed: a failure of Redis names the operation and the
// record, and stays matchable; the contract's answers are the bare sentinels.
func TestErrorsSayWhatFailed(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	// A corrupt record: the decoding error is wrapped with the operation.
	if err := f.c.Set(context.Background(), f.prefix+":{c:cu-7}:customer", "{not json", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.GetCustomer(context.Background(), "cu-7")
	if err == nil || !strings.Contains(err.Error(), "get customer cu-7") {
		t.Errorf("GetCustomer of a corrupt record: error %v, want it to name the operation", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = f.s.GetEntry(ctx, "m_42")
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "get entry m_42") {
		t.Errorf("GetEntry on a cancelled context: error %v, want context.Canceled naming the operation", err)
	}
	_, err = f.s.GetEntry(context.Background(), "m_missing")
	if err != store.ErrNotFound {
		t.Errorf("GetEntry of a missing entry: error %v, want store.ErrNotFound itself", err)
	}
	boom := errors.New("boom")
	if err := f.s.CreateCustomer(context.Background(), store.Customer{ID: "cu-8"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.UpdateCustomer(context.Background(), "cu-8", func(*store.Customer) error { return boom })
	if err != boom {
		t.Errorf("UpdateCustomer whose fn failed: error %v, want fn's error as is", err)
	}
}
