package config

import (
	"fmt"
	"time"
)

// DefaultRetentionInterval is how often the retention sweeper runs.
const DefaultRetentionInterval = Duration(time.Hour)

// Retention configures the retention sweeper (channels[].retention says
// how long each channel's entries are kept).
type Retention struct {
	// Interval between sweeps; one replica runs each sweep (a lease).
	// Default 1h.
	Interval Duration `yaml:"interval"`
}

func (c *Config) retentionDefaults() {
	if c.Retention.Interval == 0 {
		c.Retention.Interval = DefaultRetentionInterval
	}
}

func (c *Config) validateRetention(v *validator) {
	if c.Retention.Interval < 0 {
		v.add("retention.interval", "must be positive (got %s)", c.Retention.Interval)
	}
	for i, ch := range c.Channels {
		if ch.Retention < 0 {
			v.add(fmt.Sprintf("channels[%d].retention", i), "must be positive or empty (keep for ever), got %s", ch.Retention)
		}
	}
}
