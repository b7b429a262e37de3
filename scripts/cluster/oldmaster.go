package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// oldMasterWatch samples a master that is being failed over (Sentinel
// planned failover): while it still answers ROLE "master", how far its
// replication offset moves, that is whether the hubs keep writing to it
// after the replica was promoted. Those writes are dropped when the
// Sentinels make it a replica of the new master (it resyncs).
type oldMasterWatch struct {
	done chan struct{}
	stop chan struct{}
	// filled when done: the offset's last increase, and when it stopped
	// being a master (zero if it still was at stop).
	lastWrite, demoted time.Time
	offsetAtPromotion  int64
	offsetLast         atomic.Int64 // written by the sampler, read at the promotion
	promoted           time.Time
}

func watchOldMaster(addr string) *oldMasterWatch {
	w := &oldMasterWatch{done: make(chan struct{}), stop: make(chan struct{})}
	go func() {
		defer close(w.done)
		c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 500 * time.Millisecond})
		defer c.Close()
		ctx := context.Background()
		var last int64 = -1
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			v, err := c.Do(ctx, "role").Slice()
			if err != nil || len(v) < 2 {
				continue
			}
			if role, _ := v[0].(string); role != "master" {
				w.demoted = time.Now()
				return
			}
			off, _ := v[1].(int64)
			if off != last {
				if last >= 0 {
					w.lastWrite = time.Now()
				}
				last = off
				w.offsetLast.Store(off)
			}
		}
	}()
	return w
}

// promotedAt notes the promotion and the old master's offset then (call
// once the replica answers ROLE master).
func (w *oldMasterWatch) promotedAt(t time.Time) {
	w.promoted = t
	w.offsetAtPromotion = w.offsetLast.Load()
}

func (w *oldMasterWatch) report() string {
	close(w.stop)
	<-w.done
	s := fmt.Sprintf("old master after the promotion: %d bytes of writes", w.offsetLast.Load()-w.offsetAtPromotion)
	if w.lastWrite.After(w.promoted) {
		s += fmt.Sprintf(", the last %v after it", w.lastWrite.Sub(w.promoted).Round(time.Millisecond))
	}
	if !w.demoted.IsZero() {
		s += fmt.Sprintf("; made a replica %v after it", w.demoted.Sub(w.promoted).Round(time.Millisecond))
	}
	return s + " (all dropped when it resyncs as a replica)"
}
