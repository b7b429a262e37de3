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

// diesAfterAppend is the rules' runner of a process that dies right after
// the message's append: whatever was to follow it never runs.
type diesAfterAppend struct{ *automation.Runner }

func (d diesAfterAppend) Prepare(ctx context.Context, e store.Entry) (func(store.Entry, *store.Conversation), func(context.Context, store.Entry, store.Conversation), error) {
	apply, _, err := d.Runner.Prepare(ctx, e)
	return apply, func(context.Context, store.Entry, store.Conversation) {}, err
}

func (d diesAfterAppend) Effects(context.Context, store.Entry, store.Conversation) {}

// TestRuleRecordsWrittenWithTheMessage (issue 24's speed), on both
// stores: on the embedded store a rule run's audit record and timeline
// event are written in the message's own transaction, so they exist even
// when the process dies right after the append; on Redis (written after
// the append) the redelivery writes them. Either way, once.
func TestRuleRecordsWrittenWithTheMessage(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		cat := labels.New(st)
		if err := cat.PutLabel(ctx, labels.Label{Name: "billing"}, "root"); err != nil {
			t.Fatal(err)
		}
		en := automation.New(st, cat, automation.Options{})
		if err := en.PutRules(ctx, []automation.Rule{{ID: "lasku", Name: "Invoices", Event: automation.EventMessageReceived, Enabled: true,
			Conditions: []automation.Condition{{Type: automation.CondTextContains, Value: "LASKU"}},
			Actions:    []automation.Action{{Type: automation.ActAddLabel, Value: "billing"}}}}, "root"); err != nil {
			t.Fatal(err)
		}
		dir := directory.New(st, []directory.Channel{{Name: "crm", Type: "api", Phase: store.PhaseLive}}, store.SystemClock, nil)
		convs := timeline.NewService(st, timeline.Options{})
		runner := &automation.Runner{En: en, Convs: convs}
		dying := router.New(st, dir, router.Options{Conversations: convs, Automation: diesAfterAppend{runner}})
		restarted := router.New(st, dir, router.Options{Conversations: convs, Automation: runner})
		msg := connectors.Message{ID: "crm:inv-1", Channel: "crm", ProviderID: "inv-1", Text: "Lasku 7 is wrong",
			Identities: []connectors.Identity{{Type: connectors.Email, Value: "kim@example.com", Verified: true}}, ReceivedAt: time.Now(), OccurredAt: time.Now()}
		count := func() (audits, events int) {
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
				if e.Kind == store.KindEvent && strings.HasPrefix(e.Text, `Rule "Invoices": added label billing`) {
					events++
				}
			}
			return
		}
		if err := dying.Process(ctx, msg); err != nil {
			t.Fatal(err)
		}
		a, ev := count()
		_, inStep := st.(store.RecordsAppender)
		if strings.HasSuffix(t.Name(), "/embedded") && !inStep {
			t.Fatal("the embedded store does not write records in the append's step")
		}
		if want := map[bool]int{true: 1, false: 0}[inStep]; a != want || ev != want {
			t.Fatalf("after the append alone: %d audit records, %d events; want %d each (written with the message: %v)", a, ev, want, inStep)
		}
		for i := 0; i < 2; i++ {
			if err := restarted.Process(ctx, msg); err != nil {
				t.Fatal(err)
			}
			if a, ev := count(); a != 1 || ev != 1 {
				t.Fatalf("after redelivery %d: %d audit records, %d events; want 1 each", i+1, a, ev)
			}
		}
	})
}
