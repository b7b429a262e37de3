package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/redis"
	"github.com/switchboard-hub/switchboard/store/storetest"
)

func factory(client func(testing.TB) (goredis.UniversalClient, string), autoPipeline bool) storetest.Factory {
	return func(t *testing.T, clock store.Clock, q store.QueueOptions) store.Store {
		c, prefix := client(t)
		s := redis.New(c, redis.Options{Prefix: prefix, Clock: clock, Queue: q, AutoPipeline: autoPipeline})
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// The hub runs with auto-pipelining on; the suite runs both ways, since the
// batching must not change any behaviour.
func TestConformance(t *testing.T) {
	storetest.Run(t, factory(testenv.Redis, true))
}

func TestConformanceNoAutoPipeline(t *testing.T) {
	storetest.Run(t, factory(testenv.Redis, false))
}

// TestConformanceCluster runs the suite on Redis Cluster
// (SWITCHBOARD_TEST_REDIS_CLUSTER): a script or transaction spanning two
// hash slots fails there with CROSSSLOT.
func TestConformanceCluster(t *testing.T) {
	testenv.RedisCluster(t) // skips when no cluster is configured
	storetest.Run(t, factory(testenv.RedisCluster, true))
}

func benchStore(b *testing.B) *redis.Store {
	c, prefix := testenv.Redis(b)
	s := redis.New(c, redis.Options{Prefix: prefix})
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkEnqueueParallel(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	payload := []byte(`{"channel":"sms","provider_id":"SM123","text":"hello"}`)
	b.ReportAllocs()
	b.SetParallelism(8) // I/O bound: 8 goroutines per CPU
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Enqueue(ctx, store.QueueIngest, payload); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkAppendEntryParallel(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	var n atomic.Int64
	at := time.Now()
	b.ReportAllocs()
	b.SetParallelism(8) // I/O bound: 8 goroutines per CPU
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			e := store.Entry{ID: fmt.Sprintf("m_%d", i), CustomerID: fmt.Sprintf("cust-%d", i%100),
				Channel: "sms", Kind: store.KindMessage, Text: "hello", OccurredAt: at.Add(time.Duration(i))}
			if _, created, err := s.AppendEntry(ctx, e); err != nil || !created {
				b.Error(created, err)
				return
			}
		}
	})
}
