package automation

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/sla/calendar"
	"github.com/switchboard-hub/switchboard/store"
)

var at = time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)

func msg() store.Entry {
	return store.Entry{ID: "m1", Channel: "invoices", Subject: "Lasku 42", Text: "Hello, my invoice is wrong",
		Sender: &connectors.Identity{Type: "email", Value: "vip@example.com"}, OccurredAt: at}
}

// subj is msg as the message.received event, with a customer who has
// the label "vip-customer" and attribute tier=gold, seen before, and a
// Monday 09-17 Helsinki calendar "office".
func subj() Subject {
	cal, err := calendar.New("office", "Europe/Helsinki", map[string]string{"mon": "09:00-17:00"}, nil)
	if err != nil {
		panic(err)
	}
	return Subject{Event: EventMessageReceived, Key: "m1", Entry: msg(), At: at, SeenBefore: true,
		Customer:  &store.Customer{ID: "c1", Name: "Ada", Labels: []string{"vip-customer"}, Attributes: map[string]string{"tier": "gold"}},
		Calendars: map[string]*calendar.Calendar{"office": cal}}
}

func conv() store.Conversation {
	return store.Conversation{ID: ids.Derived("v_", "m1"), Status: store.StatusOpen, Labels: []string{"vip"},
		Attributes: map[string]string{"plan": "gold"}}
}

