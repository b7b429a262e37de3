package sla

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-hub/switchboard/store"
)

// Figure names of the service rollup, counted per cell (see Rollup).
const (
	FigConversations = "conversations"
	FigReplies       = "replies"
	FigResolved      = "resolved"
	FigReopened      = "reopened"
	// FigFirstResponse / FigResolution + ":" + seconds (SampleBucket).
	FigFirstResponse = "first_response_s"
	FigResolution    = "resolution_s"
	// FigBreach + target (store.SLAFirstResponse, ...).
	FigBreach = "sla_breach."
	// CSAT: answers, the sum of their scores on the 1..5 scale, and how
	// many were positive (4..5, thumbs up).
	FigCSATResponses = "csat.responses"
	FigCSATScoreSum  = "csat.score_sum"
	FigCSATPositive  = "csat.positive"
)

// Groupings of the service report and the prefixes of their figure keys.
const (
	GroupChannel = "channel"
	GroupTeam    = "team"
	GroupAgent   = "agent"
)

// FigureKey is the Figures "channel" under which the service figures of
// one channel, team or agent are kept: "svc:" + group + ":" + name.
func FigureKey(group, name string) string { return "svc:" + group + ":" + name }

// monthCell and yearCell are the cells keeping a whole month's ("2006-01")
// and a whole year's ("2006") counts beside its days, so a report over a
// calendar year reads one cell per row, and any other year-long period
// about a dozen months and the days at its ends, never 365 days.
func monthCell(t time.Time) string { return t.UTC().Format("2006-01") }
func yearCell(t time.Time) string  { return t.UTC().Format("2006") }

// ErrInvalid: a CSAT score out of range, an unknown grouping, a bad period.
var ErrInvalid = errors.New("invalid")

// Rollup counts the service figures of conversations as they change
// (timeline.Tracker's Changed, CSATReceived) into the store's Figures:
// each event adds to the cells of the conversation's channel, its team
// and its agent, for the event's day and its month (UTC). Counting is
// best effort beside the change it counts, like the adoption figures: a
// failure is logged, the change stands; nothing is counted twice because
// each count follows one stored change. Shadow conversations are not
// counted (no agent sees them).
type Rollup struct {
	st       store.Figures
	policies *Policies
	log      *slog.Logger
	breaches *prometheus.CounterVec
	// batch, once Batch or Run was called, sums counts in memory until the
	// next Flush (nil: every count is written at once).
	batch atomic.Pointer[rollBatch]
}

// rollBatch is counts summed per cell since the last flush.
type rollBatch struct {
	mu    sync.Mutex
	cells map[rollCell]map[string]int64
	// failed are writes whose outcome is unknown (an error): retried as
	// they were, with their write id, so one that did apply counts once.
	failed []store.FigureAdd
}

type rollCell struct{ key, day string }

// flushEvery is how often a running Rollup writes what it summed: as for
// the adoption figures, six writes per reply would cost more than the
// reply itself on Redis; a crash loses at most this long of counts.
const flushEvery = 250 * time.Millisecond

// Batch makes the Rollup sum counts in memory until Flush.
func (r *Rollup) Batch() {
	r.batch.CompareAndSwap(nil, &rollBatch{cells: map[rollCell]map[string]int64{}})
}

// Flush writes the summed counts; a cell that fails to write is kept for
// the next flush.
func (r *Rollup) Flush(ctx context.Context) error {
	b := r.batch.Load()
	if b == nil {
		return nil
	}
	b.mu.Lock()
	adds := b.failed
	for c, counts := range b.cells {
		adds = append(adds, store.FigureAdd{Channel: c.key, Day: c.day, Counts: counts, ID: store.NewWriteID()})
	}
	b.cells, b.failed = map[rollCell]map[string]int64{}, nil
	b.mu.Unlock()
	// Concurrent writes: the embedded store commits them together.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	sem := make(chan struct{}, 8)
	for _, f := range adds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := r.st.AddFigures(ctx, f); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s %s: %w", f.Channel, f.Day, err))
				mu.Unlock()
				b.mu.Lock()
				b.failed = append(b.failed, f)
				b.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (b *rollBatch) add(c rollCell, counts map[string]int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.cells[c]
	if m == nil {
		m = make(map[string]int64, len(counts))
		b.cells[c] = m
	}
	for n, v := range counts {
		m[n] += v
	}
}

// Run sums counts in memory and writes them every flushEvery until ctx
// ends, then once more.
func (r *Rollup) Run(ctx context.Context) {
	r.Batch()
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := r.Flush(ctx); err != nil {
				r.log.Warn("service figures not written; kept for the next flush", "err", err)
			}
		case <-ctx.Done():
			end, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := r.Flush(end); err != nil {
				r.log.Warn("service figures not written at shutdown", "err", err)
			}
			cancel()
			return
		}
	}
}

