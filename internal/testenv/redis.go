package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Required reports whether missing servers must fail tests instead of skipping them.
func Required() bool { return os.Getenv("SWITCHBOARD_REQUIRE_SERVERS") == "1" }

// Absent skips (or, when servers are required, fails) the test.
func Absent(t testing.TB, what string, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("%s is required (SWITCHBOARD_REQUIRE_SERVERS=1) but not reachable: %v", what, err)
	}
	t.Skipf("%s not reachable (%v); set it up with .ci/run or see PEERS.md", what, err)
}

// RedisAddr is the standalone Redis tests use: $SWITCHBOARD_TEST_REDIS or 127.0.0.1:6379.
func RedisAddr() string {
	if a := os.Getenv("SWITCHBOARD_TEST_REDIS"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// Redis returns a client for the standalone test Redis and a unique key
// prefix; every key under the prefix is deleted when the test ends.
func Redis(t testing.TB) (goredis.UniversalClient, string) {
	t.Helper()
	c := goredis.NewUniversalClient(&goredis.UniversalOptions{Addrs: []string{RedisAddr()}, PoolSize: 256})
	return ready(t, c, "Redis at "+RedisAddr())
}

// RedisCluster returns a client for the test Redis Cluster
// ($SWITCHBOARD_TEST_REDIS_CLUSTER, comma-separated seed addresses).
func RedisCluster(t testing.TB) (goredis.UniversalClient, string) {
	t.Helper()
	addrs := os.Getenv("SWITCHBOARD_TEST_REDIS_CLUSTER")
	if addrs == "" {
		Absent(t, "Redis Cluster (SWITCHBOARD_TEST_REDIS_CLUSTER)", nil)
	}
	c := goredis.NewUniversalClient(&goredis.UniversalOptions{Addrs: strings.Split(addrs, ","), IsClusterMode: true})
	return ready(t, c, "Redis Cluster at "+addrs)
}

func ready(t testing.TB, c goredis.UniversalClient, what string) (goredis.UniversalClient, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		Absent(t, what, err)
	}
	prefix := "sbtest-" + RandomID()
	t.Cleanup(func() {
		DeletePrefix(c, prefix)
		c.Close()
	})
	return c, prefix
}

// DeletePrefix removes every key starting with prefix (on every master of a cluster).
func DeletePrefix(c goredis.UniversalClient, prefix string) {
	ctx := context.Background()
	del := func(ctx context.Context, n *goredis.Client) error {
		iter := n.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			n.Del(ctx, iter.Val())
		}
		return iter.Err()
	}
	if cc, ok := c.(*goredis.ClusterClient); ok {
		_ = cc.ForEachMaster(ctx, del)
		return
	}
	if n, ok := c.(*goredis.Client); ok {
		_ = del(ctx, n)
	}
}

// RandomID is a short random hex string.
func RandomID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// RedisSentinel returns the address of a Redis Sentinel watching the
// standalone test Redis ($SWITCHBOARD_TEST_REDIS_SENTINEL) and the name of
// the master it watches ($SWITCHBOARD_TEST_REDIS_SENTINEL_MASTER, default
// sbmaster), once it answers for that master.
func RedisSentinel(t testing.TB) (addr, master string) {
	t.Helper()
	addr = os.Getenv("SWITCHBOARD_TEST_REDIS_SENTINEL")
	if addr == "" {
		Absent(t, "Redis Sentinel (SWITCHBOARD_TEST_REDIS_SENTINEL)", nil)
	}
	master = os.Getenv("SWITCHBOARD_TEST_REDIS_SENTINEL_MASTER")
	if master == "" {
		master = "sbmaster"
	}
	s := goredis.NewSentinelClient(&goredis.Options{Addr: addr})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := s.GetMasterAddrByName(ctx, master).Result(); err != nil {
		Absent(t, "Redis Sentinel at "+addr+" for master "+master, err)
	}
	return addr, master
}
