package automation

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Runner runs the engine's rules in the router (router.Automation).
type Runner struct {
	En     *Engine
	Convs  *timeline.Service
	Logger *slog.Logger
}

// Prepare implements router.Automation.
func (ru *Runner) Prepare(ctx context.Context, e store.Entry) (func(store.Entry, *store.Conversation), func(context.Context, store.Entry, store.Conversation), error) {
	rs, err := ru.En.active(ctx)
	if err != nil || len(rs) == 0 {
		return nil, nil, err
	}
	var fired []Fired
	apply := func(e store.Entry, x *store.Conversation) {
		fired = Run(rs, e, x) // the last call is the one the swap kept
	}
	done := func(ctx context.Context, e store.Entry, c store.Conversation) {
		ru.record(ctx, e, c, fired)
	}
	return apply, done, nil
}

// record writes, for each rule that fired, its audit record and its
// timeline event, with ids derived from the message and the rule.
func (ru *Runner) record(ctx context.Context, e store.Entry, c store.Conversation, fired []Fired) {
	for _, f := range fired {
		text := fmt.Sprintf("Rule %q: %s", f.Name, strings.Join(f.Did, ", "))
		if err := ru.En.st.AppendAudit(ctx, store.AuditRecord{ID: store.AuditID("automation", "rule.run", f.Rule, e.ID), At: e.CreatedAt,
			Actor: "automation", Action: "rule.run", Target: c.ID, Customer: c.CustomerID, Detail: "rule=" + f.Rule + " message=" + e.ID + " " + strings.Join(f.Did, "; ")}); err != nil && ru.Logger != nil {
			ru.Logger.Error("rule ran, its audit record not written", "rule", f.Rule, "message", e.ID, "err", err)
		}
		if ru.Convs == nil {
			continue
		}
		ev := store.Entry{ID: ids.Derived("ev_", e.ID, f.Rule), CustomerID: c.CustomerID, Kind: store.KindEvent, Agent: "automation",
			Text: text, OccurredAt: e.OccurredAt, CreatedAt: e.CreatedAt, UpdatedAt: e.CreatedAt}
		if _, _, err := ru.Convs.Append(ctx, ev, c); err != nil && ru.Logger != nil {
			ru.Logger.Error("rule ran, its timeline event not written", "rule", f.Rule, "message", e.ID, "err", err)
		}
	}
}

// DryRun evaluates the rules (enabled or not when ruleID names one) on a
// stored message and its conversation as they are now, changing nothing.
func (en *Engine) DryRun(ctx context.Context, ruleID, messageID string) ([]Fired, store.Conversation, error) {
	rs, err := en.Rules(ctx)
	if err != nil {
		return nil, store.Conversation{}, err
	}
	if ruleID != "" {
		var one []Rule
		for _, r := range rs {
			if r.ID == ruleID {
				one = append(one, r)
			}
		}
		if len(one) == 0 {
			return nil, store.Conversation{}, fmt.Errorf("rule %s: %w", ruleID, store.ErrNotFound)
		}
		rs = one
	}
	e, err := en.st.GetEntry(ctx, messageID)
	if err != nil {
		return nil, store.Conversation{}, fmt.Errorf("message %s: %w", messageID, err)
	}
	c, err := en.st.GetConversation(ctx, e.ConversationID)
	if err != nil {
		return nil, store.Conversation{}, fmt.Errorf("conversation of message %s: %w", messageID, err)
	}
	x := c
	x.Labels = append([]string(nil), c.Labels...)
	fired := Run(rs, e, &x)
	if fired == nil {
		fired = []Fired{}
	}
	return fired, x, nil
}
