package redis_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/redis"
)

// The Sentinel failover split, step by step on real servers: the replica
// is promoted while the old master still takes the worker's writes, the
// worker's timeline write lands on the old master and its ack then goes
// to the new one. Without a confirmed ack the item was done on the new
// master with its work gone. With min_replicas_ack the ack is refused (no
// replica of the new master has confirmed anything), the item is handed
// out again and processed on the new master, and acked once a replica
// is back in sync.
func TestAckConfirmedAcrossMasterSwitch(t *testing.T) {
	ns := nodes(t)
	old, replicas, err := ns.Replicated(1)
	if err != nil {
		t.Fatal(err)
	}
	promoted := replicas[0]
	ctx := context.Background()
	q := store.QueueOptions{ClaimAfter: 300 * time.Millisecond}
	opts := redis.Options{Prefix: "split", AutoPipeline: true, MinReplicasAck: 1, MinReplicasTimeout: 200 * time.Millisecond, Queue: q}

	co := goredis.NewClient(&goredis.Options{Addr: old.Addr})
	defer co.Close()
	so := redis.New(co, opts)
	defer so.Close()

	// With the replica in sync an ack is confirmed and takes the item.
	id0, err := so.Enqueue(ctx, store.QueueIngest, []byte("before"))
	if err != nil {
		t.Fatal(err)
	}
	if ds, err := so.Read(ctx, store.QueueIngest, "w1", 1, time.Second); err != nil || len(ds) != 1 || ds[0].ID != id0 {
		t.Fatalf("read: %v %v", ds, err)
	}
	if err := so.Ack(ctx, store.QueueIngest, id0); err != nil {
		t.Fatalf("ack with a replica in sync: %v", err)
	}

	// A message accepted (WAIT confirmed it on the replica) and handed to
	// a worker.
	id, err := so.Enqueue(ctx, store.QueueIngest, []byte("split"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := so.Read(ctx, store.QueueIngest, "w1", 1, time.Second)
	if err != nil || len(ds) != 1 || ds[0].ID != id {
		t.Fatalf("read: %v %v", ds, err)
	}
	// The Sentinels promote the replica; the old master keeps taking
	// writes from clients that have not heard +switch-master yet.
	pc := promoted.Client()
	defer pc.Close()
	if err := pc.Do(ctx, "replicaof", "no", "one").Err(); err != nil {
		t.Fatal(err)
	}
	// The worker's timeline write goes to the old master...
	if err := co.Set(ctx, "split:entry", "the message", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// ...then the client switches, and the ack goes to the new master,
	// which never had that write and has no replica yet.
	cn := goredis.NewClient(&goredis.Options{Addr: promoted.Addr})
	defer cn.Close()
	sn := redis.New(cn, opts)
	defer sn.Close()
	err = sn.Ack(ctx, store.QueueIngest, id)
	if !errors.Is(err, store.ErrNotReplicated) {
		t.Fatalf("ack on a new master without a replica: want ErrNotReplicated, got %v", err)
	}
	// The item was not done: the new master hands it out again, and the
	// worker's write is done again there.
	var again []store.Delivery
	deadline := time.Now().Add(10 * time.Second)
	for len(again) == 0 && time.Now().Before(deadline) {
		if again, err = sn.Read(ctx, store.QueueIngest, "w2", 1, 500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if len(again) != 1 || again[0].ID != id || string(again[0].Payload) != "split" {
		t.Fatalf("the unconfirmed item was not handed out again on the new master: %v", again)
	}
	if err := cn.Set(ctx, "split:entry", "the message", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// The Sentinels make the old master a replica of the new one; once it
	// is in sync the ack is confirmed and the item is gone.
	host, port, _ := net.SplitHostPort(promoted.Addr)
	if err := co.Do(ctx, "replicaof", host, port).Err(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(15 * time.Second)
	for {
		err = sn.Ack(ctx, store.QueueIngest, id)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrNotReplicated) || time.Now().After(deadline) {
			t.Fatalf("ack once the old master replicates the new one: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n, err := cn.XLen(ctx, "split:{q:ingest}:stream").Result(); err != nil || n != 0 {
		t.Fatalf("after the confirmed ack the stream still has %d items (%v)", n, err)
	}
	if v, err := cn.Get(ctx, "split:entry").Result(); err != nil || v != "the message" {
		t.Fatalf("the worker's write on the new master: %q %v", v, err)
	}

	// The outbound queue's acks are not held back (an outbound item
	// processed again would be sent again): no replica is needed.
	promoted2 := goredis.NewClient(&goredis.Options{Addr: promoted.Addr})
	defer promoted2.Close()
	old.Kill()
	plain := redis.New(promoted2, redis.Options{Prefix: "split"})
	defer plain.Close()
	oid, err := plain.Enqueue(ctx, store.QueueOutbound, []byte("reply"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sn.Read(ctx, store.QueueOutbound, "w2", 1, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := sn.Ack(ctx, store.QueueOutbound, oid); err != nil {
		t.Fatalf("outbound ack without a replica: %v", err)
	}
}

// A quarantined message is acknowledged to its sender too (the web form's
// spam check, the email channel's own bounced mail): with min_replicas_ack
// it is kept only once a replica has it, and refused with ErrNotReplicated
// when none confirms.
func TestQuarantineConfirmed(t *testing.T) {
	ns := nodes(t)
	primary, replicas, err := ns.Replicated(1)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: primary.Addr})
	defer c.Close()
	s := redis.New(c, redis.Options{Prefix: "qc", AutoPipeline: true, MinReplicasAck: 1, MinReplicasTimeout: 200 * time.Millisecond})
	defer s.Close()
	ctx := context.Background()
	rc := replicas[0].Client()
	defer rc.Close()
	q := store.QuarantineItem{ID: "q1", Channel: "form", Reason: "spam score", Payload: []byte(`{"text":"hi"}`)}
	if err := s.PutQuarantine(ctx, q); err != nil {
		t.Fatalf("quarantine with a replica: %v", err)
	}
	if ok, err := rc.HExists(ctx, "qc:{quarantine}:items", "q1").Result(); err != nil || !ok {
		t.Fatalf("quarantined item acknowledged but not on the replica: %v %v", ok, err)
	}
	replicas[0].Kill()
	q.ID = "q2"
	if err := s.PutQuarantine(ctx, q); !errors.Is(err, store.ErrNotReplicated) {
		t.Fatalf("quarantine without a replica: want ErrNotReplicated, got %v", err)
	}
}
