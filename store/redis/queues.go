package redis

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// A queue is a stream {q:NAME}:stream with one consumer group "hub"; each
// item has fields p (payload) and t (enqueued_at, ns). Acked items are
// XDELed and XACKed, so XLEN is the number of unacked items. New items are
// read with a plain XREADGROUP and acked with XDEL+XACK: the hot path runs
// no script and keeps no per-item bookkeeping in Redis (the process keeps
// the ids it holds: see Lost replies below). Redelivery is the reclaim
// script's (queueReclaim), which Read runs when something may be due: an
// item Retry'd has a due time in the ZSET {q:NAME}:due (ms of the injected
// clock); an item handed out and never acked nor retried (its consumer
// crashed or hung) is claimed once Redis has seen it idle for ClaimAfter.
// Attempts is the stream's delivery count. Dead items move to {q:NAME}:dead
// with fields p, t, src, err, n (attempts), at (ns).
//
// Heartbeats: each process reads as its own consumer (host-pid, so a
// restarted process is a new consumer). Before a consumer first reads from
// a queue, the store sets its heartbeat {q:NAME}:alive:CONSUMER with a TTL
// of QueueOptions.Heartbeat, and refreshes it every Heartbeat/5 until Close
// (which deletes it). The reclaim script hands out at once the pending
// items of every consumer whose heartbeat is gone (its process died or
// lost Redis for longer than Heartbeat): a crash costs about Heartbeat, not
// ClaimAfter. A live consumer's items are taken only after ClaimAfter as
// before, so a slow but alive worker is not robbed.
//
// Lost replies: a read (XREADGROUP or the reclaim script) may run in Redis
// and its reply never reach the process (Redis killed right after
// persisting it, the connection cut while the reply was on its way); the
// client may even retry the command on a new connection and answer with
// the next items, so the process sees no error at all. The items are then
// pending for a live consumer, which nobody would take before ClaimAfter.
// So the store remembers which items it handed out and has not seen acked
// or retried (held, per queue: a map entry per item in flight), and a
// consumer's reads take back its own pending entries that it does not
// hold (orphans): those idle for Heartbeat, looked for every Heartbeat/2,
// and after a read that failed, all of them at once. Orphans are claimed
// again for the consumer (counting a delivery) and handed out first, by a
// script that claims an entry only if it is still pending for this
// consumer as XPENDING saw it (same owner, same delivery count): one that
// another replica claimed in between (after an outage longer than
// Heartbeat, others take this consumer's items) stays with it. An item
// still being worked on is held, so it is never handed out twice this way.
//
// An item stays held until this process acks or retries it, or until
// ClaimAfter has passed since it was handed out: by then the reclaim
// script may hand it out again anyway (to another replica, or to this
// process, which holds it again). So an item whose Ack failed and is not
// acked again (store.ErrNotReplicated: the caller leaves it pending on
// purpose) is held for ClaimAfter, not forever, and the orphan look asks
// XPENDING for at most maxOrphanScan entries past what it wants.

// reclaimState says when Read should next run the reclaim script for one
// queue: at the next due time this process knows of (its own Retries and
// the earliest in the ZSET at the last run), and at least every
// reclaimEvery, for other replicas' retries and abandoned items.
type reclaimState struct {
	mu      sync.Mutex
	last    time.Time // wall clock of the last run
	nextDue int64     // ms, injected clock; 0 = none known
	cursor  string    // where the XAUTOCLAIM scan resumes ("" = the start)

	// alive is the consumers this process reads the queue with: their
	// heartbeats are kept fresh by beat, which runs once beating is set.
	alive   map[string]struct{}
	beating bool
	// failing is set while this process's heartbeats fail, and outageEnd
	// is when they last succeeded again after failing. While failing and
	// until Heartbeat has passed since, it takes no dead consumer's items:
	// Redis was away (restarted, unreachable) for it, so it may have been
	// away for the others too, whose heartbeats lapsed while they live;
	// their refreshes bring them back meanwhile.
	failing   bool
	outageEnd time.Time

	// own is the consumers whose last read failed: their next read takes
	// all their orphans first (see Lost replies above). ownChecked is when
	// each consumer last looked for orphans idle for Heartbeat.
	own        map[string]bool
	ownChecked map[string]time.Time

	// held is the items of the queue this process handed out and has not
	// seen acked or retried, with when it handed them out (wall clock).
	heldMu sync.Mutex
	held   map[string]time.Time
}

