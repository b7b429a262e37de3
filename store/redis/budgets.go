package redis

import (
	"context"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// A budget is a sorted set {budget:KEY}:uses of uses scored by the store
// clock's time in milliseconds; it expires a window after its latest use.

// takeBudget records a use unless limit others are within the window.
// KEYS[1] the set. ARGV[1] use, ARGV[2] now (ms), ARGV[3] window (ms),
// ARGV[4] limit. Returns 1 when taken (or taken before), 0 when refused.
var takeBudget = goredis.NewScript(`
local now = tonumber(ARGV[2])
local win = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], win)
return 1
`)

func (k keys) budget(key string) string { return k.key("budget:"+esc(key), "uses") }

func (s *Store) TakeBudget(ctx context.Context, key, use string, limit int, window time.Duration) (_ bool, err error) {
	defer opErr(&err, "take budget", key)
	if limit <= 0 {
		return false, nil
	}
	win := window.Milliseconds()
	if win < 1 {
		win = 1
	}
	n, err := takeBudget.Run(ctx, s.c, []string{s.k.budget(key)}, use, strconv.FormatInt(s.now().UnixMilli(), 10),
		strconv.FormatInt(win, 10), strconv.Itoa(limit)).Int()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}
