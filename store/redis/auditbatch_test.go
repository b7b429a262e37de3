package redis_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
)

// auditGate counts the scripts sent on the audit stream's keys and holds
// the first until released.
type auditGate struct {
	scripts atomic.Int64
	once    sync.Once
	held    chan struct{}
	release chan struct{}
}

func (g *auditGate) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (g *auditGate) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if n := cmd.Name(); (n == "evalsha" || n == "eval") && strings.Contains(fmt.Sprint(cmd.Args()), "{audit}") {
			g.scripts.Add(1)
			g.once.Do(func() { close(g.held); <-g.release })
		}
		return next(ctx, cmd)
	}
}

func (g *auditGate) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// TestAuditRecordsWaitingTogetherShareOneScript: the audit records of posts
// arriving while a flush is under way are written by the next one (one
// script, not one each), every one once, each call returning only when
// its record is listed; a record's id given twice in one batch is written
// once.
func TestAuditRecordsWaitingTogetherShareOneScript(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	g := &auditGate{held: make(chan struct{}), release: make(chan struct{})}
	f.c.AddHook(g)
	ctx := context.Background()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var wg sync.WaitGroup
	var done atomic.Int64
	post := func(i int) {
		defer wg.Done()
		r := store.AuditRecord{ID: fmt.Sprintf("post-%d", i), At: at, Actor: "api", Action: "channel.message", Target: "api", Detail: fmt.Sprint(i)}
		if err := f.s.AppendAudit(ctx, r); err != nil {
			t.Error(err)
		}
		done.Add(1)
	}
	wg.Add(1)
	go post(0)
	<-g.held
	const n = 40
	for i := 1; i < n; i++ {
		wg.Add(1)
		go post(i)
	}
	wg.Add(1)
	go post(5) // the same post again (a client's retry)
	// Every post queued behind the held flush before it is let go (on a
	// loaded machine goroutines start late; releasing early would let
	// them form many small batches and tell nothing).
	for deadline := time.Now().Add(30 * time.Second); f.s.AuditsWaiting() < n && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if w := f.s.AuditsWaiting(); w < n {
		t.Fatalf("%d of %d posts waiting behind the held flush", w, n)
	}
	// Nothing waiting is acknowledged before its flush.
	if d := done.Load(); d != 0 {
		t.Fatalf("%d appends returned before their records were written", d)
	}
	close(g.release)
	wg.Wait()
	if s := g.scripts.Load(); s > 6 {
		t.Errorf("%d scripts for %d records; want a few", s, n+1)
	}
	recs, err := f.s.ListAudit(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range recs {
		seen[r.ID]++
	}
	if len(recs) != n || len(seen) != n {
		t.Fatalf("%d records, %d distinct ids; want %d each", len(recs), len(seen), n)
	}
}
