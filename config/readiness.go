package config

// Readiness is channels[].readiness: the criteria of a channel's readiness
// verdict, which guards its promotion (issue 16). A field left out (0)
// takes its default; a negative value switches the criterion off, except
// max_dead_letters, whose 0 is its default bound (-1 switches it off).
//
//	min_days            7     days in the current phase
//	min_messages        100   messages received in the current phase
//	min_match_rate      0.5   (matched.verified + matched.claimed) / messages_in
//	max_failure_rate    0.05  outbound failed / replies that left the queue
//	max_dead_letters    0     inbound messages dead-lettered
//	max_first_response  4h    first-response p90 (pilot and live)
type Readiness struct {
	MinDays          int      `yaml:"min_days"`
	MinMessages      int64    `yaml:"min_messages"`
	MinMatchRate     float64  `yaml:"min_match_rate"`
	MaxFailureRate   float64  `yaml:"max_failure_rate"`
	MaxDeadLetters   int64    `yaml:"max_dead_letters"`
	MaxFirstResponse Duration `yaml:"max_first_response"`
}

func (r Readiness) validate(v *validator, p string) {
	if r.MinMatchRate > 1 {
		v.add(p+".min_match_rate", "must be at most 1 (got %g)", r.MinMatchRate)
	}
	if r.MaxFailureRate > 1 {
		v.add(p+".max_failure_rate", "must be at most 1 (got %g)", r.MaxFailureRate)
	}
	if r.MaxDeadLetters < -1 {
		v.add(p+".max_dead_letters", "must be -1 (off) or more (got %d)", r.MaxDeadLetters)
	}
}
