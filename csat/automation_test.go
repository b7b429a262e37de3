package csat_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/automation"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/labels"
	"github.com/switchboard-hub/switchboard/store"
)

// TestCSATReceivedRules (issue 24), on both stores: csat.received rules
// run in the compare-and-swap that records the answer, chosen by score; a
// 1 labels the conversation unhappy and writes one note; the same answer
// processed again (the provider's retry under another delivery) records
// nothing twice.
func TestCSATReceivedRules(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		cat := labels.New(st)
		for _, l := range []string{"unhappy", "happy"} {
			if err := cat.PutLabel(h.ctx, labels.Label{Name: l}, "root"); err != nil {
				t.Fatal(err)
			}
		}
		en := automation.New(st, cat, automation.Options{})
		bad := automation.Rule{ID: "x", Name: "bad", Event: automation.EventCSATReceived, Enabled: true,
			Conditions: []automation.Condition{{Type: automation.CondCSATScore, Value: "5-1"}}, Actions: []automation.Action{{Type: automation.ActResolve}}}
		if err := en.PutRules(h.ctx, []automation.Rule{bad}, "root"); err == nil || !strings.Contains(err.Error(), "csat_score") {
			t.Fatalf("a score range 5-1: %v, want a csat_score error", err)
		}
		if err := en.PutRules(h.ctx, []automation.Rule{
			{ID: "unhappy", Name: "Unhappy", Event: automation.EventCSATReceived, Enabled: true,
				Conditions: []automation.Condition{{Type: automation.CondCSATScore, Value: "1-2"}},
				Actions:    []automation.Action{{Type: automation.ActAddLabel, Value: "unhappy"}, {Type: automation.ActAddNote, Text: "Call {{customer.name}} back"}}},
			{ID: "happy", Name: "Happy", Event: automation.EventCSATReceived, Enabled: true,
				Conditions: []automation.Condition{{Type: automation.CondCSATScore, Value: "4-5"}},
				Actions:    []automation.Action{{Type: automation.ActAddLabel, Value: "happy"}}},
		}, "root"); err != nil {
			t.Fatal(err)
		}
		h.cs.SetAutomation(&automation.Runner{En: en, Convs: h.convs})
		c := h.served("text", ann)
		h.clock.Advance(time.Hour)
		h.sendDue(1)
		var msg connectors.Message
		a := h.receive("text", ann, "1 never again", func(m *connectors.Message) { msg = *m })
		if a.Kind != store.KindCSAT {
			t.Fatalf("answer %+v", a)
		}
		notes := func() int {
			n := 0
			for _, e := range h.entries(c.CustomerID) {
				if e.Kind == store.KindNote && strings.HasPrefix(e.Text, "Call ") {
					n++
				}
			}
			return n
		}
		got := h.conv(c.ID)
		if !slices.Equal(got.Labels, []string{"unhappy"}) || got.Status != store.StatusResolved || notes() != 1 {
			t.Fatalf("after a 1: labels %v status %s, %d notes; want unhappy, resolved, one note", got.Labels, got.Status, notes())
		}
		// The same answer again, as a provider's retry.
		msg.ID = ""
		m, err := h.in.Prepare(msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.rt.Process(h.ctx, m); err != nil {
			t.Fatal(err)
		}
		if got := h.conv(c.ID); !slices.Equal(got.Labels, []string{"unhappy"}) || notes() != 1 {
			t.Fatalf("after the same answer again: labels %v, %d notes", got.Labels, notes())
		}
	})
}
