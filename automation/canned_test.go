package automation_test

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard-hub/switchboard/automation"
	"github.com/switchboard-hub/switchboard/canned"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/labels"
	"github.com/switchboard-hub/switchboard/store"
)

// TestSendCannedReply (issues 19 and 24), on both stores: a rule's
// send_reply may name a shared canned reply, as the hub wires it
// (canned.Store.SharedText); a personal reply, an unknown shortcut, or a
// text with a placeholder nobody fills in are refused when the rule is
// saved.
func TestSendCannedReply(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		cr := canned.New(st, nil)
		if _, err := cr.Create(ctx, canned.Reply{Shortcut: "thanks", Title: "Thanks", Text: "Thanks {{customer.name}}, we are on it.", Shared: true}, "root"); err != nil {
			t.Fatal(err)
		}
		if _, err := cr.Create(ctx, canned.Reply{Shortcut: "mine", Title: "Mine", Text: "Just mine", Owner: "alice"}, "alice"); err != nil {
			t.Fatal(err)
		}
		en := automation.New(st, labels.New(st), automation.Options{Canned: cr.SharedText})
		rule := func(a automation.Action) automation.Rule {
			return automation.Rule{ID: "r", Name: "Reply", Event: automation.EventMessageReceived, Enabled: true, Actions: []automation.Action{a}}
		}
		if err := en.ValidateRule(ctx, rule(automation.Action{Type: automation.ActSendReply, Canned: "thanks"})); err != nil {
			t.Fatalf("a shared canned reply: %v", err)
		}
		for name, a := range map[string]automation.Action{
			"personal reply":      {Type: automation.ActSendReply, Canned: "mine"},
			"unknown shortcut":    {Type: automation.ActSendReply, Canned: "nope"},
			"unknown placeholder": {Type: automation.ActSendReply, Text: "Hi {{customer.email}}"},
			"text and canned":     {Type: automation.ActSendReply, Text: "Hi", Canned: "thanks"},
		} {
			if err := en.ValidateRule(ctx, rule(a)); !errors.Is(err, automation.ErrInvalid) {
				t.Errorf("%s: ValidateRule = %v, want ErrInvalid", name, err)
			}
		}
	})
}
