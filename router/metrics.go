package router

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-hub/switchboard/identity"
)

// Metrics are the router's Prometheus metrics, and identity resolution's,
// registered together so cmd/switchboard creates them in one call.
type Metrics struct {
	Ingested   *prometheus.CounterVec
	Deduped    *prometheus.CounterVec
	Processed  *prometheus.CounterVec
	Failed     *prometheus.CounterVec
	DeadLetter *prometheus.CounterVec
	Identity   *identity.Metrics // merges and merge suggestions
	Latency    *prometheus.HistogramVec
	Outbound   *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Ingested: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_messages_ingested_total",
			Help: "Messages accepted into the ingest queue."}, []string{"channel"}),
		Deduped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_messages_deduped_total",
			Help: "Deliveries of a message that was already on a timeline."}, []string{"channel"}),
		Processed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_messages_processed_total",
			Help: "Messages written to a timeline."}, []string{"channel"}),
		Failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_messages_failed_total",
			Help: "Processing attempts that failed (retried later)."}, []string{"channel"}),
		DeadLetter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_dead_letters_total",
			Help: "Queue items moved to the dead letters."}, []string{"queue"}),
		Identity: identity.NewMetrics(reg),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchboard_ingest_latency_seconds",
			Help:    "From acceptance by the channel to the timeline append.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"channel"}),
		Outbound: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_outbound_total",
			Help: "Outbound send attempts by result."}, []string{"channel", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.Ingested, m.Deduped, m.Processed, m.Failed, m.DeadLetter, m.Latency, m.Outbound)
	}
	return m
}
