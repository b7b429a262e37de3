package embedded

import (
	"container/heap"
	"context"
	"encoding/binary"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

// Queue layout: bucket "q/NAME" holds the unacked items keyed by a
// big-endian bucket sequence (so the first key is the oldest), bucket
// "d/NAME" the dead letters under the same key. Delivery ids are the
// sequence in decimal.
//
// Which items are in flight, and when they are due again, lives only in
// memory (queueState): after Open every unacked item is waiting, so what was
// in flight when the process stopped is redelivered. The attempt count is
// persisted on every hand-out.
//
// Timing: redelivery due times are measured in "queue time" (qnow), which is
// the real monotonic clock, pushed forward when the injected Clock has been
// advanced further than real time elapsed. In production (SystemClock) the
// two agree; with a frozen fake clock queues still make progress in real
// time; with a fake clock that a test advances past ClaimAfter, the
// redelivery happens without sleeping. Record timestamps (EnqueuedAt,
// DeadAt, OldestAge) use the injected Clock.

// pollInterval bounds how long a blocked Read sleeps without re-checking due
// redeliveries (covers a fake clock advanced while the reader waits).
const pollInterval = 100 * time.Millisecond

type queueRecord struct {
	Payload    []byte    `json:"payload"`
	Attempts   int       `json:"attempts"`
	EnqueuedAt time.Time `json:"enqueued_at"`
	LastError  string    `json:"last_error,omitempty"`
}

type qitem struct {
	seq uint64
	due time.Time // queue time; valid while in flight
	idx int       // index in the in-flight heap, -1 while waiting
}

type flightHeap []*qitem

func (h flightHeap) Len() int { return len(h) }
func (h flightHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h flightHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *flightHeap) Push(x any) { it := x.(*qitem); it.idx = len(*h); *h = append(*h, it) }
func (h *flightHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	it.idx = -1
	return it
}

type queueState struct {
	mu     sync.Mutex
	items  map[uint64]*qitem // every unacked item known to this process
	ready  []uint64          // waiting items, FIFO (stale ids are skipped)
	flight flightHeap        // handed out, ordered by due time
	wake   chan struct{}     // closed and replaced when items become available
}

func qBucket(name string) []byte { return []byte("q/" + name) }
func dBucket(name string) []byte { return []byte("d/" + name) }

func seqID(seq uint64) string { return strconv.FormatUint(seq, 10) }

func parseID(id string) (uint64, bool) {
	seq, err := strconv.ParseUint(id, 10, 64)
	return seq, err == nil && seq > 0
}

// qnow is the queue time (see the comment at the top of the file).
func (s *Store) qnow() time.Time {
	real := time.Now()
	if proj := s.real0.Add(s.clock().Sub(s.clock0)); proj.After(real) {
		return proj
	}
	return real
}

func (s *Store) queue(name string) *queueState {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	q := s.queues[name]
	if q == nil {
		q = &queueState{items: map[uint64]*qitem{}, wake: make(chan struct{})}
		s.queues[name] = q
	}
	return q
}

func (s *Store) loadQueues() error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if len(name) < 2 || string(name[:2]) != "q/" {
				return nil
			}
			q := s.queue(string(name[2:]))
			return b.ForEach(func(k, _ []byte) error {
				if len(k) == 8 {
					q.addWaiting(binary.BigEndian.Uint64(k))
				}
				return nil
			})
		})
	})
}

// addWaiting registers a new waiting item; callers hold q.mu or own q.
func (q *queueState) addWaiting(seq uint64) {
	if _, ok := q.items[seq]; ok {
		return
	}
	q.items[seq] = &qitem{seq: seq, idx: -1}
	q.ready = append(q.ready, seq)
}

func (q *queueState) remove(seq uint64) {
	it, ok := q.items[seq]
	if !ok {
		return
	}
	delete(q.items, seq)
	if it.idx >= 0 {
		heap.Remove(&q.flight, it.idx)
	}
}

// notify wakes blocked readers; callers hold q.mu.
func (q *queueState) notify() {
	close(q.wake)
	q.wake = make(chan struct{})
}

func (s *Store) Enqueue(ctx context.Context, queue string, payload []byte) (string, error) {
	// Encoded before the commit: the committer's time is shared by all.
	rec := encodeQueueRecord(make([]byte, 0, recHeaderLen+len(payload)), queueRecord{Payload: payload, EnqueuedAt: s.now()})
	name := qBucket(queue)
	var seq uint64
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(name)
		if b == nil {
			var err error
			if b, err = tx.CreateBucket(name); err != nil {
				return err
			}
		}
		var err error
		if seq, err = b.NextSequence(); err != nil {
			return err
		}
		return b.Put(u64(seq), rec)
	})
	if err != nil {
		return "", err
	}
	q := s.queue(queue)
	q.mu.Lock()
	q.addWaiting(seq)
	q.notify()
	q.mu.Unlock()
	return seqID(seq), nil
}

