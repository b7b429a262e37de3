package csat

import "github.com/prometheus/client_golang/prometheus"

// Metrics count surveys and answers per channel.
type Metrics struct {
	// Surveys: result sent, or skipped with the reason (min_interval,
	// consent, phase, no_reply, no_recipient, reopened).
	Surveys *prometheus.CounterVec
	// Answers: via reply (a channel message) or page (the link).
	Answers *prometheus.CounterVec
}

// NewMetrics registers the survey metrics with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Surveys: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_csat_surveys_total",
			Help: "Satisfaction surveys due, by channel and result (sent, or the reason none went)."}, []string{"channel", "result"}),
		Answers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_csat_answers_total",
			Help: "Satisfaction survey answers recorded, by channel and how they came (reply, page)."}, []string{"channel", "via"}),
	}
	if reg != nil {
		reg.MustRegister(m.Surveys, m.Answers)
	}
	return m
}
