package router_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-hub/switchboard/automation"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/labels"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/sla"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// dyingStore is a store whose process dies (a panic) right after the
// next conversation swap it makes while armed.
type dyingStore struct {
	store.Store
	mu    sync.Mutex
	armed bool
}

func (d *dyingStore) UpdateConversation(ctx context.Context, id string, fn func(*store.Conversation) error) (store.Conversation, error) {
	c, err := d.Store.UpdateConversation(ctx, id, fn)
	d.mu.Lock()
	die := d.armed && err == nil
	d.armed = false
	d.mu.Unlock()
	if die {
		panic("killed after the swap")
	}
	return c, err
}

// TestSLABreachingRulesFireOnceBeforeTheDueTime (issue 24), on both
// stores, two replicas and a controllable clock: a customer's mail gets a
// first-response due time one hour on; a rule of event sla.breaching
// (condition sla_target first_response; label, note, webhook) fires once
// the lead time (15 minutes) before it, on one replica; the replica that
// ran it dies right after the conversation's swap, before its records and
// effects, and the other replica makes them after the lease, once. A
// conversation answered in time, and the same conversation later, fire
// nothing.
func TestSLABreachingRulesFireOnceBeforeTheDueTime(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		var mu sync.Mutex
		t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		now := t0
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		set := func(d time.Duration) { mu.Lock(); now = t0.Add(d); mu.Unlock() }

		cat := labels.New(st)
		if err := cat.PutLabel(ctx, labels.Label{Name: "urgent"}, "root"); err != nil {
			t.Fatal(err)
		}
		hooks := &hookLog{}
		roll := sla.NewRollup(st, sla.NewPolicies([]sla.Policy{{Name: "mail", FirstResponse: time.Hour, Channels: []string{"mail"}}}), nil, prometheus.NewRegistry())
		roll.CountOverdue(st, clock)
		convs := timeline.NewService(st, timeline.Options{Clock: clock, Webhooks: hooks, Tracker: roll})
		dying := &dyingStore{Store: st}
		var runners []*automation.Runner
		for _, s := range []store.Store{dying, st} { // replica A dies, replica B carries on
			en := automation.New(s, cat, automation.Options{Clock: clock})
			runners = append(runners, &automation.Runner{En: en, Convs: timeline.NewService(s, timeline.Options{Clock: clock, Webhooks: hooks})})
		}
		rule := automation.Rule{ID: "near", Name: "Near breach", Event: automation.EventSLABreaching, Enabled: true,
			Conditions: []automation.Condition{{Type: automation.CondSLATarget, Value: store.SLAFirstResponse}},
			Actions: []automation.Action{{Type: automation.ActAddLabel, Value: "urgent"},
				{Type: automation.ActAddNote, Text: "First response due soon"}, {Type: automation.ActWebhook, Value: "pager"}}}
		if err := runners[1].En.PutRules(ctx, []automation.Rule{rule}, "root"); err != nil {
			t.Fatal(err)
		}
		roll.BreachingTimers(15*time.Minute, func() bool { return runners[1].En.Wants(automation.EventSLABreaching) })

		dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive}}, clock, nil)
		rt := router.New(st, dir, router.Options{Conversations: convs, Clock: clock})
		mail := func(id, from string) store.Conversation {
			t.Helper()
			m := connectors.Message{ID: "mail:" + id, Channel: "mail", ProviderID: id, Text: "help", SenderName: from,
				Identities: []connectors.Identity{{Type: connectors.Email, Value: from + "@example.com", Verified: true}}, ReceivedAt: clock(), OccurredAt: clock()}
			if err := rt.Process(ctx, m); err != nil {
				t.Fatal(err)
			}
			e, err := st.GetEntry(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			c, err := st.GetConversation(ctx, e.ConversationID)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		late := mail("m1", "kim")
		if late.SLA == nil || !late.SLA.FirstResponseDue.Equal(t0.Add(time.Hour)) {
			t.Fatalf("SLA %+v: want first response due at %s", late.SLA, t0.Add(time.Hour))
		}
		set(5 * time.Minute)
		answered := mail("m2", "lee")
		if _, err := convs.Replied(ctx, store.Entry{ID: "o_lee", ConversationID: answered.ID, CustomerID: answered.CustomerID,
			Direction: connectors.Outbound, Kind: store.KindMessage, Channel: "mail", Agent: "alice", OccurredAt: clock()}); err != nil {
			t.Fatal(err)
		}
		fire := func(r *automation.Runner) int {
			t.Helper()
			n, err := r.FireSLABreaching(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		set(40 * time.Minute)
		if n := fire(runners[0]) + fire(runners[1]); n != 0 {
			t.Fatalf("%d fired 20 minutes before the due time (lead 15m)", n)
		}

		// 46 minutes on: replica A claims the timer, runs the rule in
		// the swap and dies.
		set(46 * time.Minute)
		dying.armed = true
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("replica A did not reach the swap")
				}
			}()
			fire(runners[0])
		}()
		// Replica B meanwhile: the timer is A's until its lease passes.
		if n := fire(runners[1]); n != 0 {
			t.Fatalf("replica B fired %d while A's claim held", n)
		}
		type tally struct{ notes, events, hooks, audits, labels int }
		count := func() tally {
			t.Helper()
			var k tally
			for _, e := range hubtest.Timeline(t, st, "email:kim@example.com") {
				switch {
				case e.Kind == store.KindNote && e.Text == "First response due soon":
					k.notes++
				case e.Kind == store.KindEvent && strings.HasPrefix(e.Text, `Rule "Near breach"`):
					k.events++
				}
			}
			k.hooks = len(hooks.of(automation.WebhookEvent))
			recs, err := st.QueryAudit(ctx, store.AuditQuery{Action: "rule.run", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs.Records {
				if r.Target == late.ID {
					k.audits++
				}
			}
			c, err := st.GetConversation(ctx, late.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range c.Labels {
				if l == "urgent" {
					k.labels++
				}
			}
			return k
		}
		if k := count(); k != (tally{labels: 1}) {
			t.Fatalf("after A died: %+v; want the label (in the swap) and nothing else yet", k)
		}
		set(48 * time.Minute) // A's lease (a minute) passed
		if n := fire(runners[1]); n != 0 {
			t.Fatalf("replica B ran the rules again (%d)", n)
		}
		if k := count(); k != (tally{notes: 1, events: 1, hooks: 1, audits: 1, labels: 1}) {
			t.Fatalf("after B took over: %+v; want one of each", k)
		}
		set(59 * time.Minute)
		if n := fire(runners[0]) + fire(runners[1]); n != 0 {
			t.Fatalf("%d more fired", n)
		}
		if k := count(); k != (tally{notes: 1, events: 1, hooks: 1, audits: 1, labels: 1}) {
			t.Fatalf("at the end: %+v; want one of each", k)
		}
		c, err := st.GetConversation(ctx, answered.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Labels) != 0 || len(c.RuleRuns) != 0 {
			t.Fatalf("the conversation answered in time: labels %v, runs %d; want none", c.Labels, len(c.RuleRuns))
		}
	})
}
