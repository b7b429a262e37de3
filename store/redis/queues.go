package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// A queue is a stream {q:NAME}:stream with one consumer group "hub"; each
// item has fields p (payload) and t (enqueued_at, ns). Acked items are
// XACKed and XDELed, so XLEN is the number of unacked items. Every pending
// (delivered, unacked) item has a due time in the ZSET {q:NAME}:due (ms of
// the injected clock): now+ClaimAfter when handed out, now+backoff after a
// Retry. Read claims due items first (XCLAIM, which counts the delivery),
// then reads new ones; both in one script, so no item is ever pending
// without a due time. Attempts is the stream's delivery count. Dead items
// move to {q:NAME}:dead with fields p, t, src, err, n (attempts), at (ns).

func ms(t time.Time) int64 { return t.UnixMilli() }

func (s *Store) ensureGroup(ctx context.Context, queue string, force bool) error {
	if !force {
		if _, ok := s.group.Load(queue); ok {
			return nil
		}
	}
	err := s.c.XGroupCreateMkStream(ctx, s.k.queueStream(queue), queueGroup, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return err
	}
	s.group.Store(queue, struct{}{})
	return nil
}

// withGroup runs op, re-creating the consumer group once if Redis says it
// is missing (the stream was deleted behind our back).
func (s *Store) withGroup(ctx context.Context, queue string, op func() error) error {
	if err := s.ensureGroup(ctx, queue, false); err != nil {
		return err
	}
	err := op()
	if err != nil && strings.Contains(err.Error(), "NOGROUP") {
		if err := s.ensureGroup(ctx, queue, true); err != nil {
			return err
		}
		err = op()
	}
	return err
}

func (s *Store) Enqueue(ctx context.Context, queue string, payload []byte) (string, error) {
	var id string
	err := s.withGroup(ctx, queue, func() error {
		var err error
		id, err = s.c.XAdd(ctx, &goredis.XAddArgs{
			Stream: s.k.queueStream(queue),
			Values: []any{"p", payload, "t", strconv.FormatInt(s.now().UnixNano(), 10)},
		}).Result()
		return err
	})
	return id, err
}

