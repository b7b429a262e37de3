package embedded

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Group commits. Every coalesced write (Store.batch) is handed to one
// committer goroutine, which runs all the writes waiting at that moment in
// one bbolt transaction, commits it (one fsync of the data pages and one of
// the meta page, bbolt's two), and only then answers each caller. While a
// commit is being written, the writes that arrive queue up and form the
// next one, so the commit size follows the load: a lone write commits at
// once (no timer), and under load a commit carries everything that arrived
// during the previous fsync.
//
// Under a closed loop of few writers (each writes again soon after its
// answer) that would alternate between a large and a tiny group, an fsync
// each: so when fewer than half of the last group's writers are waiting,
// the committer first waits up to Options.BatchDelay (1ms) for them.
//
// Why not bbolt's db.Batch: it closes a batch when a timer (MaxBatchDelay)
// fires, not when the previous commit is done. With an fsync slower than
// the delay, several small batches line up behind the writer lock and each
// pays its own fsync, so throughput is capped at (writes per delay) /
// (fsync time) and the queue grows without bound once arrivals exceed that;
// a lone writer also waits for the timer. The committer has neither
// problem, and its requests are recycled (no channel and timer per write).
//
// A function that returns an error (or panics) rolls back the group's
// transaction; it then runs alone in its own transaction, which gives it
// its answer, and the others run again without it. As with db.Batch, a
// function may therefore run more than once: it may only touch the
// transaction and must reset its results on every run.

// maxGroup caps the writes of one commit (a larger backlog takes several).
const maxGroup = 1000

type commitReq struct {
	fn   func(*bolt.Tx) error
	err  error
	done chan struct{} // one value per answer; the request is reused
}

var reqPool = sync.Pool{New: func() any { return &commitReq{done: make(chan struct{}, 1)} }}

type committer struct {
	mu      sync.Mutex
	pending []*commitReq
	closed  bool
	kick    chan struct{} // capacity 1: "pending is not empty" (or reached want)
	want    int           // while the committer gathers: kick when pending reaches it
	delay   time.Duration // the longest gathering wait (Options.BatchDelay)

	commits, writes atomic.Uint64 // for CommitStats
}

// CommitStats reports how many write transactions the committer has
// committed and how many writes they carried (their ratio is the mean
// group size; benchmarks report it).
func (s *Store) CommitStats() (commits, writes uint64) {
	return s.commits.commits.Load(), s.commits.writes.Load()
}

// batch runs fn in a group commit (fn may run more than once) and returns
// once the transaction that holds its writes is durable.
func (s *Store) batch(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := reqPool.Get().(*commitReq)
	r.fn, r.err = fn, nil
	c := &s.commits
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		r.fn = nil
		reqPool.Put(r)
		return ErrClosed
	}
	c.pending = append(c.pending, r)
	if c.want == 0 && len(c.pending) == 1 || c.want > 0 && len(c.pending) == c.want {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
	<-r.done
	err := r.err
	r.fn, r.err = nil, nil
	reqPool.Put(r)
	return err
}

// commitLoop is the committer goroutine (started by Open, ended by Close).
func (s *Store) commitLoop() {
	defer s.wg.Done()
	c := &s.commits
	var group []*commitReq
	last := 0 // size of the last group
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	for {
		select {
		case <-c.kick:
		case <-s.done:
			c.mu.Lock()
			c.closed = true
			rest := c.pending
			c.pending = nil
			c.mu.Unlock()
			for _, r := range rest {
				r.err = ErrClosed
				r.done <- struct{}{}
			}
			return
		}
		for {
			c.gather(last, gather)
			c.mu.Lock()
			n := min(len(c.pending), maxGroup)
			group = append(group[:0], c.pending[:n]...)
			rest := copy(c.pending, c.pending[n:])
			clear(c.pending[rest:])
			c.pending = c.pending[:rest]
			c.mu.Unlock()
			if n == 0 {
				last = 0 // idle: the next writer is a lone one
				break
			}
			s.commitGroup(group)
			clear(group)
			last = n
		}
	}
}

// gather waits, when fewer than half of the last group's writers are
// back, up to the delay for them: a caller answered by the last commit
// writes again after a little work of its own, and committing without it
// would pay an fsync for a small group. A lone writer (a last group of one)
// never waits, nor does a backlog.
func (c *committer) gather(last int, t *time.Timer) {
	c.mu.Lock()
	select {
	case <-c.kick: // stale: sent for writes the caller is about to take
	default:
	}
	want := last / 2
	if len(c.pending) >= want || c.delay <= 0 {
		c.mu.Unlock()
		return
	}
	c.want = want
	c.mu.Unlock()
	t.Reset(c.delay)
	select {
	case <-c.kick:
	case <-t.C:
	}
	t.Stop()
	c.mu.Lock()
	c.want = 0
	c.mu.Unlock()
}

// commitGroup runs group in one transaction and answers every request.
func (s *Store) commitGroup(group []*commitReq) {
	s.dbmu.RLock()
	defer s.dbmu.RUnlock()
	for len(group) > 0 {
		tx, err := s.db.Begin(true)
		if err != nil {
			answer(group, err)
			return
		}
		failed := -1
		for i, r := range group {
			if err := safeCall(r.fn, tx); err != nil {
				failed = i
				break
			}
		}
		if failed < 0 {
			s.commits.commits.Add(1)
			s.commits.writes.Add(uint64(len(group)))
			answer(group, tx.Commit())
			return
		}
		tx.Rollback()
		r := group[failed]
		r.err = s.db.Update(func(tx *bolt.Tx) error { return safeCall(r.fn, tx) })
		r.done <- struct{}{}
		group = append(group[:failed], group[failed+1:]...)
	}
}

func answer(group []*commitReq, err error) {
	for _, r := range group {
		r.err = err
		r.done <- struct{}{}
	}
}

// safeCall runs fn, turning a panic into an error (the committer serves
// every writer and must not die with one of them).
func safeCall(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("embedded: panic in a write: %v", p)
		}
	}()
	return fn(tx)
}
