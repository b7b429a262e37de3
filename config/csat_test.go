package config

import (
	"testing"
	"time"
)

// TestCSATDefaultsAndEnv: an enabled survey without scale or min_interval
// takes 1-5 and 14 days; environment variables set every key.
func TestCSATDefaultsAndEnv(t *testing.T) {
	p := writeConfig(t, "channels:\n  - {name: partners, type: api, csat: {enabled: true}}\n")
	cfg := mustLoad(t, p, nil)
	c := cfg.Channels[0].CSAT
	if !c.Enabled || c.ScaleOrDefault() != CSATScale5 || c.MinIntervalOrDefault() != 14*24*time.Hour || c.Delay != 0 {
		t.Fatalf("defaults: %+v", c)
	}
	cfg = mustLoad(t, p, []string{"SWITCHBOARD_CHANNELS_0_CSAT_SCALE=thumbs", "SWITCHBOARD_CHANNELS_0_CSAT_DELAY=30m",
		"SWITCHBOARD_CHANNELS_0_CSAT_MIN_INTERVAL=48h", "SWITCHBOARD_CHANNELS_0_CSAT_QUESTION=Happy?"})
	c = cfg.Channels[0].CSAT
	if c.Scale != CSATScaleThumbs || c.Delay.D() != 30*time.Minute || c.MinIntervalOrDefault() != 48*time.Hour || c.Question != "Happy?" {
		t.Fatalf("from the environment: %+v", c)
	}
}