// claim picks up to max items (due redeliveries first, then waiting items)
// and marks them in flight until now+ClaimAfter. It also returns the wake
// channel current at the time of the check and the earliest due time.
func (s *Store) claim(q *queueState, max int) (seqs []uint64, wake chan struct{}, next time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := s.qnow()
	var taken []*qitem
	for len(taken) < max && q.flight.Len() > 0 && !q.flight[0].due.After(now) {
		taken = append(taken, heap.Pop(&q.flight).(*qitem))
	}
	for len(taken) < max && len(q.ready) > 0 {
		seq := q.ready[0]
		q.ready = q.ready[1:]
		if it, ok := q.items[seq]; ok && it.idx < 0 {
			taken = append(taken, it)
		}
	}
	due := now.Add(s.qopts.ClaimAfter)
	for _, it := range taken {
		it.due = due
		heap.Push(&q.flight, it)
		seqs = append(seqs, it.seq)
	}
	if q.flight.Len() > 0 {
		next = q.flight[0].due
	}
	return seqs, q.wake, next
}

func (s *Store) Read(ctx context.Context, queue, consumer string, max int, block time.Duration) ([]store.Delivery, error) {
	if max <= 0 {
		max = 1
	}
	deadline := time.Now().Add(block)
	q := s.queue(queue)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		select {
		case <-s.done:
			return nil, ErrClosed
		default:
		}
		seqs, wake, next := s.claim(q, max)
		if len(seqs) > 0 {
			ds, err := s.handOut(ctx, queue, q, seqs)
			if err != nil || len(ds) > 0 {
				return ds, err
			}
			continue // everything claimed was acked meanwhile; look again
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil, nil
		}
		if wait > pollInterval {
			wait = pollInterval
		}
		if !next.IsZero() {
			if d := next.Sub(s.qnow()); d < wait {
				wait = max0(d)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-s.done:
			t.Stop()
			return nil, ErrClosed
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func max0(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}

// handOut persists the incremented attempt counts of the claimed items and
// returns them as deliveries; items that vanished (acked) are forgotten.
func (s *Store) handOut(ctx context.Context, queue string, q *queueState, seqs []uint64) ([]store.Delivery, error) {
	var out []store.Delivery
	var gone []uint64
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		out, gone = out[:0], gone[:0]
		b := tx.Bucket(qBucket(queue))
		for _, seq := range seqs {
			var v []byte
			if b != nil {
				v = b.Get(u64(seq))
			}
			if v == nil {
				gone = append(gone, seq)
				continue
			}
			k := u64(seq)
			nv, payload, attempts, at, err := handOutRecord(k, v)
			if err != nil {
				return err
			}
			if err := b.Put(k, nv); err != nil {
				return err
			}
			out = append(out, store.Delivery{ID: seqID(seq), Payload: payload, Attempts: attempts, EnqueuedAt: at})
		}
		return nil
	})
	if err != nil {
		// Leave them in flight: they are redelivered after ClaimAfter.
		return nil, err
	}
	if len(gone) > 0 {
		q.mu.Lock()
		for _, seq := range gone {
			q.remove(seq)
		}
		q.mu.Unlock()
	}
	return out, nil
}

func (s *Store) Ack(ctx context.Context, queue string, ids ...string) error {
	var seqs []uint64
	for _, id := range ids {
		if seq, ok := parseID(id); ok {
			seqs = append(seqs, seq)
		}
	}
	if len(seqs) == 0 {
		return ctx.Err()
	}
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(qBucket(queue))
		if b == nil {
			return nil
		}
		for _, seq := range seqs {
			if err := b.Delete(u64(seq)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	q := s.queue(queue)
	q.mu.Lock()
	for _, seq := range seqs {
		q.remove(seq)
	}
	q.mu.Unlock()
	return nil
}

// backoff is RetryBackoff doubled per attempt, capped at ClaimAfter.
func (s *Store) backoff(attempts int) time.Duration {
	d := s.qopts.RetryBackoff
	for i := 1; i < attempts && d < s.qopts.ClaimAfter; i++ {
		d *= 2
	}
	if d > s.qopts.ClaimAfter {
		d = s.qopts.ClaimAfter
	}
	return d
}

// Retry records a failed attempt of d. Retrying an item that is no longer
// queued (acked by a consumer it was redelivered to) is a no-op.
func (s *Store) Retry(ctx context.Context, queue string, d store.Delivery, reason string) (bool, error) {
	seq, ok := parseID(d.ID)
	if !ok {
		return false, nil
	}
	dead := d.Attempts >= s.qopts.MaxAttempts
	now := s.now()
	k := u64(seq)
	var exists bool
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		exists = false
		b := tx.Bucket(qBucket(queue))
		if b == nil {
			return nil
		}
		v := b.Get(k)
		if v == nil {
			return nil
		}
		rec, err := decodeQueueRecord(k, v)
		if err != nil {
			return err
		}
		exists = true
		if d.Attempts > rec.Attempts {
			rec.Attempts = d.Attempts
		}
		rec.LastError = reason
		if !dead {
			return b.Put(k, encodeQueueRecord(nil, rec))
		}
		db, err := tx.CreateBucketIfNotExists(dBucket(queue))
		if err != nil {
			return err
		}
		if err := putJSON(db, k, store.DeadLetter{
			ID: d.ID, Queue: queue, Payload: rec.Payload, Attempts: rec.Attempts,
			LastError: reason, DeadAt: now, EnqueuedAt: rec.EnqueuedAt,
		}); err != nil {
			return err
		}
		return b.Delete(k)
	})
	if err != nil {
		return false, err
	}
	q := s.queue(queue)
	q.mu.Lock()
	defer q.mu.Unlock()
	if !exists {
		q.remove(seq)
		return false, nil
	}
	if dead {
		q.remove(seq)
		return true, nil
	}
	if it, ok := q.items[seq]; ok {
		it.due = s.qnow().Add(s.backoff(d.Attempts))
		if it.idx >= 0 {
			heap.Fix(&q.flight, it.idx)
		} else {
			heap.Push(&q.flight, it)
		}
		q.notify() // blocked readers recompute their next wake-up
	}
	return false, nil
}

func (s *Store) QueueStats(ctx context.Context, queue string) (store.QueueStats, error) {
	st := store.QueueStats{Queue: queue}
	q := s.queue(queue)
	q.mu.Lock()
	st.Length = int64(len(q.items))
	st.Pending = int64(q.flight.Len())
	q.mu.Unlock()
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if b := tx.Bucket(qBucket(queue)); b != nil {
			if k, v := b.Cursor().First(); k != nil {
				rec, err := decodeQueueRecord(k, v)
				if err != nil {
					return err
				}
				if age := s.now().Sub(rec.EnqueuedAt); age > 0 {
					st.OldestAge = age
				}
			}
		}
		if b := tx.Bucket(dBucket(queue)); b != nil {
			st.Dead = int64(b.Stats().KeyN)
		}
		return nil
	})
	return st, err
}

