package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/internal/redisnodes"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/redis"
)

func nodes(t *testing.T) *redisnodes.Set {
	t.Helper()
	if err := redisnodes.Available(); err != nil {
		testenv.Absent(t, "redis-server", err)
	}
	s := redisnodes.New(t.TempDir())
	t.Cleanup(s.Stop)
	return s
}

// With min_replicas_ack an acknowledged item is on the replica the moment
// Enqueue returns; with the replica gone, Enqueue fails with
// ErrNotReplicated instead of acknowledging.
func TestMinReplicasAckStandalone(t *testing.T) {
	ns := nodes(t)
	primary, replicas, err := ns.Replicated(1)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: primary.Addr})
	defer c.Close()
	s := redis.New(c, redis.Options{Prefix: "wait", AutoPipeline: true, MinReplicasAck: 1, MinReplicasTimeout: time.Second})
	defer s.Close()
	ctx := context.Background()
	rc := replicas[0].Client()
	defer rc.Close()
	for i := 0; i < 20; i++ {
		id, err := s.Enqueue(ctx, store.QueueIngest, []byte("hello"))
		if err != nil {
			t.Fatalf("enqueue %d with a live replica: %v", i, err)
		}
		// No sleep: WAIT returned, so the replica has it now.
		got, err := rc.XRange(ctx, "wait:{q:ingest}:stream", id, id).Result()
		if err != nil || len(got) != 1 {
			t.Fatalf("item %s acknowledged but not on the replica: %v %v", id, got, err)
		}
	}

	replicas[0].Kill()
	s2 := redis.New(c, redis.Options{Prefix: "wait", MinReplicasAck: 1, MinReplicasTimeout: 50 * time.Millisecond})
	defer s2.Close()
	_, err = s2.Enqueue(ctx, store.QueueIngest, []byte("alone"))
	if !errors.Is(err, store.ErrNotReplicated) {
		t.Fatalf("enqueue with no replica: want ErrNotReplicated, got %v", err)
	}
	// Without the setting the same master acknowledges at once.
	s3 := redis.New(c, redis.Options{Prefix: "wait"})
	defer s3.Close()
	if _, err := s3.Enqueue(ctx, store.QueueIngest, []byte("unchecked")); err != nil {
		t.Fatal(err)
	}
}

// On a Cluster the WAIT runs on the connection to the stream's master
// (a keyless WAIT sent to another node would not cover the write), and a
// planned failover (CLUSTER FAILOVER) loses no acknowledged item.
func TestMinReplicasAckCluster(t *testing.T) {
	ns := nodes(t)
	cl, err := ns.Cluster(3, 1, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: cl.Addrs()})
	defer c.Close()
	s := redis.New(c, redis.Options{Prefix: "wait", AutoPipeline: true, MinReplicasAck: 1, MinReplicasTimeout: time.Second})
	defer s.Close()
	ctx := context.Background()
	stream := "wait:{q:ingest}:stream"
	var ids []string
	for i := 0; i < 20; i++ {
		id, err := s.Enqueue(ctx, store.QueueIngest, []byte("hello"))
		if err != nil {
			t.Fatalf("enqueue %d: %v", i, err)
		}
		ids = append(ids, id)
	}
	master, err := cl.MasterOfKey(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	replica := cl.ReplicaOf(ctx, master)
	if replica == nil {
		t.Fatalf("no replica of %s", master)
	}
	rcl := replica.Client()
	defer rcl.Close()
	rc := rcl.Conn() // READONLY holds for one connection: reads on a Cluster replica
	defer rc.Close()
	if err := rc.ReadOnly(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := rc.XLen(ctx, stream).Result(); err != nil || n != int64(len(ids)) {
		t.Fatalf("replica %s has %d of %d acknowledged items (%v)", replica.Addr, n, len(ids), err)
	}
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := cl.Failover(fctx, replica.Addr); err != nil {
		t.Fatal(err)
	}
	// The store keeps acknowledging once the client follows the new master.
	deadline := time.Now().Add(10 * time.Second)
	for {
		id, err := s.Enqueue(ctx, store.QueueIngest, []byte("after"))
		if err == nil {
			ids = append(ids, id)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no enqueue acknowledged 10s after the failover: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n, err := c.XLen(ctx, stream).Result(); err != nil || n != int64(len(ids)) {
		t.Fatalf("after the failover the stream has %d of %d acknowledged items (%v)", n, len(ids), err)
	}
}