func (rs *reclaimState) hold(ds []store.Delivery) {
	now := time.Now()
	rs.heldMu.Lock()
	defer rs.heldMu.Unlock()
	if rs.held == nil {
		rs.held = map[string]time.Time{}
	}
	for _, d := range ds {
		rs.held[d.ID] = now
	}
}

// forget drops the held items handed out before cutoff (ClaimAfter ago):
// the reclaim script may hand them out again by now, so they are no
// longer this process's to keep from the orphan look. It returns how many
// items stay held.
func (rs *reclaimState) forget(cutoff time.Time) int {
	rs.heldMu.Lock()
	defer rs.heldMu.Unlock()
	for id, at := range rs.held {
		if at.Before(cutoff) {
			delete(rs.held, id)
		}
	}
	return len(rs.held)
}

func (rs *reclaimState) release(ids ...string) {
	rs.heldMu.Lock()
	defer rs.heldMu.Unlock()
	for _, id := range ids {
		delete(rs.held, id)
	}
}

func (s *Store) reclaimFor(queue string) *reclaimState {
	if r, ok := s.reclaim.Load(queue); ok {
		return r.(*reclaimState)
	}
	r, _ := s.reclaim.LoadOrStore(queue, &reclaimState{})
	return r.(*reclaimState)
}

// reclaimEvery is how often Read looks for items to redeliver that it does
// not know the due time of (other replicas' retries, abandoned items, items
// of dead consumers): a quarter of ClaimAfter, an eighth of Heartbeat (so
// a dead consumer's items wait little beyond its heartbeat's expiry), at
// most a second.
func (s *Store) reclaimEvery() time.Duration {
	return min(s.q.ClaimAfter/4, s.q.Heartbeat/8, time.Second)
}

// keepAlive makes sure consumer has a heartbeat for queue before it reads
// (set now, the first time) and that beat keeps it fresh.
func (s *Store) keepAlive(ctx context.Context, queue, consumer string, rs *reclaimState) error {
	rs.mu.Lock()
	_, ok := rs.alive[consumer]
	rs.mu.Unlock()
	if ok {
		return nil
	}
	if err := s.c.Set(ctx, s.k.queueAlive(queue, consumer), "1", s.q.Heartbeat).Err(); err != nil {
		return err
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.alive == nil {
		rs.alive = map[string]struct{}{}
	}
	rs.alive[consumer] = struct{}{}
	if !rs.beating && s.ctx.Err() == nil {
		rs.beating = true
		s.wg.Add(1)
		go s.beat(queue, rs)
	}
	return nil
}

// beat refreshes the heartbeats of the queue's consumers every Heartbeat/5
// until Close, which deletes them: the items a cleanly stopped process
// left unacked are free at once. A process that dies stops refreshing, and
// its heartbeats expire after Heartbeat.
func (s *Store) beat(queue string, rs *reclaimState) {
	defer s.wg.Done()
	names := func() []string {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		ks := make([]string, 0, len(rs.alive))
		for c := range rs.alive {
			ks = append(ks, s.k.queueAlive(queue, c))
		}
		return ks
	}
	t := time.NewTicker(s.q.Heartbeat / 5)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			// One queue tag: one slot, one DEL.
			if err := s.c.Del(ctx, names()...).Err(); err != nil {
				s.log.Warn("deleting queue heartbeats on close failed", "queue", queue, "err", err)
			}
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.q.Heartbeat/2)
		_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, k := range names() {
				p.Set(ctx, k, "1", s.q.Heartbeat)
			}
			return nil
		})
		cancel()
		rs.mu.Lock()
		was := rs.failing
		switch {
		case err != nil && s.ctx.Err() == nil:
			rs.failing = true
		case err == nil && was:
			rs.failing, rs.outageEnd = false, time.Now()
		}
		now := rs.failing
		rs.mu.Unlock()
		if now && !was {
			s.log.Warn("queue heartbeat failed: other replicas take this process's unacked items once it lapses", "queue", queue, "heartbeat", s.q.Heartbeat, "err", err)
		} else if was && !now {
			s.log.Info("queue heartbeat restored", "queue", queue)
		}
	}
}

// reclaimNow reports whether Read should run the reclaim script now, and
// else how long until it should.
func (s *Store) reclaimNow(r *reclaimState) (bool, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	wait := s.reclaimEvery() - time.Since(r.last)
	if r.nextDue != 0 {
		wait = min(wait, time.Duration(r.nextDue-ms(s.now()))*time.Millisecond)
	}
	return wait <= 0, wait
}

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
	if _, known := s.group.LoadOrStore(queue, struct{}{}); !known {
		n, err := queuePruneConsumers.Run(ctx, s.c, []string{s.k.queueStream(queue)}, s.pruneAfter.Milliseconds()).Int()
		if err != nil {
			s.log.Warn("pruning idle queue consumers failed", "queue", queue, "err", err)
		} else if n > 0 {
			s.log.Info("pruned idle queue consumers", "queue", queue, "consumers", n)
		}
	}
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

