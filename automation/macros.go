package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Macro is a named bundle of actions an agent runs on a conversation.
type Macro struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Actions []Action `json:"actions"`
}

// PutRule adds rule r (at the end) or replaces the rule with its id.
func (en *Engine) PutRule(ctx context.Context, r Rule, by string) error {
	rs, err := en.Rules(ctx)
	if err != nil {
		return err
	}
	if i := slices.IndexFunc(rs, func(x Rule) bool { return x.ID == r.ID }); i >= 0 {
		rs[i] = r
	} else {
		rs = append(rs, r)
	}
	return en.PutRules(ctx, rs, by)
}

// DeleteRule removes a rule (store.ErrNotFound when missing).
func (en *Engine) DeleteRule(ctx context.Context, id, by string) error {
	rs, err := en.Rules(ctx)
	if err != nil {
		return err
	}
	n := len(rs)
	rs = slices.DeleteFunc(rs, func(x Rule) bool { return x.ID == id })
	if len(rs) == n {
		return store.ErrNotFound
	}
	return en.PutRules(ctx, rs, by)
}

// Macros returns the macros by id.
func (en *Engine) Macros(ctx context.Context) ([]Macro, error) {
	var ms []Macro
	b, err := en.st.GetCheckpoint(ctx, keyMacros)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	err = json.Unmarshal(b, &ms)
	return ms, err
}

func (en *Engine) saveMacros(ctx context.Context, ms []Macro, by, action, target string) error {
	b, err := json.Marshal(ms)
	if err != nil {
		return err
	}
	if err := en.st.AppendAudit(ctx, store.AuditRecord{At: en.o.Clock().UTC(), Actor: by, Action: action, Target: target}); err != nil {
		return fmt.Errorf("%w: %w", store.ErrAuditFailed, err)
	}
	return en.st.PutCheckpoint(ctx, keyMacros, b)
}

// PutMacro validates and adds or replaces a macro.
func (en *Engine) PutMacro(ctx context.Context, m Macro, by string) error {
	if !idRE.MatchString(m.ID) {
		return fmt.Errorf("%w: macro id %q: lower-case letters, digits, '_', '-'", ErrInvalid, m.ID)
	}
	if len(m.Actions) == 0 {
		return fmt.Errorf("%w: macro %s has no action", ErrInvalid, m.ID)
	}
	if err := en.validateActions(ctx, "macro "+m.ID, m.Actions); err != nil {
		return err
	}
	ms, err := en.Macros(ctx)
	if err != nil {
		return err
	}
	if i := slices.IndexFunc(ms, func(x Macro) bool { return x.ID == m.ID }); i >= 0 {
		ms[i] = m
	} else {
		ms = append(ms, m)
	}
	return en.saveMacros(ctx, ms, by, "macro.put", m.ID)
}

// DeleteMacro removes a macro (store.ErrNotFound when missing).
func (en *Engine) DeleteMacro(ctx context.Context, id, by string) error {
	ms, err := en.Macros(ctx)
	if err != nil {
		return err
	}
	n := len(ms)
	ms = slices.DeleteFunc(ms, func(x Macro) bool { return x.ID == id })
	if len(ms) == n {
		return store.ErrNotFound
	}
	return en.saveMacros(ctx, ms, by, "macro.delete", id)
}

// Macro returns macro id (store.ErrNotFound when missing).
func (en *Engine) Macro(ctx context.Context, id string) (Macro, error) {
	ms, err := en.Macros(ctx)
	if err != nil {
		return Macro{}, err
	}
	i := slices.IndexFunc(ms, func(x Macro) bool { return x.ID == id })
	if i < 0 {
		return Macro{}, fmt.Errorf("macro %s: %w", id, store.ErrNotFound)
	}
	return ms[i], nil
}

// MacroEffect is one action of a macro beyond the conversation (a reply,
// a note, a webhook call), its text rendered for the conversation and the
// agent running it, with the id it is made with (EffectID over the run's
// key and the action's place: made again by the same run, it is the same).
type MacroEffect struct {
	Type  string
	N     int
	Text  string
	Value string
	// ID is the entry id of the reply or note, the outbox key of the
	// webhook event.
	ID string
}

// MacroEffects renders the send_reply, add_note and webhook actions of m
// for conversation c and agent, with ids derived from runKey (the caller
// chooses it once per run: conversation, macro, agent and the request's
// idempotency key or the conversation's version).
func (en *Engine) MacroEffects(ctx context.Context, m Macro, c store.Conversation, agent, runKey string) ([]MacroEffect, error) {
	var out []MacroEffect
	for i, a := range m.Actions {
		fx := store.RuleEffect{Rule: "macro:" + m.ID, N: i, Type: a.Type, Text: a.Text, Canned: a.Canned, Value: a.Value}
		var prefix string
		switch a.Type {
		case ActSendReply:
			prefix = "o_"
		case ActAddNote:
			prefix = "nt_"
		case ActWebhook:
			prefix = "aw_"
		default:
			continue
		}
		e := MacroEffect{Type: a.Type, N: i, Value: a.Value, ID: EffectID(prefix, runKey, fx)}
		if a.Type != ActWebhook {
			text, err := en.render(ctx, c, fx, agent)
			if err != nil {
				return nil, fmt.Errorf("macro %s: %w", m.ID, err)
			}
			e.Text = text
		}
		out = append(out, e)
	}
	return out, nil
}

// MacroChange is macro id as one timeline.Change (the conversation
// service applies it in one compare-and-swap, audited, as the agent's).
// Its replies, notes and webhook calls are MacroEffects, made by the
// caller after the change.
func (en *Engine) MacroChange(ctx context.Context, id string) (timeline.Change, error) {
	ms, err := en.Macros(ctx)
	if err != nil {
		return timeline.Change{}, err
	}
	i := slices.IndexFunc(ms, func(x Macro) bool { return x.ID == id })
	if i < 0 {
		return timeline.Change{}, fmt.Errorf("macro %s: %w", id, store.ErrNotFound)
	}
	var ch timeline.Change
	for _, a := range ms[i].Actions {
		switch a.Type {
		case ActAddLabel:
			ch.AddLabels = append(ch.AddLabels, a.Value)
		case ActRemoveLabel:
			ch.RemoveLabels = append(ch.RemoveLabels, a.Value)
		case ActAssignTeam:
			v := a.Value
			ch.Team = &v
		case ActAssignAgent:
			v := a.Value
			ch.Assignee = &v
		case ActSetAttribute:
			if ch.Attributes == nil {
				ch.Attributes = map[string]string{}
			}
			ch.Attributes[a.Name] = a.Value
		case ActSetPriority:
			v, _ := store.ParsePriority(a.Value)
			ch.Priority = &v
		case ActResolve:
			st := store.StatusResolved
			ch.Status, ch.SnoozedUntil = &st, nil
		case ActSnooze:
			d, _ := time.ParseDuration(a.Value)
			st, until := store.StatusSnoozed, en.o.Clock().Add(d).UTC()
			ch.Status, ch.SnoozedUntil = &st, &until
		}
	}
	return ch, nil
}