// TestConditions: each condition type, holding and not, and negated.
func TestConditions(t *testing.T) {
	old := conv()
	old.ID = "v_older"
	shadow, pilot := conv(), conv()
	shadow.Audience, pilot.Audience = store.AudienceShadow, "team:billing"
	night, firstTime, noCustomer, labelAdded := subj(), subj(), subj(), subj()
	night.At = time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC) // 20:00 in Helsinki
	firstTime.SeenBefore = false
	noCustomer.Customer = nil
	labelAdded.Event, labelAdded.Added, labelAdded.Entry = EventLabelAdded, []string{"urgent"}, store.Entry{}
	for _, tc := range []struct {
		name string
		c    Condition
		conv store.Conversation
		want bool
		s    *Subject
	}{
		{"phase live", Condition{Type: CondPhase, Value: "live"}, conv(), true, nil},
		{"phase shadow", Condition{Type: CondPhase, Value: "shadow"}, shadow, true, nil},
		{"phase pilot", Condition{Type: CondPhase, Value: "pilot"}, pilot, true, nil},
		{"phase pilot on live", Condition{Type: CondPhase, Value: "pilot"}, conv(), false, nil},
		{"business hours inside (Mon 12:30 Helsinki)", Condition{Type: CondBusinessHours, Value: "office"}, conv(), true, nil},
		{"business hours outside (Mon 20:00 Helsinki)", Condition{Type: CondBusinessHours, Value: "office"}, conv(), false, &night},
		{"outside business hours (negated)", Condition{Type: CondBusinessHours, Value: "office", Not: true}, conv(), true, &night},
		{"business hours unknown calendar", Condition{Type: CondBusinessHours, Value: "nope"}, conv(), false, nil},
		{"customer seen before", Condition{Type: CondSeenBefore}, conv(), true, nil},
		{"customer first time", Condition{Type: CondSeenBefore}, conv(), false, &firstTime},
		{"customer label", Condition{Type: CondCustomerLabel, Value: "vip-customer"}, conv(), true, nil},
		{"customer label absent", Condition{Type: CondCustomerLabel, Value: "vip"}, conv(), false, nil},
		{"customer label, customer unknown", Condition{Type: CondCustomerLabel, Value: "vip-customer"}, conv(), false, &noCustomer},
		{"customer attribute", Condition{Type: CondCustomerAttr, Name: "tier", Value: "gold"}, conv(), true, nil},
		{"customer attribute other", Condition{Type: CondCustomerAttr, Name: "tier", Value: "free"}, conv(), false, nil},
		{"added label", Condition{Type: CondAddedLabel, Value: "urgent"}, conv(), true, &labelAdded},
		{"added label other", Condition{Type: CondAddedLabel, Value: "vip"}, conv(), false, &labelAdded},
		{"channel of the conversation (no message)", Condition{Type: CondChannel, Value: "invoices"}, func() store.Conversation { c := conv(); c.Channel = "invoices"; return c }(), true, &labelAdded},
		{"channel", Condition{Type: CondChannel, Value: "invoices"}, conv(), true, nil},
		{"channel other", Condition{Type: CondChannel, Value: "sms"}, conv(), false, nil},
		{"channel negated", Condition{Type: CondChannel, Value: "sms", Not: true}, conv(), true, nil},
		{"text in subject, any case", Condition{Type: CondTextContains, Value: "LASKU"}, conv(), true, nil},
		{"text in body", Condition{Type: CondTextContains, Value: "invoice"}, conv(), true, nil},
		{"text absent", Condition{Type: CondTextContains, Value: "refund"}, conv(), false, nil},
		{"regexp", Condition{Type: CondTextMatches, Value: `lasku \d+`}, conv(), true, nil},
		{"regexp no", Condition{Type: CondTextMatches, Value: `^refund`}, conv(), false, nil},
		{"sender value", Condition{Type: CondSender, Value: "VIP@example.com"}, conv(), true, nil},
		{"sender type:value", Condition{Type: CondSender, Value: "email:vip@example.com"}, conv(), true, nil},
		{"sender other", Condition{Type: CondSender, Value: "x@example.com"}, conv(), false, nil},
		{"label", Condition{Type: CondLabel, Value: "vip"}, conv(), true, nil},
		{"label absent", Condition{Type: CondLabel, Value: "billing"}, conv(), false, nil},
		{"attribute", Condition{Type: CondAttribute, Name: "plan", Value: "gold"}, conv(), true, nil},
		{"attribute other", Condition{Type: CondAttribute, Name: "plan", Value: "free"}, conv(), false, nil},
		{"hours inside", Condition{Type: CondHours, Value: "09:00-17:00"}, conv(), true, nil},
		{"hours outside", Condition{Type: CondHours, Value: "17:00-09:00"}, conv(), false, nil},
		{"new conversation", Condition{Type: CondNewConv}, conv(), true, nil},
		{"older conversation", Condition{Type: CondNewConv}, old, false, nil},
		{"priority", Condition{Type: CondPriority, Value: "high"}, func() store.Conversation { c := conv(); c.Priority = "high"; return c }(), true, nil},
		{"priority other", Condition{Type: CondPriority, Value: "urgent"}, func() store.Conversation { c := conv(); c.Priority = "high"; return c }(), false, nil},
		{"priority none", Condition{Type: CondPriority, Value: "none"}, conv(), true, nil},
		{"priority none, has one", Condition{Type: CondPriority, Value: "none"}, func() store.Conversation { c := conv(); c.Priority = "low"; return c }(), false, nil},
		{"priority not urgent (negated)", Condition{Type: CondPriority, Value: "urgent", Not: true}, conv(), true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Rule{Conditions: []Condition{tc.c}}
			compile(r.Conditions)
			s := subj()
			if tc.s != nil {
				s = *tc.s
			}
			if got := Matches(r, s, tc.conv); got != tc.want {
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
		{"set priority", Action{Type: ActSetPriority, Value: "urgent"}, func(c store.Conversation) bool { return c.Priority == store.PriorityUrgent }},
		{"set priority none", Action{Type: ActSetPriority, Value: "none"}, func(c store.Conversation) bool { return c.Priority == store.PriorityNone }},
		{"resolve", Action{Type: ActResolve}, func(c store.Conversation) bool { return c.Status == store.StatusResolved && c.ResolvedAt.Equal(at) }},
		{"snooze", Action{Type: ActSnooze, Value: "2h"}, func(c store.Conversation) bool {
			return c.Status == store.StatusSnoozed && c.SnoozedUntil.Equal(at.Add(2*time.Hour))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := conv()
			before := conv()
			did, fx := Apply("r", []Action{tc.a}, &c, at)
			if !tc.check(c) || len(did) != 1 || len(fx) != 0 {
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
		{ID: "a", Event: EventMessageReceived, Conditions: []Condition{{Type: CondTextContains, Value: "lasku"}}, Actions: []Action{{Type: ActAddLabel, Value: "billing"}}},
		{ID: "b", Event: EventMessageReceived, Conditions: []Condition{{Type: CondLabel, Value: "billing"}}, Actions: []Action{{Type: ActAssignTeam, Value: "billing"}}},
		{ID: "c", Event: EventMessageReceived, Conditions: []Condition{{Type: CondChannel, Value: "sms"}}, Actions: []Action{{Type: ActResolve}}},
	}
	c := conv()
	fired := Run(rs, subj(), &c)
	if len(fired) != 2 || fired[0].Rule != "a" || fired[1].Rule != "b" || c.Team != "billing" || c.Status != store.StatusOpen {
		t.Fatalf("fired %+v, conversation %+v", fired, c)
	}
}
