package config

import "time"

// DefaultSLABreachingBefore is automation.sla_breaching_before's default.
const DefaultSLABreachingBefore = Duration(15 * time.Minute)

// Automation configures automation rules (issue 24; the rules themselves
// are kept in the store and managed in the admin page and the API).
//
//	automation:
//	  sla_breaching_before: 15m
type Automation struct {
	// SLABreachingBefore is how long before an SLA target's due time the
	// rules of event sla.breaching run (once per conversation, target and
	// due time). One lead time for all rules: the timer is written when
	// the due time is set, before any rule is looked at. Default 15m.
	SLABreachingBefore Duration `yaml:"sla_breaching_before"`
}

func (c *Config) automationDefaults() {
	if c.Automation.SLABreachingBefore == 0 {
		c.Automation.SLABreachingBefore = DefaultSLABreachingBefore
	}
}

func (c *Config) validateAutomation(v *validator) {
	if c.Automation.SLABreachingBefore < 0 {
		v.add("automation.sla_breaching_before", "must be positive (got %s)", c.Automation.SLABreachingBefore)
	}
}
