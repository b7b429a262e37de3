package automation

import (
	"context"
	"fmt"
	"github.com/switchboard-hub/switchboard/canned"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Reply is an automatic reply a send_reply action asks for.
type Reply struct {
	ConversationID string
	// EntryID is derived from the event, rule and action: sending it again
	// finds the entry and sends nothing (router.Outbound.SendAutomatic).
	EntryID string
	Text    string
}

// Runner runs the engine's rules in the router (router.Automation) and on
// agents' changes (timeline.ChangeAutomation).
type Runner struct {
	En     *Engine
	Convs  *timeline.Service
	Logger *slog.Logger
	// Send queues an automatic reply through the outbound queue, with
	// consent and RFC 3834 loop protection (router.Outbound.SendAutomatic:
	// the entry flagged automatic, nothing sent when the customer's last
	// message is marked no-reply). nil: replies are not sent (logged).
	Send func(ctx context.Context, r Reply) error
}

// Prepare implements router.Automation.
func (ru *Runner) Prepare(ctx context.Context, e store.Entry) (func(store.Entry, *store.Conversation), func(context.Context, store.Entry, store.Conversation), error) {
	rs, err := ru.En.active(ctx)
	if err != nil {
		return nil, nil, err
	}
	rs = ofEvents(rs, EventMessageReceived, EventConversationOpened)
	if len(rs) == 0 {
		return nil, nil, nil
	}
	s := Subject{Event: EventMessageReceived, Key: e.ID, Entry: e, At: e.OccurredAt, Calendars: ru.En.o.Calendars}
	convs, err := ru.facts(ctx, rs, e.CustomerID, &s)
	if err != nil {
		return nil, nil, err
	}
	apply := func(e store.Entry, x *store.Conversation) {
		s := s
		s.SeenBefore = seenBefore(convs, x.ID)
		fired := Run(rs, s, x)
		if len(fired) == 0 {
			return
		}
		// Kept with the change, so a crash before the records leaves
		// them to the redelivery (Redelivered).
		keepRun(x, runOf(fired, e.ID, "", e.CreatedAt))
	}
	done := func(ctx context.Context, e store.Entry, c store.Conversation) {
		ru.recordFrom(ctx, e.ID, c)
	}
	return apply, done, nil
}

func ofEvents(rs []Rule, events ...string) []Rule {
	var out []Rule
	for _, r := range rs {
		for _, ev := range events {
			if r.Event == ev {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// facts reads what the rules' conditions need of the customer: its record
// and its conversations (up to two: enough to tell one besides the
// current). Nothing is read when no rule needs it.
func (ru *Runner) facts(ctx context.Context, rs []Rule, customerID string, s *Subject) ([]string, error) {
	needC, needSeen := needsCustomer(rs)
	if needC && customerID != "" {
		c, err := ru.En.st.GetCustomer(ctx, customerID)
		if err != nil {
			return nil, fmt.Errorf("customer %s: %w", customerID, err)
		}
		s.Customer = &c
	}
	if !needSeen || customerID == "" {
		return nil, nil
	}
	cs, _, err := ru.En.st.ListConversations(ctx, store.ConversationFilter{CustomerIDs: []string{customerID}, Limit: 2})
	if err != nil {
		return nil, fmt.Errorf("conversations of customer %s: %w", customerID, err)
	}
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out, nil
}

func seenBefore(convs []string, current string) bool {
	for _, id := range convs {
		if id != current {
			return true
		}
	}
	return false
}

func runOf(fired []Fired, key, event string, at time.Time) store.RuleRun {
	run := store.RuleRun{MessageID: key, Event: event, At: at}
	for _, f := range fired {
		run.Rules = append(run.Rules, f.Rule)
		run.Texts = append(run.Texts, fmt.Sprintf("Rule %q: %s", f.Name, strings.Join(f.Did, ", ")))
		run.Effects = append(run.Effects, f.Effects...)
	}
	return run
}

func keepRun(x *store.Conversation, run store.RuleRun) {
	x.RuleRuns = append(x.RuleRuns, run)
	if n := len(x.RuleRuns); n > keepRuns {
		x.RuleRuns = append([]store.RuleRun(nil), x.RuleRuns[n-keepRuns:]...)
	}
}

// keepRuns is how many rule runs a conversation keeps.
const keepRuns = 8

// Redelivered implements router.Automation: the records and effects of the
// run on a message already stored, made again (same ids: once).
func (ru *Runner) Redelivered(ctx context.Context, e store.Entry) error {
	if e.ConversationID == "" {
		return nil
	}
	c, err := ru.En.st.GetConversation(ctx, e.ConversationID)
	if err != nil {
		return err
	}
	ru.recordFrom(ctx, e.ID, c)
	return nil
}

// PrepareChange implements timeline.ChangeAutomation: the rules of
// conversation.resolved and label.added, run inside the compare-and-swap
// of an agent's (API's, macro's) change on what that change did. The
// rules' own changes are made in the same swap after the events were
// read from the agent's change, so they raise no event (no loops).
func (ru *Runner) PrepareChange(ctx context.Context, cur store.Conversation, by string) (func(before store.Conversation, x *store.Conversation, now time.Time), func(context.Context, store.Conversation), error) {
	rs, err := ru.En.active(ctx)
	if err != nil {
		return nil, nil, err
	}
	rs = ofEvents(rs, EventConversationResolved, EventLabelAdded)
	if len(rs) == 0 {
		return nil, nil, nil
	}
	var base Subject
	convs, err := ru.facts(ctx, rs, cur.CustomerID, &base)
	if err != nil {
		return nil, nil, err
	}
	base.Calendars = ru.En.o.Calendars
	var keys []string
	apply := func(before store.Conversation, x *store.Conversation, now time.Time) {
		keys = keys[:0]
		key := x.ID + "/v" + strconv.FormatInt(before.Version, 10)
		var subjects []Subject
		if before.Status != store.StatusResolved && x.Status == store.StatusResolved {
			s := base
			s.Event, s.Key, s.At = EventConversationResolved, key+"/resolved", now
			subjects = append(subjects, s)
		}
		var added []string
		for _, l := range x.Labels {
			if !containsStr(before.Labels, l) {
				added = append(added, l)
			}
		}
		if len(added) > 0 {
			s := base
			s.Event, s.Key, s.At, s.Added = EventLabelAdded, key+"/labels", now, added
			subjects = append(subjects, s)
		}
		for _, s := range subjects {
			s.SeenBefore = seenBefore(convs, x.ID)
			if fired := Run(rs, s, x); len(fired) > 0 {
				keepRun(x, runOf(fired, s.Key, s.Event, now))
				keys = append(keys, s.Key)
			}
		}
	}
	after := func(ctx context.Context, c store.Conversation) {
		for _, k := range keys {
			ru.recordFrom(ctx, k, c)
		}
	}
	return apply, after, nil
}

// Sweep implements timeline.ChangeAutomation: the records and effects of
// every run of an agent's change kept on c, made again (same ids: what a
// crash after the change left undone is done once, the rest is found
// done).
func (ru *Runner) Sweep(ctx context.Context, c store.Conversation) {
	for _, run := range c.RuleRuns {
		if run.Event != "" {
			ru.record(ctx, c, run)
		}
	}
}

func containsStr(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

func (ru *Runner) recordFrom(ctx context.Context, key string, c store.Conversation) {
	for _, run := range c.RuleRuns {
		if run.MessageID == key {
			ru.record(ctx, c, run)
		}
	}
}

func (ru *Runner) logErr(msg string, run store.RuleRun, err error) {
	if err != nil && ru.Logger != nil {
		ru.Logger.Error(msg, "event", run.MessageID, "err", err)
	}
}

// record writes, for the rules that ran on an event, one audit record
// (rule.run) and one timeline event naming each rule and what it did, then
// makes the run's effects, all with ids derived from the event's key
// (made again, they are the same).
func (ru *Runner) record(ctx context.Context, c store.Conversation, run store.RuleRun) {
	audit, ev, at := ru.runRecords(c, run)
	// The audit record and the timeline event are written side by side:
	// the store joins concurrent writes into one commit (the embedded
	// store's batch, Redis's pipelining across clients), so a run costs
	// the message about one write's wait, not two (docs/PERFORMANCE.md).
	audited := make(chan error, 1)
	go func() { audited <- ru.En.st.AppendAudit(ctx, audit) }()
	if ru.Convs != nil {
		_, _, err := ru.Convs.Append(ctx, ev, c)
		ru.logErr("rules ran, their timeline event not written", run, err)
	}
	ru.logErr("rules ran, their audit record not written", run, <-audited)
	ru.effects(ctx, c, run, at)
}

// effects makes the run's effects (reply, note, webhook).
func (ru *Runner) effects(ctx context.Context, c store.Conversation, run store.RuleRun, at time.Time) {
	if ru.Convs == nil {
		return
	}
	for _, fx := range run.Effects {
		ru.logErr("rule effect not made: "+fx.Rule+" "+fx.Type, run, ru.effect(ctx, c, run, fx, at))
	}
}

// runRecords are the audit record (rule.run) and the timeline event of a
// run on c, with ids derived from the run's key.
func (ru *Runner) runRecords(c store.Conversation, run store.RuleRun) (store.AuditRecord, store.Entry, time.Time) {
	key := run.MessageID
	at := run.At
	if at.IsZero() {
		at = ru.En.o.Clock().UTC()
	}
	what := "message=" + key
	if run.Event != "" {
		what = "event=" + run.Event + " key=" + key
	}
	audit := store.AuditRecord{ID: store.AuditID("automation", "rule.run", key), At: at,
		Actor: "automation", Action: "rule.run", Target: c.ID, Customer: c.CustomerID,
		Detail: what + " rules=" + strings.Join(run.Rules, ",") + " " + strings.Join(run.Texts, "; ")}
	ev := store.Entry{ID: ids.Derived("ev_", key, "rules"), CustomerID: c.CustomerID, ConversationID: c.ID, Kind: store.KindEvent, Agent: "automation",
		Text: strings.Join(run.Texts, "\n"), OccurredAt: at, CreatedAt: at, UpdatedAt: at}
	return audit, ev, at
}

// Records implements router's in-step records: the timeline event and
// audit record of the run on message e kept on c (none when no rule
// ran), for the store to write in the message's own step.
func (ru *Runner) Records(e store.Entry, c store.Conversation) ([]store.Entry, []store.AuditRecord) {
	for _, run := range c.RuleRuns {
		if run.MessageID == e.ID {
			audit, ev, _ := ru.runRecords(c, run)
			if ru.Convs == nil {
				return nil, []store.AuditRecord{audit}
			}
			return []store.Entry{ev}, []store.AuditRecord{audit}
		}
	}
	return nil, nil
}

// Effects implements router's in-step records: what is left once the
// records were written with the message (Records): the timeline event
// announced, the effects made.
func (ru *Runner) Effects(ctx context.Context, e store.Entry, c store.Conversation) {
	for _, run := range c.RuleRuns {
		if run.MessageID != e.ID {
			continue
		}
		_, ev, at := ru.runRecords(c, run)
		if ru.Convs != nil {
			_ = timeline.Publish(ctx, ru.En.st, timeline.Event{Type: timeline.EventEntryCreated, CustomerID: c.CustomerID, ConversationID: c.ID,
				EntryID: ev.ID, Channel: c.Channel, Audience: c.Audience, Assignee: c.Assignee})
		}
		ru.effects(ctx, c, run, at)
	}
}

// EffectID is the id of effect fx of the run keyed key (entry id of the
// note or reply, key of the webhook event).
func EffectID(prefix, key string, fx store.RuleEffect) string {
	return ids.Derived(prefix, key, fx.Rule, strconv.Itoa(fx.N))
}

func (ru *Runner) effect(ctx context.Context, c store.Conversation, run store.RuleRun, fx store.RuleEffect, at time.Time) error {
	switch fx.Type {
	case ActAddNote:
		text, err := ru.render(ctx, c, fx)
		if err != nil {
			return err
		}
		n := store.Entry{ID: EffectID("nt_", run.MessageID, fx), CustomerID: c.CustomerID, Direction: connectors.Note, Kind: store.KindNote,
			Agent: "automation", PostedBy: "automation", Text: text, OccurredAt: at, CreatedAt: at, UpdatedAt: at}
		_, _, err = ru.Convs.Append(ctx, n, c)
		return err
	case ActSendReply:
		if ru.Send == nil {
			return fmt.Errorf("no outbound queue to send the reply on")
		}
		text, err := ru.render(ctx, c, fx)
		if err != nil {
			return err
		}
		return ru.Send(ctx, Reply{ConversationID: c.ID, EntryID: EffectID("ar_", run.MessageID, fx), Text: text})
	case ActWebhook:
		event := run.Event
		if event == "" {
			event = EventMessageReceived
		}
		data := map[string]any{"rule": fx.Rule, "event": event, "value": fx.Value, "conversation_id": c.ID, "customer_id": c.CustomerID,
			"labels": c.Labels, "team": c.Team, "assignee": c.Assignee, "status": c.Status, "priority": c.Priority}
		if run.Event == "" {
			data["message_id"] = run.MessageID
		}
		return ru.Convs.RecordWebhook(ctx, WebhookEvent, EffectID("aw_", run.MessageID, fx), c.CustomerID, data)
	}
	return nil
}

// render fills a rule's reply's or note's placeholders ({{agent.name}}:
// the conversation's assignee).
func (ru *Runner) render(ctx context.Context, c store.Conversation, fx store.RuleEffect) (string, error) {
	return ru.En.render(ctx, c, fx, c.Assignee)
}

// render fills a reply's or note's placeholders, agent the agent's name.
func (en *Engine) render(ctx context.Context, c store.Conversation, fx store.RuleEffect, agent string) (string, error) {
	text := fx.Text
	if fx.Canned != "" {
		if en.o.Canned == nil {
			return "", fmt.Errorf("canned reply %q: canned replies are not available", fx.Canned)
		}
		t, err := en.o.Canned(ctx, fx.Canned)
		if err != nil {
			return "", fmt.Errorf("canned reply %q: %w", fx.Canned, err)
		}
		text = t
	}
	name := ""
	if strings.Contains(text, "{{customer.name}}") {
		cu, err := en.st.GetCustomer(ctx, c.CustomerID)
		if err != nil {
			return "", err
		}
		name = cu.Name
	}
	return canned.Render(text, canned.Vars{canned.CustomerName: name, canned.AgentName: agent, canned.ConversationID: c.ID}), nil
}

// DryRun evaluates the rules of message.received and conversation.opened
// (enabled or not when ruleID names one) on a stored message and its
// conversation as they are now, changing and sending nothing.
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
	ru := &Runner{En: en}
	s := Subject{Event: EventMessageReceived, Key: e.ID, Entry: e, At: e.OccurredAt, Calendars: en.o.Calendars}
	convs, err := ru.facts(ctx, rs, c.CustomerID, &s)
	if err != nil {
		return nil, store.Conversation{}, err
	}
	s.SeenBefore = seenBefore(convs, c.ID)
	x := c
	x.Labels = append([]string(nil), c.Labels...)
	fired := Run(ofEvents(rs, EventMessageReceived, EventConversationOpened), s, &x)
	if fired == nil {
		fired = []Fired{}
	}
	return fired, x, nil
}

func (en *Engine) validateReply(ctx context.Context, a Action) error {
	switch {
	case a.Canned != "" && a.Text != "":
		return fmt.Errorf("%w: send_reply takes text or canned, not both", ErrInvalid)
	case a.Canned != "":
		if en.o.Canned == nil {
			return fmt.Errorf("%w: send_reply: canned replies are not available (give a text)", ErrInvalid)
		}
		if _, err := en.o.Canned(ctx, a.Canned); err != nil {
			return fmt.Errorf("%w: send_reply: canned reply %q: %w", ErrInvalid, a.Canned, err)
		}
	case strings.TrimSpace(a.Text) == "":
		return fmt.Errorf("%w: send_reply needs a text or a canned reply", ErrInvalid)
	default:
		if err := canned.CheckText(a.Text); err != nil {
			return fmt.Errorf("%w: send_reply: %w", ErrInvalid, err)
		}
	}
	return nil
}

// PrepareCSAT implements csat.Automation: the rules of csat.received, run
// inside the compare-and-swap that records the survey answer answerID
// (score) on conversation cur, once per answer. The run is keyed by the
// answer id; its records and effects are made after the swap, and again
// (same ids) when the same answer is recorded again (a redelivered reply,
// a resubmitted page).
func (ru *Runner) PrepareCSAT(ctx context.Context, cur store.Conversation, answerID string, score int) (func(x *store.Conversation, at time.Time), func(context.Context, store.Conversation), error) {
	rs, err := ru.En.active(ctx)
	if err != nil {
		return nil, nil, err
	}
	rs = ofEvents(rs, EventCSATReceived)
	if len(rs) == 0 {
		return nil, nil, nil
	}
	s := Subject{Event: EventCSATReceived, Key: "csat/" + answerID, Score: score, Calendars: ru.En.o.Calendars}
	convs, err := ru.facts(ctx, rs, cur.CustomerID, &s)
	if err != nil {
		return nil, nil, err
	}
	apply := func(x *store.Conversation, at time.Time) {
		// A rule that panics changes nothing and never loses the answer.
		snapshot := *x
		defer func() {
			if p := recover(); p != nil {
				*x = snapshot
				if ru.Logger != nil {
					ru.Logger.Error("automation rule failed", "conversation", x.ID, "err", fmt.Sprint(p))
				}
			}
		}()
		s := s
		s.At, s.SeenBefore = at, seenBefore(convs, x.ID)
		if fired := Run(rs, s, x); len(fired) > 0 {
			keepRun(x, runOf(fired, s.Key, s.Event, at))
		}
	}
	after := func(ctx context.Context, c store.Conversation) { ru.recordFrom(ctx, s.Key, c) }
	return apply, after, nil
}
