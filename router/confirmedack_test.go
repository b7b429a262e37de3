package router_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/internal/redisnodes"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
)

// counting records, per ingest item, how often the router was handed it
// and how often it asked to ack it. It changes nothing.
type counting struct {
	store.Store
	mu         sync.Mutex
	deliveries map[string]int
	acks       map[string]int
	ackAhead   bool // an item acked more often than delivered
}

func (c *counting) Read(ctx context.Context, q, consumer string, max int, block time.Duration) ([]store.Delivery, error) {
	ds, err := c.Store.Read(ctx, q, consumer, max, block)
	c.mu.Lock()
	for _, d := range ds {
		c.deliveries[d.ID]++
	}
	c.mu.Unlock()
	return ds, err
}

func (c *counting) Ack(ctx context.Context, q string, ids ...string) error {
	c.mu.Lock()
	for _, id := range ids {
		c.acks[id]++
		if c.acks[id] > c.deliveries[id] {
			c.ackAhead = true
		}
	}
	c.mu.Unlock()
	return c.Store.Ack(ctx, q, ids...)
}

func (c *counting) counts(id string) (deliveries, acks int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deliveries[id], c.acks[id]
}

// With store.redis.min_replicas_ack, a processed message whose ack no
// replica confirms (here: the primary's only replica is gone) is not acked
// and the ack is not retried (a retry could land on a new master that
// never had the worker's writes): the item is handed out again, processed
// again into the same single timeline entry, and acked once a replica is
// back and confirms.
func TestUnconfirmedAckIsProcessedAgain(t *testing.T) {
	if err := redisnodes.Available(); err != nil {
		testenv.Absent(t, "redis-server", err)
	}
	ns := redisnodes.New(t.TempDir())
	t.Cleanup(ns.Stop)
	primary, replicas, err := ns.Replicated(1)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: primary.Addr})
	defer c.Close()
	rs := sbredis.New(c, sbredis.Options{Prefix: "ua", AutoPipeline: true, MinReplicasAck: 1, MinReplicasTimeout: 100 * time.Millisecond,
		Queue: store.QueueOptions{ClaimAfter: 300 * time.Millisecond}})
	defer rs.Close()
	st := &counting{Store: rs, deliveries: map[string]int{}, acks: map[string]int{}}
	h := newHub(t, st)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Accepted while the replica is there (the enqueue's WAIT confirms).
	m := h.msg("trusted-api", "", "needs a replica", "email:replica@example.com")
	if _, err := h.in.Deliver(ctx, m); err != nil {
		t.Fatal(err)
	}
	replicas[0].Kill()
	done := make(chan struct{})
	go func() { h.rt.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	var item string
	deadline := time.Now().Add(30 * time.Second)
	for {
		st.mu.Lock()
		for id, n := range st.deliveries {
			if n >= 3 {
				item = id
			}
		}
		st.mu.Unlock()
		if item != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the item was not handed out again while no replica confirmed its ack: %v", st.deliveries)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := hubtest.Queued(t, st); n != 1 {
		t.Fatalf("without a replica the processed item must stay queued: %d queued", n)
	}
	if tl := hubtest.Timeline(t, st, "email:replica@example.com"); len(tl) != 1 || tl[0].Text != "needs a replica" {
		t.Fatalf("timeline while the ack is unconfirmed: %v", tl)
	}

	// A replica again: the next ack is confirmed and the item is done.
	host, port, _ := net.SplitHostPort(primary.Addr)
	if _, err := ns.Start("--replicaof", host, port); err != nil {
		t.Fatal(err)
	}
	for hubtest.Queued(t, st) != 0 {
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatal("the item was not acked once a replica was back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if tl := hubtest.Timeline(t, st, "email:replica@example.com"); len(tl) != 1 {
		t.Fatalf("processed %v times, the timeline must hold it once: %v", st.deliveries[item], tl)
	}
	d, a := st.counts(item)
	st.mu.Lock()
	ahead := st.ackAhead
	st.mu.Unlock()
	if ahead {
		t.Fatalf("an unconfirmed ack was retried without the item being handed out again (%d deliveries, %d acks)", d, a)
	}
	t.Logf("item %s: %d deliveries, %d acks until a replica confirmed", item, d, a)
}
