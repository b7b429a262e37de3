package redis_test

import (
	"context"
	"testing"
	"time"

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

// later indexes through PutLater (the router's path) and waits for the
// write, so the conformance suite checks that path's results too.
type later struct{ *redis.Index }

func (l later) Put(ctx context.Context, d search.Doc) error {
	wait, err := l.PutLater(d)
	if err != nil {
		return err
	}
	return wait(ctx)
}

func TestConformanceLater(t *testing.T) {
	for name, client := range map[string]func(testing.TB) (goredis.UniversalClient, string){"standalone": testenv.Redis, "cluster": testenv.RedisCluster} {
		t.Run(name, func(t *testing.T) {
			searchtest.Run(t, func(t *testing.T) search.Index {
				c, prefix := client(t)
				ix := redis.New(c, prefix)
				ix.Window = time.Millisecond
				return later{ix}
			})
		})
	}
}
