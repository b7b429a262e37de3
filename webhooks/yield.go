package webhooks

import (
	"context"
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

const (
	pacePeriod = 100 * time.Millisecond
	busyWindow = 250 * time.Millisecond
)

// pacer is the dispatcher's gate; nil lets everything through.
type pacer struct {
	on         time.Duration // of each pacePeriod
	lastRecord atomic.Int64  // unix nanoseconds of the Outbox's last recording
}

func newPacer(share float64) *pacer {
	if share <= 0 || share >= 1 {
		return nil
	}
	return &pacer{on: time.Duration(share * float64(pacePeriod))}
}

// recorded notes that ingest recorded events now.
func (p *pacer) recorded() {
	if p != nil {
		p.lastRecord.Store(time.Now().UnixNano())
	}
}

// wait returns when the dispatcher may send: at once when ingest is idle
// or within the share of the current period, else at the next period's
// start. It returns ctx's error when ctx ends first.
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
		if phase < p.on {
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
