package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// oldMasterWatch samples a master that is being failed over (Sentinel
// planned failover): while it still answers ROLE "master", which data
// commands it keeps executing (INFO commandstats), that is whether the hubs
// keep writing to it after the replica was promoted. Whatever they write
// there then is dropped when the Sentinels make it a replica of the new
// master (it resyncs). Its replication offset alone would not tell: the
// Sentinels' hello messages (PUBLISH every 2 s) move it too.
type oldMasterWatch struct {
	done chan struct{}
	stop chan struct{}

	promotedNS atomic.Int64 // set by promotedAt
	// Written by the sampler, read after done.
	atPromotion, last map[string]int64 // calls per command
	lastData, demoted time.Time
}

// dataCmd: commands of the hubs' work (not the Sentinels', not the
// replication's, not this watch's).
func dataCmd(c string) bool {
	switch c {
	case "ping", "info", "role", "client", "publish", "subscribe", "replconf", "psync", "sync", "command", "hello", "config", "slaveof", "replicaof", "multi", "exec", "select", "auth", "cluster":
		return false
	}
	return true
}

func watchOldMaster(addr string) *oldMasterWatch {
	w := &oldMasterWatch{done: make(chan struct{}), stop: make(chan struct{})}
	go func() {
		defer close(w.done)
		c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 500 * time.Millisecond})
		defer c.Close()
		ctx := context.Background()
		var prev map[string]int64
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if role, err := c.Do(ctx, "role").Slice(); err == nil && len(role) > 0 && role[0] != "master" {
				w.demoted = time.Now()
				return
			}
			raw, err := c.Info(ctx, "commandstats").Result()
			if err != nil {
				continue
			}
			cur := parseCommandStats(raw)
			promoted := w.promotedNS.Load() != 0
			if promoted && w.atPromotion == nil {
				w.atPromotion = prev
				if w.atPromotion == nil {
					w.atPromotion = cur
				}
			}
			if promoted && prev != nil {
				for k, v := range cur {
					if dataCmd(k) && v > prev[k] {
						w.lastData = time.Now()
						break
					}
				}
			}
			prev, w.last = cur, cur
		}
	}()
	return w
}

func parseCommandStats(raw string) map[string]int64 {
	m := map[string]int64{}
	for _, line := range strings.Split(raw, "\n") {
		// cmdstat_xadd:calls=12,usec=...
		name, rest, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.Split(rest, ",")[0], 10, 64)
		m[name] = n
	}
	return m
}

// promotedAt notes the promotion (once the replica answers ROLE master).
func (w *oldMasterWatch) promotedAt(t time.Time) { w.promotedNS.Store(t.UnixNano()) }

func (w *oldMasterWatch) report() string {
	close(w.stop)
	<-w.done
	promoted := time.Unix(0, w.promotedNS.Load())
	var parts []string
	total := int64(0)
	for k, v := range w.last {
		if d := v - w.atPromotion[k]; dataCmd(k) && d > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, d))
			total += d
		}
	}
	sort.Strings(parts)
	s := fmt.Sprintf("the old master executed %d of the hubs' commands after the promotion (%s)", total, strings.Join(parts, ", "))
	if w.lastData.After(promoted) {
		s += fmt.Sprintf(", the last %v after it", w.lastData.Sub(promoted).Round(10*time.Millisecond))
	}
	if !w.demoted.IsZero() {
		s += fmt.Sprintf("; the Sentinels made it a replica %v after it", w.demoted.Sub(promoted).Round(10*time.Millisecond))
	}
	return s + " (its writes of that time are dropped when it resyncs)"
}
