package redis_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/redis"
)

// A read whose reply is lost: Redis runs the command (the items become
// pending for the consumer), then the hub sees an error instead of the
// reply, as when Redis is killed right after persisting it or the
// connection is cut while the reply is on its way.

// lostReply lets the next command named cmd run in Redis, then replaces
// its reply with an error (once armed, once).
type lostReply struct{ cmd atomic.Pointer[string] }

func (l *lostReply) arm(cmd string) { l.cmd.Store(&cmd) }

func (l *lostReply) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (l *lostReply) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		if want := l.cmd.Load(); want != nil && *want == cmd.Name() && err == nil && l.cmd.CompareAndSwap(want, nil) {
			cmd.SetErr(errors.New("read tcp: connection reset by peer (reply lost)"))
			return cmd.Err()
		}
		return err
	}
}
func (l *lostReply) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// afterReply runs fn once the next command named cmd has run in Redis and
// before its reply reaches the Store (once armed, once): something another
// replica does in between two commands of the Store.
type afterReply struct {
	mu  sync.Mutex
	cmd string
	fn  func()
}

func (a *afterReply) arm(cmd string, fn func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cmd, a.fn = cmd, fn
}

func (a *afterReply) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (a *afterReply) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		a.mu.Lock()
		fn := a.fn
		if fn != nil && a.cmd == cmd.Name() && err == nil {
			a.fn = nil
		} else {
			fn = nil
		}
		a.mu.Unlock()
		if fn != nil {
			fn()
		}
		return err
	}
}
func (a *afterReply) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// pendingFor is the ids pending for consumer in the queue's group.
func pendingFor(t *testing.T, c goredis.UniversalClient, stream, consumer string) []string {
	t.Helper()
	ps, err := c.XPendingExt(context.Background(), &goredis.XPendingExtArgs{
		Stream: stream, Group: "hub", Start: "-", End: "+", Count: 100, Consumer: consumer,
	}).Result()
	if err != nil {
		t.Fatalf("XPENDING: %v", err)
	}
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}