// Read runs the read script; when it finds nothing and block > 0 it waits
// for new items (XREAD BLOCK after the group's last delivered id) in slices
// of at most 200ms — so due redeliveries and a moved fake clock are noticed
// — and tries again until block is used up.
func (s *Store) Read(ctx context.Context, queue, consumer string, max int, block time.Duration) ([]store.Delivery, error) {
	if max <= 0 {
		max = 1
	}
	deadline := time.Now().Add(block)
	for {
		var r []any
		err := s.withGroup(ctx, queue, func() error {
			var err error
			r, err = queueRead.Run(ctx, s.c, []string{s.k.queueStream(queue), s.k.queueDue(queue)},
				consumer, max, ms(s.now()), s.q.ClaimAfter.Milliseconds()).Slice()
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(r) < 2 {
			return nil, fmt.Errorf("store/redis: unexpected read reply %v", r)
		}
		if len(r) > 2 {
			return deliveries(r[2:])
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil, nil
		}
		wait = min(wait, 200*time.Millisecond)
		if nd, _ := r[1].(string); nd != "" {
			if due, err := strconv.ParseFloat(nd, 64); err == nil {
				untilDue := time.Duration(int64(due)-ms(s.now())) * time.Millisecond
				wait = max2(min(wait, untilDue), time.Millisecond)
			}
		}
		last, _ := r[0].(string)
		err = s.c.XRead(ctx, &goredis.XReadArgs{
			Streams: []string{s.k.queueStream(queue), last},
			Count:   1,
			Block:   max2(wait, time.Millisecond),
		}).Err()
		if err != nil && !isNil(err) {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

func max2(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

func deliveries(items []any) ([]store.Delivery, error) {
	out := make([]store.Delivery, 0, len(items))
	for _, it := range items {
		f, ok := it.([]any)
		if !ok || len(f) != 4 {
			return nil, fmt.Errorf("store/redis: unexpected read item %v", it)
		}
		id, _ := f[0].(string)
		p, _ := f[1].(string)
		t, _ := f[2].(string)
		n, _ := f[3].(int64)
		out = append(out, store.Delivery{ID: id, Payload: []byte(p), Attempts: int(n), EnqueuedAt: parseNanos(t)})
	}
	return out, nil
}

func (s *Store) Ack(ctx context.Context, queue string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	err := queueAck.Run(ctx, s.c, []string{s.k.queueStream(queue), s.k.queueDue(queue)}, args...).Err()
	if err != nil && strings.Contains(err.Error(), "NOGROUP") {
		return nil // nothing was ever delivered from this queue
	}
	return err
}

// backoff is RetryBackoff doubled per attempt, capped at ClaimAfter.
func (s *Store) backoff(attempts int) time.Duration {
	d := s.q.RetryBackoff
	for i := 1; i < attempts && d < s.q.ClaimAfter; i++ {
		d *= 2
	}
	return min(d, s.q.ClaimAfter)
}

// Retry reschedules the item (ZADD XX on its due time: a no-op when it was
// acked meanwhile) or, at MaxAttempts, moves it to the dead letters.
func (s *Store) Retry(ctx context.Context, queue string, d store.Delivery, reason string) (bool, error) {
	now := s.now()
	if d.Attempts >= s.q.MaxAttempts {
		err := queueDeadLetter.Run(ctx, s.c,
			[]string{s.k.queueStream(queue), s.k.queueDead(queue), s.k.queueDue(queue)},
			d.ID, reason, d.Attempts, now.UnixNano()).Err()
		if err != nil && !isNil(err) && !strings.Contains(err.Error(), "NOGROUP") {
			return false, err
		}
		return true, nil
	}
	due := ms(now.Add(s.backoff(d.Attempts)))
	err := s.c.ZAddXX(ctx, s.k.queueDue(queue), goredis.Z{Score: float64(due), Member: d.ID}).Err()
	return false, err
}

func (s *Store) QueueStats(ctx context.Context, queue string) (store.QueueStats, error) {
	r, err := queueStats.Run(ctx, s.c, []string{s.k.queueStream(queue), s.k.queueDead(queue)}).Slice()
	if err != nil {
		return store.QueueStats{}, err
	}
	if len(r) != 4 {
		return store.QueueStats{}, fmt.Errorf("store/redis: unexpected stats reply %v", r)
	}
	st := store.QueueStats{Queue: queue}
	st.Length, _ = r[0].(int64)
	st.Pending, _ = r[1].(int64)
	st.Dead, _ = r[2].(int64)
	if t, _ := r[3].(string); t != "" {
		if age := s.now().Sub(parseNanos(t)); age > 0 {
			st.OldestAge = age
		}
	}
	return st, nil
}

func (s *Store) DeadLetters(ctx context.Context, queue string, limit int) ([]store.DeadLetter, error) {
	var msgs []goredis.XMessage
	var err error
	if limit > 0 {
		msgs, err = s.c.XRangeN(ctx, s.k.queueDead(queue), "-", "+", int64(limit)).Result()
	} else {
		msgs, err = s.c.XRange(ctx, s.k.queueDead(queue), "-", "+").Result()
	}
	if err != nil {
		return nil, err
	}
	out := make([]store.DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		str := func(k string) string { v, _ := m.Values[k].(string); return v }
		n, _ := strconv.Atoi(str("n"))
		out = append(out, store.DeadLetter{
			ID: m.ID, Queue: queue, Payload: []byte(str("p")), Attempts: n, LastError: str("err"),
			DeadAt: parseNanos(str("at")), EnqueuedAt: parseNanos(str("t")),
		})
	}
	return out, nil
}

func (s *Store) ReplayDead(ctx context.Context, queue, id string) (int, error) {
	if id != "" && !validStreamID(id) {
		return 0, nil
	}
	var n int
	err := s.withGroup(ctx, queue, func() error {
		var err error
		n, err = queueReplay.Run(ctx, s.c, []string{s.k.queueStream(queue), s.k.queueDead(queue)}, id).Int()
		return err
	})
	return n, err
}

func validStreamID(id string) bool {
	a, b, ok := strings.Cut(id, "-")
	if !ok {
		return false
	}
	_, err1 := strconv.ParseUint(a, 10, 64)
	_, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil
}
