package redis_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
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
		read   func() ([]store.Delivery, error)
		next   func() []store.Delivery
		stream string
		c      goredis.UniversalClient // raw, shared
		prefix string
	}
	setup := func(t *testing.T, server, queue string) env {
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
		e := env{lost: &lostReply{}, cut: &failing{}, stream: prefix + ":{q:" + queue + "}:stream", c: c, prefix: prefix}
		lc.AddHook(e.lost)
		lc.AddHook(e.cut)
		s := replica(t, lc, prefix, q)
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

	for _, sq := range [][2]string{{"redis", store.QueueIngest}, {"redis", store.QueueOutbound}, {"cluster", store.QueueIngest}} {
		server, queue := sq[0], sq[1]
		name := server + "/" + queue
		// The Store's own XREADGROUP ran; its reply was lost.
		t.Run(name+"/lost read reply", func(t *testing.T) {
			e := setup(t, server, queue)
			ids := enqueue(t, e.c, e.stream, 2)
			e.lost.arm("xreadgroup")
			if _, err := e.read(); err == nil {
				t.Fatal("the Read whose reply was lost did not fail")
			}
			if got := pendingFor(t, e.c, e.stream, consumer); len(got) != 2 {
				t.Fatalf("setup: %d items pending for %s, want 2", len(got), consumer)
			}
			got := e.next()
			if !sameIDs(got, ids) {
				t.Fatalf("the next Read got %d items, want the 2 pending for the consumer (else they wait for ClaimAfter)", len(got))
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
			e := setup(t, server, queue)
			ids := enqueue(t, e.c, e.stream, 1)
			if err := e.c.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: "hub", Consumer: consumer, Streams: []string{e.stream, ">"}, Count: 1, Block: -1}).Err(); err != nil {
				t.Fatal(err)
			}
			e.cut.on.Store(true)
			_, err := e.read()
			e.cut.on.Store(false)
			if err == nil {
				t.Fatal("the Read while Redis was unreachable did not fail")
			}
			got := e.next()
			if !sameIDs(got, ids) {
				t.Fatalf("the next Read got %d items, want the one pending for the consumer", len(got))
			}
			ack(t, e.c, e.stream, got)
		})

		// The reclaim script handed a retried item to the consumer; its
		// reply was lost.
		t.Run(name+"/lost reclaim reply", func(t *testing.T) {
			e := setup(t, server, queue)
			ids := enqueue(t, e.c, e.stream, 1)
			got := e.next()
			if !sameIDs(got, ids) {
				t.Fatalf("first delivery: %d items", len(got))
			}
			// Retry through a Store on the shared client: due in 10 ms.
			s2 := replica(t, e.c, e.prefix, q)
			if _, err := s2.Retry(ctx, queue, got[0], "try again"); err != nil {
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

		// An entry deleted by an Ack whose XACK never ran is not handed out
		// again; it leaves the pending list.
		t.Run(name+"/deleted entry", func(t *testing.T) {
			e := setup(t, server, queue)
			ids := enqueue(t, e.c, e.stream, 1)
			if err := e.c.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: "hub", Consumer: consumer, Streams: []string{e.stream, ">"}, Count: 1, Block: -1}).Err(); err != nil {
				t.Fatal(err)
			}
			if err := e.c.XDel(ctx, e.stream, ids...).Err(); err != nil {
				t.Fatal(err)
			}
			e.cut.on.Store(true)
			_, err := e.read()
			e.cut.on.Store(false)
			if err == nil {
				t.Fatal("the Read while Redis was unreachable did not fail")
			}
			if got := e.next(); len(got) != 0 {
				t.Fatalf("the next Read handed out %d items, want none (the only one was deleted)", len(got))
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
