package automation

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/store"
)

var at = time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)

func msg() store.Entry {
	return store.Entry{ID: "m1", Channel: "invoices", Subject: "Lasku 42", Text: "Hello, my invoice is wrong",
		Sender: &connectors.Identity{Type: "email", Value: "vip@example.com"}, OccurredAt: at}
}

func conv() store.Conversation {
	return store.Conversation{ID: ids.Derived("v_", "m1"), Status: store.StatusOpen, Labels: []string{"vip"},
		Attributes: map[string]string{"plan": "gold"}}
}

// TestConditions: each condition type, holding and not, and negated.
func TestConditions(t *testing.T) {
	old := conv()
	old.ID = "v_older"
	for _, tc := range []struct {
		name string
		c    Condition
		conv store.Conversation
		want bool
	}{
		{"channel", Condition{Type: CondChannel, Value: "invoices"}, conv(), true},
		{"channel other", Condition{Type: CondChannel, Value: "sms"}, conv(), false},
		{"channel negated", Condition{Type: CondChannel, Value: "sms", Not: true}, conv(), true},
		{"text in subject, any case", Condition{Type: CondTextContains, Value: "LASKU"}, conv(), true},
		{"text in body", Condition{Type: CondTextContains, Value: "invoice"}, conv(), true},
		{"text absent", Condition{Type: CondTextContains, Value: "refund"}, conv(), false},
		{"regexp", Condition{Type: CondTextMatches, Value: `lasku \d+`}, conv(), true},
		{"regexp no", Condition{Type: CondTextMatches, Value: `^refund`}, conv(), false},
		{"sender value", Condition{Type: CondSender, Value: "VIP@example.com"}, conv(), true},
		{"sender type:value", Condition{Type: CondSender, Value: "email:vip@example.com"}, conv(), true},
		{"sender other", Condition{Type: CondSender, Value: "x@example.com"}, conv(), false},
		{"label", Condition{Type: CondLabel, Value: "vip"}, conv(), true},
		{"label absent", Condition{Type: CondLabel, Value: "billing"}, conv(), false},
		{"attribute", Condition{Type: CondAttribute, Name: "plan", Value: "gold"}, conv(), true},
		{"attribute other", Condition{Type: CondAttribute, Name: "plan", Value: "free"}, conv(), false},
		{"hours inside", Condition{Type: CondHours, Value: "09:00-17:00"}, conv(), true},
		{"hours outside", Condition{Type: CondHours, Value: "17:00-09:00"}, conv(), false},
		{"new conversation", Condition{Type: CondNewConv}, conv(), true},
		{"older conversation", Condition{Type: CondNewConv}, old, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Rule{Conditions: []Condition{tc.c}}
			compile(r.Conditions)
			if got := Matches(r, msg(), tc.conv); got != tc.want {
				t.Fatalf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestActions: each action's effect on the conversation.
func TestActions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		a     Action
		check func(c store.Conversation) bool
	}{
		{"add label", Action{Type: ActAddLabel, Value: "billing"}, func(c store.Conversation) bool {
			return slices.Equal(c.Labels, []string{"billing", "vip"})
		}},
		{"add label twice is once", Action{Type: ActAddLabel, Value: "vip"}, func(c store.Conversation) bool { return slices.Equal(c.Labels, []string{"vip"}) }},
		{"remove label", Action{Type: ActRemoveLabel, Value: "vip"}, func(c store.Conversation) bool { return len(c.Labels) == 0 }},
		{"assign team", Action{Type: ActAssignTeam, Value: "billing"}, func(c store.Conversation) bool { return c.Team == "billing" }},
		{"assign agent", Action{Type: ActAssignAgent, Value: "alice"}, func(c store.Conversation) bool { return c.Assignee == "alice" }},
		{"set attribute", Action{Type: ActSetAttribute, Name: "plan", Value: "free"}, func(c store.Conversation) bool { return c.Attributes["plan"] == "free" }},
		{"clear attribute", Action{Type: ActSetAttribute, Name: "plan"}, func(c store.Conversation) bool { return c.Attributes["plan"] == "" }},
		{"resolve", Action{Type: ActResolve}, func(c store.Conversation) bool { return c.Status == store.StatusResolved && c.ResolvedAt.Equal(at) }},
		{"snooze", Action{Type: ActSnooze, Value: "2h"}, func(c store.Conversation) bool {
			return c.Status == store.StatusSnoozed && c.SnoozedUntil.Equal(at.Add(2*time.Hour))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := conv()
			before := conv()
			did := Apply([]Action{tc.a}, &c, at)
			if !tc.check(c) || len(did) != 1 {
				t.Fatalf("after %+v: %+v (did %v)", tc.a, c, did)
			}
			if !slices.Equal(before.Labels, conv().Labels) {
				t.Fatal("Apply changed a shared slice")
			}
		})
	}
}

// TestRunInOrder: rules run in order, each seeing what the ones before
// did; a rule whose conditions fail does nothing.
func TestRunInOrder(t *testing.T) {
	rs := []Rule{
		{ID: "a", Conditions: []Condition{{Type: CondTextContains, Value: "lasku"}}, Actions: []Action{{Type: ActAddLabel, Value: "billing"}}},
		{ID: "b", Conditions: []Condition{{Type: CondLabel, Value: "billing"}}, Actions: []Action{{Type: ActAssignTeam, Value: "billing"}}},
		{ID: "c", Conditions: []Condition{{Type: CondChannel, Value: "sms"}}, Actions: []Action{{Type: ActResolve}}},
	}
	c := conv()
	fired := Run(rs, msg(), &c)
	if len(fired) != 2 || fired[0].Rule != "a" || fired[1].Rule != "b" || c.Team != "billing" || c.Status != store.StatusOpen {
		t.Fatalf("fired %+v, conversation %+v", fired, c)
	}
}
