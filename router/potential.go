package router

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/store"
)

// PotentialRule is the ranking rule of the potential table, shown with it.
const PotentialRule = "score = volume_share + reach_share (reach_share: the channel's share of all customers seen on one channel only); higher score first, ties by match_rate, then by name"

// PotentialRow is one channel of the potential table.
type PotentialRow struct {
	Rank         int              `json:"rank"`
	Channel      string           `json:"channel"`
	Phase        string           `json:"phase"`
	MessagesIn   int64            `json:"messages_in"`
	VolumeShare  float64          `json:"volume_share"`
	NewCustomers int64            `json:"new_customers"`
	OnlyHere     int64            `json:"only_here"`
	ReachShare   float64          `json:"reach_share"`
	Overlap      map[string]int64 `json:"overlap"`
	MatchRate    float64          `json:"match_rate"`
	// TeamLoad is conversations opened per day in the period (would-be
	// conversations in shadow), by team in WouldRoute.
	TeamLoad   float64          `json:"team_load"`
	WouldRoute map[string]int64 `json:"would_route"`
	Score      float64          `json:"score"`
	Verdict    string           `json:"verdict"`
}

// Potential is GET /api/v1/channels/potential.
type Potential struct {
	From     time.Time      `json:"from"`
	To       time.Time      `json:"to"`
	Channels []PotentialRow `json:"channels"`
	Rule     string         `json:"rule"`
}

// DefaultPotentialDays is the potential table's period when none is given.
const DefaultPotentialDays = 30

// ChannelPotential ranks every channel that is not off over one period
// (default: the last 30 days), all phases counted.
func ChannelPotential(ctx context.Context, st store.Store, chans []directory.Channel, now time.Time, q ReadinessQuery) (Potential, error) {
	if q.To.IsZero() {
		q.To = now
	}
	if q.From.IsZero() {
		q.From = q.To.Add(-DefaultPotentialDays * 24 * time.Hour)
	}
	p := Potential{From: q.From.UTC(), To: q.To.UTC(), Channels: []PotentialRow{}, Rule: PotentialRule}
	var total, only int64
	days := max(q.To.Sub(q.From).Hours()/24, 1)
	for _, ch := range chans {
		if ch.Phase == store.PhaseOff {
			continue
		}
		rep, err := ChannelReadiness(ctx, st, ch, now, q)
		if err != nil {
			return p, err
		}
		verdict, _ := ChannelReadiness(ctx, st, ch, now, ReadinessQuery{})
		p.Channels = append(p.Channels, PotentialRow{Channel: ch.Name, Phase: ch.Phase, MessagesIn: rep.MessagesIn,
			NewCustomers: rep.NewCustomers, OnlyHere: rep.Reach.OnlyHere, Overlap: rep.Reach.Overlap, MatchRate: rep.MatchRate,
			TeamLoad: round2(float64(rep.conversations) / days), WouldRoute: rep.WouldRoute, Verdict: verdict.Verdict})
		total += rep.MessagesIn
		only += max(rep.Reach.OnlyHere, 0)
	}
	for i := range p.Channels {
		r := &p.Channels[i]
		r.VolumeShare = rate(r.MessagesIn, total)
		r.ReachShare = rate(max(r.OnlyHere, 0), only)
		r.Score = math.Round((r.VolumeShare+r.ReachShare)*1e4) / 1e4
	}
	sort.SliceStable(p.Channels, func(i, j int) bool {
		a, b := p.Channels[i], p.Channels[j]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		if a.MatchRate != b.MatchRate {
			return a.MatchRate > b.MatchRate
		}
		return a.Channel < b.Channel
	})
	for i := range p.Channels {
		p.Channels[i].Rank = i + 1
	}
	return p, nil
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// AdoptionCollector exports each channel's readiness verdict (1 ready, 0
// not ready) and match rate since its phase began as Prometheus gauges,
// read from the figures at scrape time.
type AdoptionCollector struct {
	st       store.Store
	dir      *directory.Directory
	clock    store.Clock
	ready    *prometheus.Desc
	match    *prometheus.Desc
	messages *prometheus.Desc
}

// NewAdoptionCollector returns the collector of the adoption gauges.
func NewAdoptionCollector(st store.Store, dir *directory.Directory, clock store.Clock) *AdoptionCollector {
	return &AdoptionCollector{st: st, dir: dir, clock: clock,
		ready: prometheus.NewDesc("switchboard_channel_ready",
			"Readiness verdict of the channel's current phase: 1 ready, 0 not_ready.", []string{"channel", "phase"}, nil),
		match: prometheus.NewDesc("switchboard_channel_match_rate",
			"(matched.verified + matched.claimed) / messages_in since the channel's current phase began.", []string{"channel", "phase"}, nil),
		messages: prometheus.NewDesc("switchboard_channel_phase_messages",
			"Messages received since the channel's current phase began.", []string{"channel", "phase"}, nil)}
}

func (c *AdoptionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.ready
	ch <- c.match
	ch <- c.messages
}

func (c *AdoptionCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, chn := range c.dir.List() {
		if chn.Phase == store.PhaseOff {
			continue
		}
		rep, err := ChannelReadiness(ctx, c.st, chn, c.clock(), ReadinessQuery{})
		if err != nil {
			continue
		}
		ready := 0.0
		if rep.Verdict == VerdictReady {
			ready = 1
		}
		ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, ready, chn.Name, chn.Phase)
		ch <- prometheus.MustNewConstMetric(c.match, prometheus.GaugeValue, rep.MatchRate, chn.Name, chn.Phase)
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(rep.MessagesIn), chn.Name, chn.Phase)
	}
}
