package redis_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/redis"
)

// Two processes ("replicas") sharing one Redis are two Stores on the same
// prefix. A replica that dies is one whose client is cut: its heartbeats
// stop and expire, as after a SIGKILL.

func replica(t *testing.T, c goredis.UniversalClient, prefix string, q store.QueueOptions) *redis.Store {
	t.Helper()
	s := redis.New(c, redis.Options{Prefix: prefix, Queue: q})
	t.Cleanup(func() { s.Close() })
	return s
}

// readAll reads (consumer, queue) until it has n items or within expires.
func readAll(t *testing.T, s *redis.Store, queue, consumer string, n int, within time.Duration) ([]store.Delivery, time.Duration) {
	t.Helper()
	start := time.Now()
	var got []store.Delivery
	for len(got) < n && time.Since(start) < within {
		ds, err := s.Read(context.Background(), queue, consumer, n-len(got), 50*time.Millisecond)
		if err != nil {
			t.Fatalf("Read(%s, %s): %v", queue, consumer, err)
		}
		got = append(got, ds...)
	}
	return got, time.Since(start)
}

func enqueueN(t *testing.T, s *redis.Store, queue string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id, err := s.Enqueue(context.Background(), queue, fmt.Appendf(nil, "item-%d", i))
		if err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		ids = append(ids, id)
	}
	return ids
}

func sameIDs(ds []store.Delivery, ids []string) bool {
	got := make([]string, 0, len(ds))
	for _, d := range ds {
		got = append(got, d.ID)
	}
	sort.Strings(got)
	want := append([]string(nil), ids...)
	sort.Strings(want)
	return fmt.Sprint(got) == fmt.Sprint(want)
}

// The items a dead replica had read are handed to another replica once its
// heartbeat lapses, long before ClaimAfter; for both queues.
func TestDeadConsumerItemsTakenOverAtOnce(t *testing.T) {
	c, prefix := testenv.Redis(t)
	q := store.QueueOptions{ClaimAfter: time.Minute, Heartbeat: 400 * time.Millisecond}
	for _, queue := range []string{store.QueueIngest, store.QueueOutbound} {
		t.Run(queue, func(t *testing.T) {
			dying := goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr()})
			a := replica(t, dying, prefix, q)
			b := replica(t, c, prefix, q)
			ids := enqueueN(t, b, queue, 5)
			if got, _ := readAll(t, a, queue, "host-1", 5, 5*time.Second); len(got) != 5 {
				t.Fatalf("replica a read %d items, want 5", len(got))
			}
			dying.Close() // SIGKILL: no more heartbeats, no farewell
			got, took := readAll(t, b, queue, "host-2", 5, 10*time.Second)
			if !sameIDs(got, ids) {
				t.Fatalf("surviving replica got %d items %v, want the 5 the dead one held %v", len(got), got, ids)
			}
			if took > 5*time.Second {
				t.Errorf("the dead replica's items were taken over after %v; want about the heartbeat (%v), far below ClaimAfter (%v)", took, q.Heartbeat, q.ClaimAfter)
			}
			for _, d := range got {
				if d.Attempts != 2 {
					t.Errorf("taken-over item %s has Attempts %d, want 2", d.ID, d.Attempts)
				}
			}
			t.Logf("taken over %v after the kill (heartbeat %v)", took, q.Heartbeat)
			if err := b.Ack(context.Background(), queue, ids...); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A restarted process is a new consumer: it takes its predecessor's items
// at once too.
func TestRestartedReplicaTakesItsOwnOldItems(t *testing.T) {
	c, prefix := testenv.Redis(t)
	q := store.QueueOptions{ClaimAfter: time.Minute, Heartbeat: 400 * time.Millisecond}
	dying := goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr()})
	old := replica(t, dying, prefix, q)
	ids := enqueueN(t, old, store.QueueIngest, 3)
	if got, _ := readAll(t, old, store.QueueIngest, "host-100", 3, 5*time.Second); len(got) != 3 {
		t.Fatalf("read %d items, want 3", len(got))
	}
	dying.Close()
	restarted := replica(t, c, prefix, q)
	got, took := readAll(t, restarted, store.QueueIngest, "host-101", 3, 10*time.Second)
	if !sameIDs(got, ids) || took > 5*time.Second {
		t.Fatalf("restarted replica got %d of 3 items after %v (ClaimAfter %v)", len(got), took, q.ClaimAfter)
	}
	t.Logf("restarted replica had its predecessor's items %v after the kill", took)
}

