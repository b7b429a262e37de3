package webhooks

import "github.com/prometheus/client_golang/prometheus"

// metrics are per endpoint.
type metrics struct {
	attempts *prometheus.CounterVec   // endpoint, result: delivered | failed | gave_up | disabled
	latency  *prometheus.HistogramVec // endpoint
	pending  *prometheus.GaugeVec     // endpoint
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_webhook_attempts_total",
			Help: "Outgoing webhook delivery attempts by endpoint and result (delivered, failed, gave_up, disabled)."}, []string{"endpoint", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchboard_webhook_attempt_seconds",
			Help:    "Duration of one outgoing webhook request.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"endpoint"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchboard_webhook_pending",
			Help: "Deliveries waiting for their (next) attempt, as last seen by the dispatcher."}, []string{"endpoint"}),
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.latency, m.pending)
	}
	return m
}
