package redis_test

import (
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/search"
	"github.com/switchboard-hub/switchboard/search/redis"
	"github.com/switchboard-hub/switchboard/search/searchtest"
)

func factory(client func(testing.TB) (goredis.UniversalClient, string)) searchtest.Factory {
	return func(t *testing.T) search.Index {
		c, prefix := client(t)
		return redis.New(c, prefix)
	}
}

func TestConformance(t *testing.T) { searchtest.Run(t, factory(testenv.Redis)) }

// TestConformanceCluster: every script touches one hash slot (CROSSSLOT
// otherwise).
func TestConformanceCluster(t *testing.T) {
	testenv.RedisCluster(t)
	searchtest.Run(t, factory(testenv.RedisCluster))
}
