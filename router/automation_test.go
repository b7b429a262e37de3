package router_test

import (
	"context"
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

// crashAfterAppend is a Runner whose records are lost the first time, as
// when the process dies between the message's append and the records.
type crashAfterAppend struct {
	*automation.Runner
	crashed bool
}

func (c *crashAfterAppend) Prepare(ctx context.Context, e store.Entry) (func(store.Entry, *store.Conversation), func(context.Context, store.Entry, store.Conversation), error) {
	apply, done, err := c.Runner.Prepare(ctx, e)
	if !c.crashed {
		c.crashed = true
		return apply, nil, err
	}
	return apply, done, err
}

// TestRulesExactlyOnceAcrossACrash (issue 24), on both stores: the rules'
// change is made in the message's append; when the process dies before the
// run's records, the redelivery writes them, and a further redelivery
// changes nothing: one audit record, one timeline event, the label once.
func TestRulesExactlyOnceAcrossACrash(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		cat := labels.New(st)
		if err := cat.PutLabel(ctx, labels.Label{Name: "billing"}, "root"); err != nil {
			t.Fatal(err)
		}
		en := automation.New(st, cat, automation.Options{})
		if err := en.PutRules(ctx, []automation.Rule{{ID: "lasku", Name: "Invoices", Event: automation.EventMessageReceived, Enabled: true,
			Conditions: []automation.Condition{{Type: automation.CondTextContains, Value: "lasku"}},
			Actions:    []automation.Action{{Type: automation.ActAddLabel, Value: "billing"}}}}, "root"); err != nil {
			t.Fatal(err)
		}
		dir := directory.New(st, []directory.Channel{{Name: "crm", Type: "api", Phase: store.PhaseLive}}, store.SystemClock, nil)
		convs := timeline.NewService(st, timeline.Options{})
		auto := &crashAfterAppend{Runner: &automation.Runner{En: en, Convs: convs}}
		rt := router.New(st, dir, router.Options{Conversations: convs, Automation: auto, Routing: router.Routing{Teams: []string{"support"}}})
		msg := connectors.Message{ID: "crm:inv-1", Channel: "crm", ProviderID: "inv-1", Text: "lasku 7",
			Identities: []connectors.Identity{{Type: connectors.Email, Value: "kim@example.com", Verified: true}}, ReceivedAt: time.Now(), OccurredAt: time.Now()}
		count := func() (audits, events int, c store.Conversation) {
			recs, err := st.ListAudit(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if r.Action == "rule.run" {
					audits++
				}
			}
			for _, e := range hubtest.Timeline(t, st, "email:kim@example.com") {
				if e.Kind == store.KindEvent && strings.HasPrefix(e.Text, "Rule ") {
					events++
				}
			}
			e, err := st.GetEntry(ctx, msg.ID)
			if err != nil {
				t.Fatal(err)
			}
			c, err = st.GetConversation(ctx, e.ConversationID)
			if err != nil {
				t.Fatal(err)
			}
			return audits, events, c
		}
		if err := rt.Process(ctx, msg); err != nil {
			t.Fatal(err)
		}
		a, ev, c := count()
		if a != 0 || ev != 0 || strings.Join(c.Labels, ",") != "billing" {
			t.Fatalf("after the crash: %d audit records, %d events, labels %v; want 0, 0, billing", a, ev, c.Labels)
		}
		for i := 0; i < 2; i++ { // the redelivery, and one more
			if err := rt.Process(ctx, msg); err != nil {
				t.Fatal(err)
			}
			a, ev, c = count()
			if a != 1 || ev != 1 || strings.Join(c.Labels, ",") != "billing" {
				t.Fatalf("after redelivery %d: %d audit records, %d events, labels %v; want 1, 1, billing", i+1, a, ev, c.Labels)
			}
		}
	})
}
