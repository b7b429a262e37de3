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
	apply := func(e store.Entry, x *store.Conversation) {
		fired := Run(rs, e, x)
		if len(fired) == 0 {
			return
		}
		run := store.RuleRun{MessageID: e.ID}
		for _, f := range fired {
			run.Rules = append(run.Rules, f.Rule)
			run.Texts = append(run.Texts, fmt.Sprintf("Rule %q: %s", f.Name, strings.Join(f.Did, ", ")))
		}
		// Kept with the change, so a crash before the records leaves
		// them to the redelivery (Redelivered).
		x.RuleRuns = append(x.RuleRuns, run)
		if n := len(x.RuleRuns); n > keepRuns {
			x.RuleRuns = append([]store.RuleRun(nil), x.RuleRuns[n-keepRuns:]...)
		}
	}
	done := func(ctx context.Context, e store.Entry, c store.Conversation) {
		ru.recordFrom(ctx, e, c)
	}
	return apply, done, nil
}

// keepRuns is how many rule runs a conversation keeps.
const keepRuns = 8

// Redelivered implements router.Automation: the records of the run on a
// message already stored, written again (same ids).
func (ru *Runner) Redelivered(ctx context.Context, e store.Entry) error {
	if e.ConversationID == "" {
		return nil
	}
	c, err := ru.En.st.GetConversation(ctx, e.ConversationID)
	if err != nil {
		return err
	}
	ru.recordFrom(ctx, e, c)
	return nil
}

func (ru *Runner) recordFrom(ctx context.Context, e store.Entry, c store.Conversation) {
	for _, run := range c.RuleRuns {
		if run.MessageID == e.ID {
			ru.record(ctx, e, c, run)
		}
	}
}

// record writes, for the rules that ran on a message, one audit record
// (rule.run) and one timeline event naming each rule and what it did, with
// ids derived from the message id (written again, they are the same).
func (ru *Runner) record(ctx context.Context, e store.Entry, c store.Conversation, run store.RuleRun) {
	if err := ru.En.st.AppendAudit(ctx, store.AuditRecord{ID: store.AuditID("automation", "rule.run", e.ID), At: e.CreatedAt,
		Actor: "automation", Action: "rule.run", Target: c.ID, Customer: c.CustomerID,
		Detail: "message=" + e.ID + " rules=" + strings.Join(run.Rules, ",") + " " + strings.Join(run.Texts, "; ")}); err != nil && ru.Logger != nil {
		ru.Logger.Error("rules ran, their audit record not written", "message", e.ID, "err", err)
	}
	if ru.Convs == nil {
		return
	}
	ev := store.Entry{ID: ids.Derived("ev_", e.ID, "rules"), CustomerID: c.CustomerID, Kind: store.KindEvent, Agent: "automation",
		Text: strings.Join(run.Texts, "\n"), OccurredAt: e.OccurredAt, CreatedAt: e.CreatedAt, UpdatedAt: e.CreatedAt}
	if _, _, err := ru.Convs.Append(ctx, ev, c); err != nil && ru.Logger != nil {
		ru.Logger.Error("rules ran, their timeline event not written", "message", e.ID, "err", err)
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
