package identity

import "github.com/prometheus/client_golang/prometheus"

// Metrics are identity resolution's Prometheus counters.
type Metrics struct {
	Merges    prometheus.Counter
	Suggested prometheus.Counter
}

// NewMetrics creates the counters and registers them on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Merges: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_customer_merges_total",
			Help: "Automatic customer merges on verified evidence."}),
		Suggested: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_merge_suggestions_total",
			Help: "Merge suggestions recorded for agents."}),
	}
	if reg != nil {
		reg.MustRegister(m.Merges, m.Suggested)
	}
	return m
}