// After a failed read, the consumer's next read hands out the items that
// are pending for it although it never saw them, instead of leaving them
// to ClaimAfter (a minute here; the consumer's heartbeat lives, so no
// other replica takes them either). Every case asserts the very next Read
// returns them, and that reads go on with new items afterwards; on a
// standalone Redis (both queues) and on Redis Cluster (ingest).
func TestFailedReadHandsOutOwnPendingNext(t *testing.T) {
	q := store.QueueOptions{ClaimAfter: time.Minute, Heartbeat: 5 * time.Second, RetryBackoff: 10 * time.Millisecond}
	ctx := context.Background()
	const consumer = "host-1"

	// setup: a Store on its own client with the two hooks, its consumer
	// reading already (heartbeat set). read is one Read; next is one that
	// must succeed.
	type env struct {
		lost   *lostReply
		cut    *failing
		after  *afterReply
		read   func() ([]store.Delivery, error)
		next   func() []store.Delivery
		stream string
		c      goredis.UniversalClient // raw, shared
		s      *redis.Store
		prefix string
	}
	setup := func(t *testing.T, server, queue string, q store.QueueOptions) env {
		var c, lc goredis.UniversalClient
		var prefix string
		if server == "cluster" {
			c, prefix = testenv.RedisCluster(t) // skips without a cluster
			lc = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: strings.Split(os.Getenv("SWITCHBOARD_TEST_REDIS_CLUSTER"), ",")})
		} else {
			c, prefix = testenv.Redis(t)
			lc = goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr()})
		}
		t.Cleanup(func() { lc.Close() })
		e := env{lost: &lostReply{}, cut: &failing{}, after: &afterReply{}, stream: prefix + ":{q:" + queue + "}:stream", c: c, prefix: prefix}
		lc.AddHook(e.lost)
		lc.AddHook(e.cut)
		lc.AddHook(e.after)
		s := replica(t, lc, prefix, q)
		e.s = s
		if ds, err := s.Read(ctx, queue, consumer, 4, 0); err != nil || len(ds) != 0 {
			t.Fatalf("first Read = %v, %v; want nothing", ds, err)
		}
		e.read = func() ([]store.Delivery, error) { return s.Read(ctx, queue, consumer, 4, 200*time.Millisecond) }
		e.next = func() []store.Delivery {
			t.Helper()
			ds, err := e.read()
			if err != nil {
				t.Fatalf("Read after the failed one: %v", err)
			}
			return ds
		}
		// The reads go on with new items once the own ones are out.
		t.Cleanup(func() {
			if t.Failed() {
				return
			}
			id := enqueueN(t, s, queue, 1)
			if got := e.next(); !sameIDs(got, id) {
				t.Errorf("a later Read got %d items, want the one new item", len(got))
			}
		})
		return e
	}
	enqueue := func(t *testing.T, c goredis.UniversalClient, stream string, n int) []string {
		var ids []string
		for range n {
			id, err := c.XAdd(ctx, &goredis.XAddArgs{Stream: stream, Values: []any{"p", "x", "t", "1"}}).Result()
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		return ids
	}
	ack := func(t *testing.T, c goredis.UniversalClient, stream string, ds []store.Delivery) {
		for _, d := range ds {
			if err := c.XAck(ctx, stream, "hub", d.ID).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// rawRead reads one new item under the consumer's name without the
	// Store: it is pending for the consumer, which never saw it.
	rawRead := func(t *testing.T, e env) {
		t.Helper()
		if err := e.c.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: "hub", Consumer: consumer, Streams: []string{e.stream, ">"}, Count: 1, Block: -1}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// failedRead is a Read while Redis is unreachable; it must fail.
	failedRead := func(t *testing.T, e env) {
		t.Helper()
		e.cut.on.Store(true)
		_, err := e.read()
		e.cut.on.Store(false)
		if err == nil {
			t.Fatal("the Read while Redis was unreachable did not fail")
		}
	}

	for _, sq := range [][2]string{{"redis", store.QueueIngest}, {"redis", store.QueueOutbound}, {"cluster", store.QueueIngest}} {
		server, queue := sq[0], sq[1]
		name := server + "/" + queue
		// The Store's own XREADGROUP ran; its reply was lost.
		t.Run(name+"/lost read reply", func(t *testing.T) {
			e := setup(t, server, queue, q)
			// One item read and still being worked on (not acked): it is
			// pending for the consumer too, and must not come out again.
			held := enqueue(t, e.c, e.stream, 1)
			if got := e.next(); !sameIDs(got, held) {
				t.Fatalf("setup: read %d items, want 1", len(got))
			}
			ids := enqueue(t, e.c, e.stream, 2)
			e.lost.arm("xreadgroup")
			if _, err := e.read(); err == nil {
				t.Fatal("the Read whose reply was lost did not fail")
			}
			if got := pendingFor(t, e.c, e.stream, consumer); len(got) != 3 {
				t.Fatalf("setup: %d items pending for %s, want 3", len(got), consumer)
			}
			got := e.next()
			if !sameIDs(got, ids) {
				t.Fatalf("the next Read got %v, want the 2 pending for the consumer that it never saw, %v (else they wait for ClaimAfter; the one in flight must not come again)", got, ids)
			}
			for _, d := range got {
				if string(d.Payload) != "x" || d.Attempts < 1 {
					t.Errorf("item %s: payload %q, attempts %d", d.ID, d.Payload, d.Attempts)
				}
			}
			ack(t, e.c, e.stream, got)
		})

		// A raw XREADGROUP with the same consumer name (the Store never saw
		// its reply), then a read that fails because Redis is unreachable.
		t.Run(name+"/raw read then unreachable", func(t *testing.T) {
			e := setup(t, server, queue, q)
			ids := enqueue(t, e.c, e.stream, 1)
			rawRead(t, e)
			failedRead(t, e)
			got := e.next()
			if !sameIDs(got, ids) {
				t.Fatalf("the next Read got %d items, want the one pending for the consumer", len(got))
			}
			ack(t, e.c, e.stream, got)
		})

		// The reclaim script handed a retried item to the consumer; its
		// reply was lost.
		t.Run(name+"/lost reclaim reply", func(t *testing.T) {
			e := setup(t, server, queue, q)
			ids := enqueue(t, e.c, e.stream, 1)
			got := e.next()
			if !sameIDs(got, ids) {
				t.Fatalf("first delivery: %d items", len(got))
			}
			// Retried: due in 10 ms.
			if _, err := e.s.Retry(ctx, queue, got[0], "try again"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // setup: the retry is due (10 ms)
			e.lost.arm("evalsha")
			// The reclaim runs when the retry is due (the Store learns the
			// due time from its periodic reclaim, at most a second).
			var err error
			for start := time.Now(); err == nil && time.Since(start) < 5*time.Second; {
				var ds []store.Delivery
				ds, err = e.read()
				if len(ds) > 0 {
					t.Fatalf("the retried item came back without the reclaim reply being lost: %v", ds)
				}
			}
			if err == nil {
				t.Fatal("no reclaim reply was lost within 5s")
			}
			if p := pendingFor(t, e.c, e.stream, consumer); !sameStrings(p, ids) {
				t.Fatalf("setup: pending for %s = %v, want %v", consumer, p, ids)
			}
			got = e.next()
			if !sameIDs(got, ids) {
				t.Fatalf("the next Read got %d items, want the retried one pending for the consumer", len(got))
			}
			if got[0].Attempts < 2 {
				t.Errorf("attempts = %d, want at least 2 (a retried item)", got[0].Attempts)
			}
			ack(t, e.c, e.stream, got)
		})

		// The lost reply is masked: the client retried the read on a new
		// connection and the Store saw the next items, no error. The
		// orphan is taken back once idle for Heartbeat (here 300 ms; well
		// before ClaimAfter, a minute); the item read before it and still
		// in flight, idle longer, is not handed out again.
		t.Run(name+"/masked lost reply", func(t *testing.T) {
			qs := q
			qs.Heartbeat = 300 * time.Millisecond
			e := setup(t, server, queue, qs)
			held := enqueue(t, e.c, e.stream, 1)
			if got := e.next(); !sameIDs(got, held) {
				t.Fatalf("setup: read %d items, want 1", len(got))
			}
			orphan := enqueue(t, e.c, e.stream, 1)
			rawRead(t, e)
			start := time.Now()
			var got []store.Delivery
			for len(got) == 0 && time.Since(start) < 20*time.Second {
				got = e.next()
			}
			if !sameIDs(got, orphan) {
				t.Fatalf("reads for %v got %v, want the orphan %v (else it waits for ClaimAfter) and not the item in flight", time.Since(start), got, orphan)
			}
			t.Logf("orphan handed out %v after it was read", time.Since(start))
			ack(t, e.c, e.stream, got)
		})

		// An entry deleted by an Ack whose XACK never ran is not handed out
		// again; it leaves the pending list.
		t.Run(name+"/deleted entry", func(t *testing.T) {
			e := setup(t, server, queue, q)
			ids := enqueue(t, e.c, e.stream, 1)
			rawRead(t, e)
			if err := e.c.XDel(ctx, e.stream, ids...).Err(); err != nil {
				t.Fatal(err)
			}
			failedRead(t, e)
			if got := e.next(); len(got) != 0 {
				t.Fatalf("the next Read handed out %d items, want none (the only one was deleted)", len(got))
			}
			if p := pendingFor(t, e.c, e.stream, consumer); len(p) != 0 {
				t.Errorf("still pending for %s: %v", consumer, p)
			}
		})

		// Another replica claims the orphan between the Store's XPENDING
		// and its claim (likely right after an outage longer than
		// Heartbeat: this consumer's heartbeat lapsed and the others took
		// its items). The item stays with that replica; the Store does not
		// hand it out too (for outbound: a reply sent twice).
		t.Run(name+"/claimed by another replica in between", func(t *testing.T) {
			e := setup(t, server, queue, q)
			const other = "host-2"
			// The other replica reads too: its heartbeat lives, so nobody
			// takes its items before ClaimAfter.
			if ds, err := replica(t, e.c, e.prefix, q).Read(ctx, queue, other, 1, 0); err != nil || len(ds) != 0 {
				t.Fatalf("setup: the other replica's first Read = %v, %v; want nothing", ds, err)
			}
			ids := enqueue(t, e.c, e.stream, 1)
			rawRead(t, e)
			failedRead(t, e)
			claimed := make(chan error, 1)
			e.after.arm("xpending", func() {
				claimed <- e.c.XClaim(ctx, &goredis.XClaimArgs{Stream: e.stream, Group: "hub", Consumer: other, Messages: ids}).Err()
			})
			got := e.next()
			select {
			case err := <-claimed:
				if err != nil {
					t.Fatalf("setup: the other replica's XCLAIM: %v", err)
				}
			default:
				t.Fatal("setup: the Read after the failed one ran no XPENDING")
			}
			if len(got) != 0 {
				t.Fatalf("the next Read handed out %v, which the other replica took in between (both would work on it)", got)
			}
			if p := pendingFor(t, e.c, e.stream, other); !sameStrings(p, ids) {
				t.Errorf("pending for %s = %v, want %v (it claimed it)", other, p, ids)
			}
			if p := pendingFor(t, e.c, e.stream, consumer); len(p) != 0 {
				t.Errorf("still pending for %s: %v", consumer, p)
			}
		})
	}
}

func sameStrings(a, b []string) bool {
	ds := make([]store.Delivery, len(a))
	for i, id := range a {
		ds[i].ID = id
	}
	return sameIDs(ds, b)
}
