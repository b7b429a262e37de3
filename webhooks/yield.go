package webhooks

import (
	"context"
	rtmetrics "runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Ingest first (Options.IngestShare). On a machine whose CPU ingest can
// use up, every delivery's CPU (net/http's or the lean client's, the
// store's fan-out and outcome writes) is taken from ingest: Go's scheduler
// has no priorities. While the Outbox is recording events (ingest is
// busy), a paced dispatcher sends only in the first IngestShare of every
// pacePeriod, so its CPU is bounded by about that share of the process's;
// when ingest pauses for busyWindow, it sends at full speed again and
// drains what accumulated (durably, in the outbox) meanwhile. The price is
// delivery latency while ingest is busy (up to one period, and the backlog
// if ingest's events come faster than the share delivers them).
//
// The pacing acts only when the process is short of CPU (issue 21, fourth
// part): outside its share the dispatcher still sends while goroutines get
// a processor promptly, so on a machine with a core to spare deliveries go
// at full speed next to a busy ingest. "Short" is read from the runtime's
// scheduling latencies (/sched/latencies:seconds, the time goroutines
// waited runnable before running), at most every sampleEvery: short when
// more than slowShare of the waits since the last sample took longer than
// slowWait. Both CPU taken by other processes and by this one's own
// goroutines (ingest and dispatcher together wanting more than GOMAXPROCS)
// show there.

const (
	pacePeriod  = 100 * time.Millisecond
	busyWindow  = 250 * time.Millisecond
	sampleEvery = 20 * time.Millisecond
	slowWait    = 500 * time.Microsecond
	slowShare   = 0.1
)

// pacer is the dispatcher's gate; nil lets everything through.
type pacer struct {
	on         time.Duration // of each pacePeriod
	lastRecord atomic.Int64  // unix nanoseconds of the Outbox's last recording
	short      func() bool   // whether the process is short of CPU now
}

func newPacer(share float64) *pacer {
	if share <= 0 || share >= 1 {
		return nil
	}
	return &pacer{on: time.Duration(share * float64(pacePeriod)), short: newCPUGauge().isShort}
}

// cpuGauge tells whether goroutines wait for a processor (see above).
type cpuGauge struct {
	next   atomic.Int64 // unix nanoseconds of the next sample
	short  atomic.Bool
	mu     sync.Mutex // one sampler at a time; guards s and prev
	s      []rtmetrics.Sample
	prev   []uint64
	primed bool
}

func newCPUGauge() *cpuGauge {
	return &cpuGauge{s: []rtmetrics.Sample{{Name: "/sched/latencies:seconds"}}}
}

// isShort returns the last sample's verdict, sampling first when the last
// sample is older than sampleEvery (callers that find another goroutine
// sampling take the verdict as it is).
func (g *cpuGauge) isShort() bool {
	now := time.Now().UnixNano()
	if now >= g.next.Load() && g.mu.TryLock() {
		if now >= g.next.Load() {
			g.sample()
			g.next.Store(now + int64(sampleEvery))
		}
		g.mu.Unlock()
	}
	return g.short.Load()
}

func (g *cpuGauge) sample() {
	rtmetrics.Read(g.s)
	if g.s[0].Value.Kind() != rtmetrics.KindFloat64Histogram {
		return // not in this runtime: never short, pacing off
	}
	h := g.s[0].Value.Float64Histogram()
	if len(g.prev) != len(h.Counts) {
		g.prev = make([]uint64, len(h.Counts))
		g.primed = false
	}
	var total, slow uint64
	for i, c := range h.Counts {
		d := c - g.prev[i]
		g.prev[i] = c
		total += d
		if h.Buckets[i] >= slowWait.Seconds() {
			slow += d
		}
	}
	if !g.primed {
		g.primed = true // the first read counts the process's whole life
		return
	}
	if total > 0 {
		g.short.Store(float64(slow) > slowShare*float64(total))
	}
}

// recorded notes that ingest recorded events now.
func (p *pacer) recorded() {
	if p != nil {
		p.lastRecord.Store(time.Now().UnixNano())
	}
}

// wait returns when the dispatcher may send: at once when ingest is idle,
// within the share of the current period or the process has CPU to spare,
// else when one of those holds again (checked at the next period's start).
// It returns ctx's error when ctx ends first.
func (p *pacer) wait(ctx context.Context) error {
	if p == nil {
		return nil
	}
	for {
		now := time.Now().UnixNano()
		if now-p.lastRecord.Load() > int64(busyWindow) {
			return nil
		}
		phase := time.Duration(now % int64(pacePeriod))
		if phase < p.on || !p.short() {
			return nil
		}
		t := time.NewTimer(pacePeriod - phase)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
