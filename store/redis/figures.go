package redis

import (
	"context"
	"fmt"
	json "github.com/goccy/go-json"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// Adoption figures (issue 16): per cell (channel, day, phase) a hash of
// counters and a HyperLogLog of senders, indexed by a lex ZSET of cells;
// all of one channel in one slot. One pipeline per message.

func (s *Store) AddFigures(ctx context.Context, f store.FigureAdd) (err error) {
	defer opErr(&err, "add figures", f.Channel, f.Day, f.Phase)
	id := f.ID
	if id == "" {
		// Still one id for the client's own retries of this call.
		id = store.NewWriteID()
	}
	keys := []string{s.k.figureCells(f.Channel), s.k.figureCell(f.Channel, f.Day, f.Phase),
		s.k.figureSenders(f.Channel, f.Day, f.Phase), s.k.figureWrite(f.Channel, id)}
	args := make([]any, 0, 3+2*len(f.Counts)+len(f.Senders)+1)
	args = append(args, figureWriteTTL/time.Second, f.Day+"|"+f.Phase, len(f.Counts))
	for n, d := range f.Counts {
		args = append(args, n, d)
	}
	for _, x := range f.Senders {
		args = append(args, x)
	}
	if f.Sender != "" {
		args = append(args, f.Sender)
	}
	return addFigures.Run(ctx, s.c, keys, args...).Err()
}

// figureWriteTTL is how long AddFigures remembers a write id: a replay of
// the same id within it counts nothing (store.FigureAdd.ID).
const figureWriteTTL = 10 * time.Minute

// addFigures applies one FigureAdd once per write id: go-redis retries a
// command whose reply timed out, and HINCRBY is not idempotent.
// KEYS[1] cells ZSET, KEYS[2] cell hash, KEYS[3] senders HLL, KEYS[4] the
// write id's marker. ARGV[1] marker TTL (s), ARGV[2] cell member, ARGV[3]
// n, then n name/delta pairs, then senders. Returns 1 applied, 0 replay.
var addFigures = goredis.NewScript(`
if not redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 0, ARGV[2])
local n = tonumber(ARGV[3])
for i = 0, n - 1 do
  redis.call('HINCRBY', KEYS[2], ARGV[4 + 2*i], ARGV[5 + 2*i])
end
local first = 4 + 2*n
for i = first, #ARGV, 1000 do
  redis.call('PFADD', KEYS[3], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
return 1
`)

func (s *Store) ReadFigures(ctx context.Context, channel, fromDay, toDay string) (_ []store.DayFigures, err error) {
	defer opErr(&err, "read figures", channel)
	cells, err := s.c.ZRangeByLex(ctx, s.k.figureCells(channel), &goredis.ZRangeBy{Min: "[" + fromDay + "|", Max: "[" + toDay + "|\xff"}).Result()
	if err != nil || len(cells) == 0 {
		return nil, err
	}
	cmds := make([]*goredis.MapStringStringCmd, len(cells))
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, c := range cells {
			day, phase, _ := strings.Cut(c, "|")
			cmds[i] = p.HGetAll(ctx, s.k.figureCell(channel, day, phase))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]store.DayFigures, 0, len(cells))
	for i, c := range cells {
		day, phase, _ := strings.Cut(c, "|")
		d := store.DayFigures{Day: day, Phase: phase, Counts: map[string]int64{}}
		for n, v := range cmds[i].Val() {
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, err
			}
			d.Counts[n] = x
		}
		out = append(out, d)
	}
	return out, nil
}

func (s *Store) CountSenders(ctx context.Context, channel string, cells []store.FigureDayPhase) (_ int64, err error) {
	defer opErr(&err, "count senders", channel)
	if len(cells) == 0 {
		return 0, nil
	}
	keys := make([]string, len(cells))
	for i, c := range cells {
		keys[i] = s.k.figureSenders(channel, c.Day, c.Phase)
	}
	return s.c.PFCount(ctx, keys...).Result()
}

func (s *Store) SeenOn(ctx context.Context, customer, channel string) (first bool, before []string, err error) {
	defer opErr(&err, "seen on", channel)
	k := s.k.customerChannels(customer)
	var added *goredis.IntCmd
	var members *goredis.StringSliceCmd
	if _, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		added = p.SAdd(ctx, k, channel)
		members = p.SMembers(ctx, k)
		return nil
	}); err != nil {
		return false, nil, err
	}
	for _, m := range members.Val() {
		if m != channel {
			before = append(before, m)
		}
	}
	return added.Val() == 1, before, nil
}

func (s *Store) AppendPhaseChange(ctx context.Context, c store.PhaseChange) (err error) {
	defer opErr(&err, "append phase change", c.Channel)
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.c.RPush(ctx, s.k.phaseHistory(c.Channel), raw).Err()
}

func (s *Store) ListPhaseChanges(ctx context.Context, channel string) (_ []store.PhaseChange, err error) {
	defer opErr(&err, "list phase changes", channel)
	raws, err := s.c.LRange(ctx, s.k.phaseHistory(channel), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	out := make([]store.PhaseChange, 0, len(raws))
	for _, r := range raws {
		var c store.PhaseChange
		if err := json.Unmarshal([]byte(r), &c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (s *Store) FigureCells(ctx context.Context, channel, fromDay, toDay string) (_ []store.FigureDayPhase, err error) {
	defer opErr(&err, "figure cells", channel)
	cells, err := s.c.ZRangeByLex(ctx, s.k.figureCells(channel), &goredis.ZRangeBy{Min: "[" + fromDay + "|", Max: "[" + toDay + "|\xff"}).Result()
	if err != nil {
		return nil, err
	}
	out := make([]store.FigureDayPhase, len(cells))
	for i, c := range cells {
		out[i].Day, out[i].Phase, _ = strings.Cut(c, "|")
	}
	return out, nil
}

func (s *Store) SumFigures(ctx context.Context, channel string, cells []store.FigureDayPhase, perCell []string) (_ map[string]int64, _ []map[string]int64, err error) {
	defer opErr(&err, "sum figures", channel)
	sum := map[string]int64{}
	each := make([]map[string]int64, len(cells))
	if len(cells) == 0 {
		return sum, each, nil
	}
	keys := make([]string, len(cells))
	for i, c := range cells {
		keys[i] = s.k.figureCell(channel, c.Day, c.Phase)
	}
	args := make([]any, len(perCell))
	for i, n := range perCell {
		args[i] = n
	}
	res, err := sumFigures.Run(ctx, s.c, keys, args...).Slice()
	if err != nil {
		return nil, nil, err
	}
	if len(res) != len(cells)+1 {
		return nil, nil, fmt.Errorf("sum figures: %d results for %d cells", len(res), len(cells))
	}
	flat, _ := res[0].([]any)
	for i := 0; i+1 < len(flat); i += 2 {
		n, _ := flat[i].(string)
		v, _ := flat[i+1].(int64)
		sum[n] += v
	}
	for i := range cells {
		each[i] = map[string]int64{}
		per, _ := res[i+1].([]any)
		for j, n := range perCell {
			if j < len(per) {
				v, _ := per[j].(int64)
				each[i][n] = v
			}
		}
	}
	return sum, each, nil
}