// A live replica's unacked items (a slow worker) are not taken while its
// heartbeat is alive, however many heartbeats pass; only after ClaimAfter.
func TestLiveSlowConsumerNotRobbed(t *testing.T) {
	c, prefix := testenv.Redis(t)
	q := store.QueueOptions{ClaimAfter: 2 * time.Second, Heartbeat: 200 * time.Millisecond}
	a := replica(t, c, prefix, q)
	b := replica(t, c, prefix, q)
	ids := enqueueN(t, a, store.QueueIngest, 3)
	start := time.Now()
	// A name with the characters keys escape: the script must find its heartbeat.
	if got, _ := readAll(t, a, store.QueueIngest, "pod:{blue}%-1", 3, 5*time.Second); len(got) != 3 {
		t.Fatalf("read %d items, want 3", len(got))
	}
	// Six heartbeat lifetimes: a replica that lost them would be robbed here.
	if got, _ := readAll(t, b, store.QueueIngest, "host-2", 3, 6*q.Heartbeat); len(got) > 0 {
		t.Fatalf("a live replica was robbed of %d items %v after %v (heartbeat %v, ClaimAfter %v)", len(got), got[0].ID, time.Since(start), q.Heartbeat, q.ClaimAfter)
	}
	got, _ := readAll(t, b, store.QueueIngest, "host-2", 3, 10*time.Second)
	if !sameIDs(got, ids) {
		t.Fatalf("after ClaimAfter the other replica got %d items, want 3", len(got))
	}
	if el := time.Since(start); el < q.ClaimAfter-50*time.Millisecond {
		t.Errorf("items taken %v after the first read, before ClaimAfter %v", el, q.ClaimAfter)
	}
}

// A replica that stops cleanly (Close) frees its unacked items at once.
func TestClosedReplicaFreesItsItems(t *testing.T) {
	c, prefix := testenv.Redis(t)
	q := store.QueueOptions{ClaimAfter: time.Minute, Heartbeat: time.Minute}
	a := redis.New(c, redis.Options{Prefix: prefix, Queue: q})
	b := replica(t, c, prefix, q)
	ids := enqueueN(t, a, store.QueueOutbound, 2)
	if got, _ := readAll(t, a, store.QueueOutbound, "host-1", 2, 5*time.Second); len(got) != 2 {
		t.Fatalf("read %d items, want 2", len(got))
	}
	a.Close()
	got, took := readAll(t, b, store.QueueOutbound, "host-2", 2, 5*time.Second)
	if !sameIDs(got, ids) {
		t.Fatalf("after a clean stop the other replica got %d items in %v, want 2 at once (heartbeat and ClaimAfter are 1m)", len(got), took)
	}
}

// An item of a dead consumer that was XDELed (acked) just before the crash,
// without its XACK, is dropped from the pending list, not handed out.
func TestDeadConsumerAckedItemNotRedelivered(t *testing.T) {
	c, prefix := testenv.Redis(t)
	q := store.QueueOptions{ClaimAfter: time.Minute, Heartbeat: 300 * time.Millisecond}
	dying := goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr()})
	a := replica(t, dying, prefix, q)
	b := replica(t, c, prefix, q)
	ids := enqueueN(t, a, store.QueueIngest, 2)
	if got, _ := readAll(t, a, store.QueueIngest, "host-1", 2, 5*time.Second); len(got) != 2 {
		t.Fatalf("read %d items, want 2", len(got))
	}
	stream := prefix + ":{q:" + store.QueueIngest + "}:stream"
	if err := c.XDel(context.Background(), stream, ids[0]).Err(); err != nil {
		t.Fatal(err)
	}
	dying.Close()
	got, _ := readAll(t, b, store.QueueIngest, "host-2", 2, 3*time.Second)
	if len(got) != 1 || got[0].ID != ids[1] {
		t.Fatalf("took over %v, want only %s (the other was acked)", got, ids[1])
	}
	st, err := b.QueueStats(context.Background(), store.QueueIngest)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 1 {
		t.Errorf("pending = %d after the take-over, want 1 (the half-acked item dropped)", st.Pending)
	}
}

// failing makes every command of a client fail while on: a replica cut off
// from Redis.
type failing struct{ on atomic.Bool }

