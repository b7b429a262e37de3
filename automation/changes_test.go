package automation_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/automation"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/labels"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// crashAfterChange loses the records and effects of the first change, as
// when the process dies right after the change's compare-and-swap.
type crashAfterChange struct {
	*automation.Runner
	crashed bool
}

func (c *crashAfterChange) PrepareChange(ctx context.Context, cur store.Conversation, by string) (func(store.Conversation, *store.Conversation, time.Time), func(context.Context, store.Conversation), error) {
	apply, after, err := c.Runner.PrepareChange(ctx, cur, by)
	if !c.crashed && apply != nil {
		c.crashed = true
		return apply, nil, err
	}
	return apply, after, err
}

type hooks struct{ keys map[string]string }

func (h *hooks) Record(ctx context.Context, typ, key, customerID string, data any) error {
	return h.RecordAll(ctx, []timeline.Hook{{Type: typ, Key: key}})
}

func (h *hooks) RecordAll(_ context.Context, hs []timeline.Hook) error {
	for _, x := range hs {
		h.keys[x.Key] = x.Type
	}
	return nil
}

func (h *hooks) count(typ string) int {
	n := 0
	for _, t := range h.keys {
		if t == typ {
			n++
		}
	}
	return n
}

// TestRulesOnAgentChanges (issue 24), on both stores: label.added and
// conversation.resolved rules run inside the agent's change. A label a
// rule adds raises no label.added (no loops): the rule waiting for it does
// not run, while the same label added by an agent runs it. A crash right
// after the change leaves the records and the note to the sweeper, which
// makes them once; sweeping again adds nothing.
func TestRulesOnAgentChanges(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		start := time.Now().Add(-time.Minute)
		cat := labels.New(st)
		for _, l := range []string{"urgent", "escalated", "loop"} {
			if err := cat.PutLabel(ctx, labels.Label{Name: l}, "root"); err != nil {
				t.Fatal(err)
			}
		}
		en := automation.New(st, cat, automation.Options{Teams: []string{"support"}})
		if err := en.PutRules(ctx, []automation.Rule{
			{ID: "escalate", Name: "Escalate", Event: automation.EventLabelAdded, Enabled: true,
				Conditions: []automation.Condition{{Type: automation.CondAddedLabel, Value: "urgent"}},
				Actions: []automation.Action{{Type: automation.ActAddLabel, Value: "escalated"}, {Type: automation.ActAssignTeam, Value: "support"},
					{Type: automation.ActAddNote, Text: "Escalated {{conversation.id}}"}}},
			{ID: "loop", Name: "Would loop", Event: automation.EventLabelAdded, Enabled: true,
				Conditions: []automation.Condition{{Type: automation.CondAddedLabel, Value: "escalated"}},
				Actions:    []automation.Action{{Type: automation.ActAddLabel, Value: "loop"}}},
			{ID: "closed", Name: "Closed", Event: automation.EventConversationResolved, Enabled: true,
				Actions: []automation.Action{{Type: automation.ActAddNote, Text: "Resolved"}, {Type: automation.ActWebhook, Value: "crm"}}},
		}, "root"); err != nil {
			t.Fatal(err)
		}
		h := &hooks{keys: map[string]string{}}
		convs := timeline.NewService(st, timeline.Options{Webhooks: h})
		convs.OnChange(&crashAfterChange{Runner: &automation.Runner{En: en, Convs: convs}})
		dir := directory.New(st, []directory.Channel{{Name: "crm", Type: "api", Phase: store.PhaseLive}}, store.SystemClock, nil)
		rt := router.New(st, dir, router.Options{Conversations: convs})
		msg := connectors.Message{ID: "crm:c1", Channel: "crm", ProviderID: "c1", Text: "help",
			Identities: []connectors.Identity{{Type: connectors.Email, Value: "ola@example.com", Verified: true}}, ReceivedAt: time.Now(), OccurredAt: time.Now()}
		if err := rt.Process(ctx, msg); err != nil {
			t.Fatal(err)
		}
		e, err := st.GetEntry(ctx, msg.ID)
		if err != nil {
			t.Fatal(err)
		}
		id := e.ConversationID
		count := func() (notes, events, audits int) {
			for _, e := range hubtest.Timeline(t, st, "email:ola@example.com") {
				switch {
				case e.Kind == store.KindNote:
					notes++
				case e.Kind == store.KindEvent && strings.HasPrefix(e.Text, "Rule "):
					events++
				}
			}
			recs, err := st.ListAudit(ctx, 200)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if r.Action == "rule.run" {
					audits++
				}
			}
			return
		}
		sweep := func() {
			if _, err := convs.SweepPendingEvents(ctx, start); err != nil {
				t.Fatal(err)
			}
		}

		c, err := convs.Update(ctx, id, timeline.Change{AddLabels: []string{"urgent"}}, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.Labels, []string{"escalated", "urgent"}) || c.Team != "support" {
			t.Fatalf("after the agent's label: labels %v team %q; want escalated, urgent (no loop) and support", c.Labels, c.Team)
		}
		if n, ev, a := count(); n+ev+a != 0 {
			t.Fatalf("after the crash: %d notes, %d events, %d audit records; want none yet", n, ev, a)
		}
		for i := 0; i < 2; i++ {
			sweep()
			if n, ev, a := count(); n != 1 || ev != 1 || a != 1 {
				t.Fatalf("after sweep %d: %d notes, %d events, %d audit records; want one each", i+1, n, ev, a)
			}
		}
		// An agent adding the label a rule added does run its rule.
		if _, err := convs.Update(ctx, id, timeline.Change{RemoveLabels: []string{"escalated"}}, "alice"); err != nil {
			t.Fatal(err)
		}
		c, err = convs.Update(ctx, id, timeline.Change{AddLabels: []string{"escalated"}}, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(c.Labels, "loop") {
			t.Fatalf("labels %v: an agent's escalated label should run its rule", c.Labels)
		}
		// Resolution: the note and the webhook once, also after sweeps.
		if _, err := convs.Resolve(ctx, id, "alice"); err != nil {
			t.Fatal(err)
		}
		sweep()
		if n, ev, a := count(); n != 2 || ev != 3 || a != 3 || h.count(automation.WebhookEvent) != 1 {
			t.Fatalf("after the resolution: %d notes, %d events, %d audit records, %d webhook events; want 2, 3, 3, 1", n, ev, a, h.count(automation.WebhookEvent))
		}
	})
}
