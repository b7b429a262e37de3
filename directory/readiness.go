package directory

import "time"

// Readiness are the criteria a channel's figures must meet before it is
// promoted (channels[].readiness). Zero fields take the defaults
// (WithDefaults); a criterion is switched off by a negative value
// (min_* < 0, max_* < 0).
type Readiness struct {
	// MinDays in the current phase (default 7).
	MinDays int `json:"min_days"`
	// MinMessages received in the current phase (default 100).
	MinMessages int64 `json:"min_messages"`
	// MinMatchRate of (matched.verified + matched.claimed) / messages_in
	// (default 0.5).
	MinMatchRate float64 `json:"min_match_rate"`
	// MaxFailureRate of outbound failed / (sent + delivered + failed),
	// judged once anything was sent (default 0.05).
	MaxFailureRate float64 `json:"max_failure_rate"`
	// MaxDeadLetters: dead-lettered inbound messages (default 0: any is
	// too many; -1 switches it off). Zero is a bound here, not "unset".
	MaxDeadLetters int64 `json:"max_dead_letters"`
	// MaxFirstResponse is the bound of the first-response p90 in pilot and
	// live (default 4h).
	MaxFirstResponse time.Duration `json:"max_first_response"`
}

// Readiness defaults (docs/CONFIG.md).
const (
	DefaultMinDays          = 7
	DefaultMinMessages      = 100
	DefaultMinMatchRate     = 0.5
	DefaultMaxFailureRate   = 0.05
	DefaultMaxDeadLetters   = 0
	DefaultMaxFirstResponse = 4 * time.Hour
)

// WithDefaults fills the criteria not given.
func (r Readiness) WithDefaults() Readiness {
	if r.MinDays == 0 {
		r.MinDays = DefaultMinDays
	}
	if r.MinMessages == 0 {
		r.MinMessages = DefaultMinMessages
	}
	if r.MinMatchRate == 0 {
		r.MinMatchRate = DefaultMinMatchRate
	}
	if r.MaxFailureRate == 0 {
		r.MaxFailureRate = DefaultMaxFailureRate
	}
	if r.MaxFirstResponse == 0 {
		r.MaxFirstResponse = DefaultMaxFirstResponse
	}
	return r
}

// Now is the directory's clock (phase changes and readiness share it).
func (d *Directory) Now() time.Time { return d.clock() }