// DeadLetters lists dead letters oldest enqueued first.
func (s *Store) DeadLetters(ctx context.Context, queue string, limit int) ([]store.DeadLetter, error) {
	var out []store.DeadLetter
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(dBucket(queue))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			var dl store.DeadLetter
			if err := jsonDecode(k, v, &dl); err != nil {
				return err
			}
			out = append(out, dl)
		}
		return nil
	})
	return out, err
}

// ReplayDead re-enqueues dead letters as new items (new id, attempts 0,
// EnqueuedAt now). A named id that is not a dead letter is ErrNotFound.
func (s *Store) ReplayDead(ctx context.Context, queue, id string) (int, error) {
	var want []byte
	if id != "" {
		seq, ok := parseID(id)
		if !ok {
			return 0, store.ErrNotFound
		}
		want = u64(seq)
	}
	now := s.now()
	var added []uint64
	err := s.update(ctx, func(tx *bolt.Tx) error {
		added = added[:0]
		db := tx.Bucket(dBucket(queue))
		if db == nil {
			if want != nil {
				return store.ErrNotFound
			}
			return nil
		}
		var keys [][]byte
		if want != nil {
			if db.Get(want) == nil {
				return store.ErrNotFound
			}
			keys = [][]byte{want}
		} else {
			keys = keysWithPrefix(db, nil)
		}
		qb, err := tx.CreateBucketIfNotExists(qBucket(queue))
		if err != nil {
			return err
		}
		for _, k := range keys {
			var dl store.DeadLetter
			if _, err := getJSON(db, k, &dl); err != nil {
				return err
			}
			seq, err := qb.NextSequence()
			if err != nil {
				return err
			}
			if err := qb.Put(u64(seq), encodeQueueRecord(nil, queueRecord{Payload: dl.Payload, EnqueuedAt: now})); err != nil {
				return err
			}
			if err := db.Delete(k); err != nil {
				return err
			}
			added = append(added, seq)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if len(added) > 0 {
		q := s.queue(queue)
		q.mu.Lock()
		for _, seq := range added {
			q.addWaiting(seq)
		}
		q.notify()
		q.mu.Unlock()
	}
	return len(added), nil
}
