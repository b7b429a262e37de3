package redis

import (
	"context"
	"net"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// autoPipeline coalesces single commands issued concurrently by many
// goroutines (router workers, API handlers) into shared pipelines: one
// write and one read syscall for a whole group of commands instead of one
// round trip each. The hub's hot path is many small independent commands
// from dozens of goroutines, so on a small machine the per-command syscalls
// and wake-ups, not Redis, were the limit (docs/PERFORMANCE.md).
//
// It is a go-redis hook: only commands on the allow-list are batched;
// blocking commands (XREAD BLOCK), transactions, pub/sub and everything
// else go straight through. Commands keep their own replies and errors, and
// a command's caller waits for exactly its own reply, so semantics are
// unchanged; only the grouping on the wire differs. Order between commands
// of different goroutines was never defined; a goroutine's own commands
// stay in order because it waits for each reply before sending the next.
type autoPipeline struct {
	client goredis.UniversalClient
	reqs   chan *apReq
	stop   chan struct{}
	wg     sync.WaitGroup

	mu     sync.RWMutex // held (read) while a command is handed over; close takes it
	closed bool
}

type apReq struct {
	ctx  context.Context
	cmds []goredis.Cmder // one command, or a caller's whole pipeline (kept together, in order)
	done chan struct{}
}

// apInternal marks the context of the hook's own pipelines, which must go
// straight through it.
type apInternal struct{}

var internalCtx = context.WithValue(context.Background(), apInternal{}, true)

// batchable lists the commands worth batching: short, non-blocking, single reply.
var batchable = map[string]bool{
	"get": true, "set": true, "setnx": true, "del": true, "exists": true, "incr": true, "incrby": true,
	"mget": true, "hget": true, "hset": true, "hsetnx": true, "hmget": true, "hdel": true, "hincrby": true, "hgetall": true,
	"zadd": true, "zrem": true, "zscore": true, "publish": true, "spublish": true, "xadd": true, "xack": true, "xdel": true,
	"evalsha": true, "eval": true, "fcall": true,
}

const (
	apLoops    = 1   // pipelines in flight (see below)
	apMaxBatch = 128 // commands per pipeline at most
)

func newAutoPipeline(c goredis.UniversalClient) *autoPipeline {
	a := &autoPipeline{client: c, reqs: make(chan *apReq, 4096), stop: make(chan struct{})}
	for i := 0; i < apLoops; i++ {
		a.wg.Add(1)
		go a.loop()
	}
	return a
}

// close stops batching; commands issued later go straight through (the
// hook cannot be removed from the caller's client).
func (a *autoPipeline) close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	close(a.stop)
	a.wg.Wait()
}

func (a *autoPipeline) loop() {
	defer a.wg.Done()
	batch := make([]*apReq, 0, apMaxBatch)
	for {
		select {
		case <-a.stop:
			// Everything handed over before close is still answered.
			for {
				select {
				case r := <-a.reqs:
					a.exec([]*apReq{r})
				default:
					return
				}
			}
		case r := <-a.reqs:
			batch = append(batch[:0], r)
		}
		n := len(batch[0].cmds)
	fill:
		for n < apMaxBatch {
			select {
			case r := <-a.reqs:
				batch = append(batch, r)
				n += len(r.cmds)
			default:
				break fill
			}
		}
		a.exec(batch)
	}
}

func (a *autoPipeline) exec(batch []*apReq) {
	p := a.client.Pipeline()
	for _, r := range batch {
		for _, c := range r.cmds {
			_ = p.Process(r.ctx, c)
		}
	}
	// Each command carries its own error; Exec's error is the first of them.
	_, _ = p.Exec(internalCtx)
	for _, r := range batch {
		close(r.done)
	}
}

// The hook.

func (a *autoPipeline) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

// ProcessPipelineHook joins a caller's own pipeline of batchable commands
// (not a MULTI/EXEC transaction: its MULTI is not batchable) to the shared
// pipelines as one unit, so its commands stay together and in order.
func (a *autoPipeline) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if len(cmds) == 0 || len(cmds) > apMaxBatch || ctx.Value(apInternal{}) != nil {
			return next(ctx, cmds)
		}
		for _, c := range cmds {
			if !batchable[c.Name()] {
				return next(ctx, cmds)
			}
		}
		if !a.submit(&apReq{ctx: ctx, cmds: cmds, done: make(chan struct{})}) {
			return next(ctx, cmds)
		}
		for _, c := range cmds {
			if err := c.Err(); err != nil {
				return err
			}
		}
		return nil
	}
}

// submit hands r to the pipelining loops and waits for its replies; false
// when batching has stopped (the caller then sends r itself).
func (a *autoPipeline) submit(r *apReq) bool {
	a.mu.RLock()
	if a.closed {
		a.mu.RUnlock()
		return false
	}
	a.reqs <- r
	a.mu.RUnlock()
	<-r.done // the pipeline always finishes (it has its own timeouts)
	return true
}

func (a *autoPipeline) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if !batchable[cmd.Name()] {
			return next(ctx, cmd)
		}
		if !a.submit(&apReq{ctx: ctx, cmds: []goredis.Cmder{cmd}, done: make(chan struct{})}) {
			return next(ctx, cmd)
		}
		return cmd.Err()
	}
}