func (s *Store) Enqueue(ctx context.Context, queue string, payload []byte) (_ string, err error) {
	defer opErr(&err, "enqueue on", queue)
	if s.minAck > 0 {
		return s.enqueueReplicated(ctx, queue, payload)
	}
	var id string
	err = s.withGroup(ctx, queue, func() error {
		var err error
		id, err = s.c.XAdd(ctx, &goredis.XAddArgs{
			Stream: s.k.queueStream(queue),
			Values: []any{"p", payload, "t", strconv.FormatInt(s.now().UnixNano(), 10)},
		}).Result()
		return err
	})
	return id, err
}

// Read hands out due redeliveries first (the reclaim script, when
// reclaimNow says so), then new items (XREADGROUP). With block > 0 the
// read of new items blocks (it answers at once when there are some), in
// slices that end when a reclaim is due, until block is used up.
func (s *Store) Read(ctx context.Context, queue, consumer string, max int, block time.Duration) (_ []store.Delivery, err error) {
	defer opErr(&err, "read queue", queue)
	if max <= 0 {
		max = 1
	}
	ds, err := s.read(ctx, queue, consumer, max, block)
	if len(ds) > 0 {
		s.reclaimFor(queue).hold(ds)
	}
	return ds, err
}

func (s *Store) read(ctx context.Context, queue, consumer string, max int, block time.Duration) ([]store.Delivery, error) {
	deadline := time.Now().Add(block)
	rs := s.reclaimFor(queue)
	if err := s.keepAlive(ctx, queue, consumer, rs); err != nil {
		return nil, err
	}
	if minIdle, ok := s.orphanCheck(rs, consumer); ok {
		out, err := s.takeOrphans(ctx, queue, consumer, max, minIdle, rs)
		if err != nil {
			return nil, rs.readFailed(ctx, consumer, err)
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	for {
		var out []store.Delivery
		due, wait := s.reclaimNow(rs)
		if due {
			var err error
			if out, err = s.reclaimItems(ctx, queue, consumer, max, rs); err != nil {
				return nil, rs.readFailed(ctx, consumer, err)
			}
			_, wait = s.reclaimNow(rs)
		}
		if len(out) == max {
			return out, nil
		}
		left := time.Until(deadline)
		if len(out) > 0 || left <= 0 {
			fresh, err := s.readNew(ctx, queue, consumer, max-len(out), -1)
			if err != nil {
				// The reclaimed items are pending for this consumer:
				// its next read hands them out again.
				return nil, rs.readFailed(ctx, consumer, err)
			}
			return append(out, fresh...), nil
		}
		// A blocking read answers at once when there are new items.
		fresh, err := s.readNew(ctx, queue, consumer, max, max2(min(left, wait), time.Millisecond))
		if err != nil {
			return nil, rs.readFailed(ctx, consumer, err)
		}
		if len(fresh) > 0 {
			return fresh, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// readFailed notes that a read of consumer failed with err (and returns
// err): its reply may have been lost after Redis ran it, so the next read
// starts with all the consumer's orphans. A read given up because ctx
// ended is not noted: the caller is stopping (Close deletes the
// heartbeat, and other replicas take its pending items at once); the
// periodic look for orphans still finds them if it goes on.
func (rs *reclaimState) readFailed(ctx context.Context, consumer string, err error) error {
	if ctx.Err() != nil {
		return err
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.own == nil {
		rs.own = map[string]bool{}
	}
	rs.own[consumer] = true
	return err
}

// orphanCheck reports whether consumer's read should first take its
// orphans, and those idle for how long: all of them after a failed read,
// else those idle for Heartbeat, every Heartbeat/2 (one XPENDING).
func (s *Store) orphanCheck(rs *reclaimState, consumer string) (time.Duration, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.own[consumer] {
		return 0, true
	}
	if time.Since(rs.ownChecked[consumer]) < s.q.Heartbeat/2 {
		return 0, false
	}
	if rs.ownChecked == nil {
		rs.ownChecked = map[string]time.Time{}
	}
	rs.ownChecked[consumer] = time.Now()
	return s.q.Heartbeat, true
}

// maxOrphanScan bounds how many held items the orphan look reads past in
// the pending list (XPENDING COUNT is this plus what it wants). Held items
// are those in flight, a few per worker, unless Acks fail and are not
// retried (store.ErrNotReplicated), when they pile up for ClaimAfter;
// orphans behind more held items than this wait for ClaimAfter, as
// before the orphan look existed.
const maxOrphanScan = 1000

// orphanScan is the XPENDING COUNT that finds max orphans past held items.
func orphanScan(held, max int) int {
	return min(held, maxOrphanScan) + max
}

// takeOrphans claims again for consumer (counting a delivery) up to max of
// its pending entries idle for minIdle that this process does not hold,
// and returns them. XPENDING finds them; the queueTakeOwn script claims
// each only if it is still pending for consumer as XPENDING saw it, so an
// entry another replica (or another read of this process) took in between
// is left where it is. Entries deleted by an Ack whose XACK did not run
// are acknowledged and skipped.
func (s *Store) takeOrphans(ctx context.Context, queue, consumer string, max int, minIdle time.Duration, rs *reclaimState) ([]store.Delivery, error) {
	stream := s.k.queueStream(queue)
	n := orphanScan(rs.forget(time.Now().Add(-s.q.ClaimAfter)), max)
	var ps []goredis.XPendingExt
	err := s.withGroup(ctx, queue, func() error {
		var err error
		ps, err = s.c.XPendingExt(ctx, &goredis.XPendingExtArgs{
			Stream: stream, Group: queueGroup, Idle: minIdle, Start: "-", End: "+", Count: int64(n), Consumer: consumer,
		}).Result()
		return err
	})
	if err != nil && !isNil(err) {
		return nil, err
	}
	args := []any{consumer, minIdle.Milliseconds()}
	rs.heldMu.Lock()
	for _, p := range ps {
		if _, ok := rs.held[p.ID]; !ok && len(args) < 2+2*max {
			args = append(args, p.ID, p.RetryCount)
		}
	}
	rs.heldMu.Unlock()
	ids := (len(args) - 2) / 2
	if minIdle == 0 && ids < max {
		rs.mu.Lock()
		delete(rs.own, consumer) // all taken
		rs.mu.Unlock()
	}
	if ids == 0 {
		return nil, nil
	}
	r, err := queueTakeOwn.Run(ctx, s.c, []string{stream}, args...).Slice()
	if err != nil && !isNil(err) {
		return nil, err
	}
	out, err := deliveries(r)
	if err != nil {
		return nil, err
	}
	if len(out) > 0 {
		s.log.Warn("handing out again items pending for this consumer whose read reply was lost", "queue", queue, "consumer", consumer, "items", len(out))
	}
	return out, nil
}

// reclaimItems runs the reclaim script and notes when it should next run.
func (s *Store) reclaimItems(ctx context.Context, queue, consumer string, max int, rs *reclaimState) ([]store.Delivery, error) {
	rs.mu.Lock()
	cursor := cmp.Or(rs.cursor, "0-0")
	takeDead := "0"
	if !rs.failing && time.Since(rs.outageEnd) >= s.q.Heartbeat {
		takeDead = "1"
	}
	rs.mu.Unlock()
	now := ms(s.now())
	var r []any
	err := s.withGroup(ctx, queue, func() error {
		var err error
		r, err = queueReclaim.Run(ctx, s.c, []string{s.k.queueStream(queue), s.k.queueDue(queue)},
			consumer, max, now, s.q.ClaimAfter.Milliseconds(), cursor, s.k.queueAlivePrefix(queue), takeDead).Slice()
		return err
	})
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "unknown command") {
			return nil, fmt.Errorf("store/redis: the server lacks a Streams command the queues need (Redis 6.2 or later is required): %w", err)
		}
		return nil, err
	}
	if len(r) < 2 {
		return nil, fmt.Errorf("store/redis: unexpected reclaim reply %v", r)
	}
	var next int64
	if nd, _ := r[0].(string); nd != "" {
		if f, err := strconv.ParseFloat(nd, 64); err == nil {
			next = int64(f)
		}
	}
	rs.mu.Lock()
	// A Retry of this process that landed during the script is not in its
	// answer: keep its due time.
	if rs.nextDue > now && (next == 0 || rs.nextDue < next) {
		next = rs.nextDue
	}
	rs.last, rs.nextDue = time.Now(), next
	rs.cursor, _ = r[1].(string)
	rs.mu.Unlock()
	return deliveries(r[2:])
}

// readNew reads up to max new items (XREADGROUP ">"), waiting up to block
// for one when block > 0 (block < 0: don't wait).
func (s *Store) readNew(ctx context.Context, queue, consumer string, max int, block time.Duration) ([]store.Delivery, error) {
	var streams []goredis.XStream
	err := s.withGroup(ctx, queue, func() error {
		var err error
		streams, err = s.c.XReadGroup(ctx, &goredis.XReadGroupArgs{
			Group: queueGroup, Consumer: consumer, Streams: []string{s.k.queueStream(queue), ">"},
			Count: int64(max), Block: block,
		}).Result()
		return err
	})
	if isNil(err) {
		return nil, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	var out []store.Delivery
	for _, st := range streams {
		for _, m := range st.Messages {
			p, _ := m.Values["p"].(string)
			t, _ := m.Values["t"].(string)
			out = append(out, store.Delivery{ID: m.ID, Payload: []byte(p), Attempts: 1, EnqueuedAt: parseNanos(t)})
		}
	}
	return out, nil
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

// Ack deletes the items, then acknowledges them, in one pipeline: a crash
// in between leaves deleted entries in the pending list, which the reclaim
// script's XAUTOCLAIM drops without handing them out again.
func (s *Store) Ack(ctx context.Context, queue string, ids ...string) (err error) {
	defer opErr(&err, "ack on queue", queue)
	if len(ids) == 0 {
		return nil
	}
	// Held until acked: an item whose Ack failed is not an orphan (the
	// caller may ack it again; else, as on store.ErrNotReplicated, it is
	// redelivered after ClaimAfter, when it stops being held).
	if s.confirmsAcks(queue) {
		if err := s.ackConfirmed(ctx, queue, ids); err != nil {
			return err
		}
		s.reclaimFor(queue).release(ids...)
		return nil
	}
	stream := s.k.queueStream(queue)
	_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.XDel(ctx, stream, ids...)
		p.XAck(ctx, stream, queueGroup, ids...)
		return nil
	})
	if err != nil && strings.Contains(err.Error(), "NOGROUP") {
		err = nil // nothing was ever delivered from this queue
	}
	if err == nil {
		s.reclaimFor(queue).release(ids...)
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

// Retry reschedules the item: a due time in the ZSET, and its idle time
// reset (XCLAIM JUSTID, which does not count a delivery) so that the
// ClaimAfter reclaim does not take it before its backoff. At MaxAttempts it
// moves to the dead letters instead.
func (s *Store) Retry(ctx context.Context, queue string, d store.Delivery, reason string) (_ bool, err error) {
	defer opErr(&err, "retry", d.ID, "on queue", queue)
	now := s.now()
	if d.Attempts >= s.q.MaxAttempts {
		err := queueDeadLetter.Run(ctx, s.c,
			[]string{s.k.queueStream(queue), s.k.queueDead(queue), s.k.queueDue(queue)},
			d.ID, reason, d.Attempts, now.UnixNano()).Err()
		if err != nil && !isNil(err) && !strings.Contains(err.Error(), "NOGROUP") {
			return false, err
		}
		s.reclaimFor(queue).release(d.ID)
		return true, nil
	}
	due := ms(now.Add(s.backoff(d.Attempts)))
	_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.XClaimJustID(ctx, &goredis.XClaimArgs{Stream: s.k.queueStream(queue), Group: queueGroup, Consumer: "retry", MinIdle: 0, Messages: []string{d.ID}})
		p.ZAdd(ctx, s.k.queueDue(queue), goredis.Z{Score: float64(due), Member: d.ID})
		return nil
	})
	if err != nil && strings.Contains(err.Error(), "NOGROUP") {
		err = nil
	}
	if err != nil {
		return false, err
	}
	rs := s.reclaimFor(queue)
	rs.release(d.ID)
	rs.mu.Lock()
	if rs.nextDue == 0 || due < rs.nextDue {
		rs.nextDue = due
	}
	rs.mu.Unlock()
	return false, nil
}

func (s *Store) QueueStats(ctx context.Context, queue string) (_ store.QueueStats, err error) {
	defer opErr(&err, "stats of queue", queue)
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

func (s *Store) DeadLetters(ctx context.Context, queue string, limit int) (_ []store.DeadLetter, err error) {
	defer opErr(&err, "dead letters of queue", queue)
	var msgs []goredis.XMessage
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

func (s *Store) ReplayDead(ctx context.Context, queue, id string) (_ int, err error) {
	defer opErr(&err, "replay dead letters of queue", queue)
	if id != "" && !validStreamID(id) {
		return 0, nil
	}
	var n int
	err = s.withGroup(ctx, queue, func() error {
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