func (f *failing) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (f *failing) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if f.on.Load() {
			cmd.SetErr(errors.New("cut off"))
			return cmd.Err()
		}
		return next(ctx, cmd)
	}
}
func (f *failing) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if f.on.Load() {
			for _, c := range cmds {
				c.SetErr(errors.New("cut off"))
			}
			return errors.New("cut off")
		}
		return next(ctx, cmds)
	}
}

// A replica that was itself cut off from Redis (a Redis restart, a
// partition) does not take other consumers' items right after: their
// heartbeats may have lapsed for the same reason while they live. Once
// its own heartbeats have been fine for a heartbeat's time, it takes the
// items of consumers still dead.
func TestNoTakeOverRightAfterOwnOutage(t *testing.T) {
	_, prefix := testenv.Redis(t)
	q := store.QueueOptions{ClaimAfter: time.Minute, Heartbeat: time.Second}
	dying := goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr()})
	a := replica(t, dying, prefix, q)
	bc := goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr()})
	t.Cleanup(func() { bc.Close() })
	cut := &failing{}
	bc.AddHook(cut)
	b := replica(t, bc, prefix, q)
	// b reads first (nothing yet): its heartbeats run from now on.
	if ds, err := b.Read(context.Background(), store.QueueIngest, "host-2", 1, 0); err != nil || len(ds) != 0 {
		t.Fatalf("first Read = %v, %v; want nothing", ds, err)
	}
	ids := enqueueN(t, b, store.QueueIngest, 2)
	if got, _ := readAll(t, a, store.QueueIngest, "host-1", 2, 5*time.Second); len(got) != 2 {
		t.Fatalf("read %d items, want 2", len(got))
	}
	dying.Close()
	cut.on.Store(true)
	time.Sleep(q.Heartbeat + 300*time.Millisecond) // b's heartbeats fail; a's lapses
	cut.on.Store(false)
	back := time.Now()
	time.Sleep(q.Heartbeat / 4) // b's next heartbeat succeeds: the outage is over for b
	got, took := readAll(t, b, store.QueueIngest, "host-2", 2, 10*time.Second)
	if !sameIDs(got, ids) {
		t.Fatalf("b got %d items, want the 2 of the dead consumer once it is sure", len(got))
	}
	if el := time.Since(back); el < q.Heartbeat {
		t.Errorf("b took the dead consumer's items %v after its own outage ended, before a heartbeat's time (%v)", el, q.Heartbeat)
	}
	t.Logf("taken %v after b's own outage ended (read for %v)", time.Since(back), took)
}

// On Redis Cluster ($SWITCHBOARD_TEST_REDIS_CLUSTER) the reclaim script
// reads heartbeat keys it builds itself: they must share the queue's slot.
// A live consumer (its name needs escaping) keeps its items; a dead one's
// are taken over.
func TestTakeOverCluster(t *testing.T) {
	c, prefix := testenv.RedisCluster(t) // skips without a cluster
	addrs := strings.Split(os.Getenv("SWITCHBOARD_TEST_REDIS_CLUSTER"), ",")
	q := store.QueueOptions{ClaimAfter: time.Minute, Heartbeat: 400 * time.Millisecond}
	dying := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs})
	a := replica(t, dying, prefix, q)
	live := replica(t, c, prefix, q)
	b := replica(t, c, prefix, q)
	for _, queue := range []string{store.QueueIngest, store.QueueOutbound} {
		held := enqueueN(t, b, queue, 2)
		if got, _ := readAll(t, live, queue, "pod:{live}%-1", 2, 5*time.Second); !sameIDs(got, held) {
			t.Fatalf("%s: the live replica read %d items, want 2", queue, len(got))
		}
		ids := enqueueN(t, b, queue, 3)
		if got, _ := readAll(t, a, queue, "pod:{dead}%-2", 3, 5*time.Second); !sameIDs(got, ids) {
			t.Fatalf("%s: replica a read %d items, want 3", queue, len(got))
		}
	}
	dying.Close()
	for _, queue := range []string{store.QueueIngest, store.QueueOutbound} {
		got, took := readAll(t, b, queue, "host-3", 5, 3*time.Second)
		if len(got) != 3 {
			t.Fatalf("%s: the surviving replica got %d items in %v, want the dead one's 3 and none of the live one's 2", queue, len(got), took)
		}
	}
}
