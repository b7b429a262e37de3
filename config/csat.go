package config

import "time"

// CSAT scales.
const (
	CSATScale5      = "1-5"
	CSATScaleThumbs = "thumbs"
)

// DefaultCSATMinInterval is how long a customer surveyed once is not
// surveyed again (channels[].csat.min_interval unset).
const DefaultCSATMinInterval = 14 * 24 * time.Hour

// CSAT configures the satisfaction survey a channel sends after a
// conversation with an agent's reply is resolved (issue 17).
type CSAT struct {
	Enabled bool `yaml:"enabled"`
	// Delay after the resolution before the survey goes (0: at once).
	Delay Duration `yaml:"delay"`
	// Question is the survey's wording; empty: a default question.
	Question string `yaml:"question"`
	// Scale is "1-5" (the default) or "thumbs".
	Scale string `yaml:"scale"`
	// MinInterval: a customer surveyed within this long gets no other
	// survey (default 14 days, written 336h).
	MinInterval Duration `yaml:"min_interval"`
}

// ScaleOrDefault is the configured scale, "1-5" when unset.
func (c CSAT) ScaleOrDefault() string {
	if c.Scale == "" {
		return CSATScale5
	}
	return c.Scale
}

// MinIntervalOrDefault is the configured minimum interval, 14 days when unset.
func (c CSAT) MinIntervalOrDefault() time.Duration {
	if c.MinInterval <= 0 {
		return DefaultCSATMinInterval
	}
	return c.MinInterval.D()
}

func (c CSAT) validate(v *validator, p string) {
	if c.Scale != "" {
		v.oneOf(p+".scale", c.Scale, []string{CSATScale5, CSATScaleThumbs})
	}
	if c.Delay < 0 {
		v.add(p+".delay", "must not be negative")
	}
	if c.MinInterval < 0 {
		v.add(p+".min_interval", "must not be negative")
	}
	if len(c.Question) > 500 {
		v.add(p+".question", "is longer than 500 characters")
	}
}
