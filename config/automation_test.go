package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestAutomationSLABreachingBefore: 15 minutes unless set; set from the
// file or the environment; a negative lead time is refused.
func TestAutomationSLABreachingBefore(t *testing.T) {
	if got := mustLoad(t, "", nil).Automation.SLABreachingBefore.D(); got != 15*time.Minute {
		t.Errorf("default %s, want 15m", got)
	}
	if got := mustLoad(t, writeConfig(t, "automation: {sla_breaching_before: 30m}\n"), nil).Automation.SLABreachingBefore.D(); got != 30*time.Minute {
		t.Errorf("from the file %s, want 30m", got)
	}
	if got := mustLoad(t, "", []string{"SWITCHBOARD_AUTOMATION_SLA_BREACHING_BEFORE=1h"}).Automation.SLABreachingBefore.D(); got != time.Hour {
		t.Errorf("from the environment %s, want 1h", got)
	}
	_, err := Load(writeConfig(t, "automation: {sla_breaching_before: -5m}\n"), nil)
	var ve ValidationErrors
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "automation.sla_breaching_before") {
		t.Fatalf("negative lead time: %v; want a validation error naming the key", err)
	}
}