// NewRollup counts into st; reg, when not nil, gets
// switchboard_sla_breaches_total{channel, target}.
func NewRollup(st store.Figures, policies *Policies, log *slog.Logger, reg prometheus.Registerer) *Rollup {
	if log == nil {
		log = slog.Default()
	}
	r := &Rollup{st: st, policies: policies, log: log,
		breaches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_sla_breaches_total",
			Help: "SLA targets missed (first_response, next_response, resolution), counted when the late answer or resolution happens."},
			[]string{"channel", "target"})}
	if reg != nil {
		reg.MustRegister(r.breaches)
	}
	return r
}

// Apply is Policies.Apply (timeline.Tracker).
func (r *Rollup) Apply(before store.Conversation, c *store.Conversation, at time.Time) {
	if r != nil {
		r.policies.Apply(before, c, at)
	}
}

// Changed counts what the stored change from before to after adds to the
// service figures (timeline.Tracker). agent is the agent who replied, for
// a reply ("" otherwise: the conversation's assignee is credited).
func (r *Rollup) Changed(ctx context.Context, before, after store.Conversation, at time.Time, agent string) {
	if r == nil || after.Audience == store.AudienceShadow {
		return
	}
	c := map[string]int64{}
	start := after.FirstInboundAt
	if start.IsZero() {
		start = after.CreatedAt
	}
	if before.FirstInboundAt.IsZero() && !after.FirstInboundAt.IsZero() {
		c[FigConversations]++
	}
	if before.FirstReplyAt.IsZero() && !after.FirstReplyAt.IsZero() && !after.FirstInboundAt.IsZero() {
		c[sampleName(FigFirstResponse, after.FirstReplyAt.Sub(after.FirstInboundAt))]++
	}
	if n := after.Replies - before.Replies; n > 0 {
		c[FigReplies] += int64(n)
	}
	if before.Status != store.StatusResolved && after.Status == store.StatusResolved {
		c[FigResolved]++
		c[sampleName(FigResolution, after.ResolvedAt.Sub(start))]++
	}
	if n := after.Reopened - before.Reopened; n > 0 {
		c[FigReopened] += int64(n)
	}
	if after.SLA != nil {
		for _, b := range after.SLA.Breached {
			if !before.SLA.HasBreach(b) {
				c[FigBreach+b]++
				r.breaches.WithLabelValues(after.Channel, b).Inc()
			}
		}
	}
	if len(c) == 0 {
		return
	}
	if agent == "" {
		agent = after.Assignee
	}
	r.add(ctx, after, agent, at, c)
}

// CSATReceived counts one CSAT answer on conv (the survey code calls it
// once per recorded answer): scale 5 takes score 1..5; scale 2 (thumbs)
// takes 1 (down) or 2 (up), counted as 1 and 5. The report's score is the
// mean on the 1..5 scale; 4..5 and thumbs up are positive. The answer is
// credited to the conversation's channel, team and assignee on the day of
// at.
func (r *Rollup) CSATReceived(ctx context.Context, conv store.Conversation, score, scale int, at time.Time) error {
	var v int64
	switch {
	case scale == 5 && score >= 1 && score <= 5:
		v = int64(score)
	case scale == 2 && score == 1:
		v = 1
	case scale == 2 && score == 2:
		v = 5
	default:
		return fmt.Errorf("%w: csat score %d on scale %d (scale 5: 1..5; scale 2: 1 down, 2 up)", ErrInvalid, score, scale)
	}
	c := map[string]int64{FigCSATResponses: 1, FigCSATScoreSum: v}
	if v >= 4 {
		c[FigCSATPositive] = 1
	}
	return r.write(ctx, conv, conv.Assignee, at, c)
}

func (r *Rollup) add(ctx context.Context, conv store.Conversation, agent string, at time.Time, c map[string]int64) {
	if err := r.write(ctx, conv, agent, at, c); err != nil {
		r.log.Warn("service figures not counted", "conversation", conv.ID, "err", err)
	}
}

// write adds c to the day, month and year cells of conv's channel, team
// and agent (summed in memory while the Rollup runs; else nine small
// concurrent writes, on Redis one round trip each).
func (r *Rollup) write(ctx context.Context, conv store.Conversation, agent string, at time.Time, c map[string]int64) error {
	var keys []string
	if conv.Channel != "" {
		keys = append(keys, FigureKey(GroupChannel, conv.Channel))
	}
	if conv.Team != "" {
		keys = append(keys, FigureKey(GroupTeam, conv.Team))
	}
	if agent != "" {
		keys = append(keys, FigureKey(GroupAgent, agent))
	}
	cells := []string{store.FigureDay(at), monthCell(at), yearCell(at)}
	if b := r.batch.Load(); b != nil {
		for _, k := range keys {
			for _, d := range cells {
				b.add(rollCell{k, d}, c)
			}
		}
		return nil
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, k := range keys {
		for _, d := range cells {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.st.AddFigures(ctx, store.FigureAdd{Channel: k, Day: d, Counts: c}); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s %s: %w", k, d, err))
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// keysOf lists the distinct names in order.
func keysOf(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}

// BreachCounter is switchboard_sla_breaches_total.
func (r *Rollup) BreachCounter() *prometheus.CounterVec { return r.breaches }
