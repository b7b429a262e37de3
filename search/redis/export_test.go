package redis

import (
	"context"
	"encoding/json"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/search"
)

// Pending is how many Puts wait for the next flush (tests).
func (x *Index) Pending() int {
	x.batch.mu.Lock()
	defer x.batch.mu.Unlock()
	return len(x.batch.pending)
}

// ShardOf is the shard an older version wrote customerID's documents to.
func ShardOf(customerID string) int { return shardOf(customerID) }

// legacyPut is the put script of the version before group commits.
var legacyPut = goredis.NewScript(`
local old = redis.call('GET', KEYS[1])
if old then
  if old == ARGV[1] then return 0 end
  return 1
end
for i = 3, #KEYS do redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3]) end
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1])
return 2
`)

// PutAsOlderVersion writes d as the version before issue 23 did: in its
// customer's shard, whatever the server.
func (x *Index) PutAsOlderVersion(ctx context.Context, d search.Doc) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return legacyPut.Run(ctx, x.c, x.keysOf(shardOf(d.CustomerID), d), string(raw), score(d.At), d.ID).Err()
}
