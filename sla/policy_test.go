package sla

import (
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// TestShadowGetsNoSLA: a shadow conversation has nothing due; when its
// channel goes live, its clock starts with the message that brings it to
// the agents, not with the first message in shadow.
func TestShadowGetsNoSLA(t *testing.T) {
	p := NewPolicies([]Policy{{Name: "all", FirstResponse: time.Hour}})
	t0 := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	c := store.Conversation{Channel: "web", Audience: store.AudienceShadow, FirstInboundAt: t0, LastInboundAt: t0}
	before := c
	before.FirstInboundAt, before.LastInboundAt = time.Time{}, time.Time{}
	p.Apply(before, &c, t0)
	if c.SLA != nil {
		t.Fatalf("shadow conversation has an SLA: %+v", *c.SLA)
	}
	live := c
	t1 := t0.Add(72 * time.Hour)
	live.Audience, live.LastInboundAt = store.AudienceAll, t1
	p.Apply(c, &live, t1)
	if live.SLA == nil || !live.SLA.Due.Equal(t1.Add(time.Hour)) {
		t.Fatalf("after going live: %+v", live.SLA)
	}
}

// TestApplyDoesNotShareState: Apply changes a copy of the SLA, never the
// one the conversation before the change points to.
func TestApplyDoesNotShareState(t *testing.T) {
	p := NewPolicies([]Policy{{Name: "all", FirstResponse: time.Hour}})
	t0 := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	c := store.Conversation{Channel: "web", FirstInboundAt: t0, LastInboundAt: t0}
	p.Apply(store.Conversation{}, &c, t0)
	before := c
	c.FirstReplyAt, c.Replies = t0.Add(2*time.Hour), 1
	p.Apply(before, &c, c.FirstReplyAt)
	if len(c.SLA.Breached) != 1 || len(before.SLA.Breached) != 0 || before.SLA.Due.IsZero() || !c.SLA.Due.IsZero() {
		t.Fatalf("before %+v, after %+v", *before.SLA, *c.SLA)
	}
}
