package config

import (
	"testing"
	"time"
)

func TestChannelReadiness(t *testing.T) {
	p := writeConfig(t, `
channels:
  - name: web
    type: api
    phase: shadow
    readiness: {min_days: 14, min_messages: 300, min_match_rate: 0.8, max_failure_rate: 0.02, max_dead_letters: -1, max_first_response: 2h}
`)
	cfg := mustLoad(t, p, []string{"SWITCHBOARD_CHANNELS_0_READINESS_MIN_DAYS=21"})
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Readiness{MinDays: 21, MinMessages: 300, MinMatchRate: 0.8, MaxFailureRate: 0.02, MaxDeadLetters: -1, MaxFirstResponse: Duration(2 * time.Hour)}
	if got := cfg.Channels[0].Readiness; got != want {
		t.Fatalf("readiness %+v, want %+v", got, want)
	}
}
