package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/labels"
	"github.com/switchboard-hub/switchboard/sla/calendar"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// ErrInvalid: a rule or macro failed validation.
var ErrInvalid = labels.ErrInvalid

// Events rules run on (doc.go: how each runs exactly once, and why no
// rule's action can raise one).
const (
	EventMessageReceived      = "message.received"      // a customer's message
	EventConversationOpened   = "conversation.opened"   // a customer's message that opened a conversation
	EventConversationResolved = "conversation.resolved" // an agent's (API's, macro's) change resolved it
	EventLabelAdded           = "label.added"           // an agent's (API's, macro's) change added a label
	EventCSATReceived         = "csat.received"         // the customer answered the satisfaction survey
)

// Events lists the events rules may name.
var Events = []string{EventMessageReceived, EventConversationOpened, EventConversationResolved, EventLabelAdded, EventCSATReceived, EventSLABreaching}

// Condition types.
const (
	CondChannel       = "channel"       // Value: channel name
	CondTextContains  = "text_contains" // Value: case-insensitive, subject or text
	CondTextMatches   = "text_matches"  // Value: regular expression, subject or text
	CondSender        = "sender"        // Value: identity value (or TYPE:VALUE)
	CondLabel         = "label"         // Value: the conversation has the label
	CondAttribute     = "attribute"     // Name = Value on the conversation
	CondHours         = "hours"         // Value: "HH:MM-HH:MM" UTC, the message's time
	CondNewConv       = "new_conversation"
	CondPhase         = "phase"                // Value: off, shadow, pilot or live (the conversation's channel phase)
	CondBusinessHours = "business_hours"       // Value: a business_hours calendar's name; holds inside its hours
	CondSeenBefore    = "customer_seen_before" // the customer had an earlier conversation
	CondCustomerLabel = "customer_label"       // Value: the customer has the label
	CondCustomerAttr  = "customer_attribute"   // Name = Value on the customer
	CondAddedLabel    = "added_label"          // Value: the label the change added (event label.added)
	CondCSATScore     = "csat_score"           // Value: "N" or "N-M", the survey answer's score (event csat.received)
	CondPriority      = "priority"             // Value: none, low, medium, high or urgent (the conversation's priority)
)

// Phases a phase condition may name.
var Phases = []string{store.PhaseOff, store.PhaseShadow, store.PhasePilot, store.PhaseLive}

// Action types.
const (
	ActAddLabel     = "add_label"
	ActRemoveLabel  = "remove_label"
	ActAssignTeam   = "assign_team"
	ActAssignAgent  = "assign_agent"
	ActSetAttribute = "set_attribute"
	ActResolve      = "resolve"
	ActSnooze       = "snooze"       // Value: a duration (e.g. 2h)
	ActSetPriority  = "set_priority" // Value: none, low, medium, high or urgent
	// Effects beyond the conversation: made after the change that ran the
	// rule, from its record (store.RuleRun), with ids derived from the
	// event, rule and action (doc.go).
	ActSendReply = "send_reply" // Text (placeholders) or Canned: an automatic reply
	ActAddNote   = "add_note"   // Text (placeholders): a private note
	ActWebhook   = "webhook"    // an automation.webhook event (Value: a tag for the receiver)
)

// WebhookEvent is the webhook event type of the webhook action.
const WebhookEvent = "automation.webhook"

type Condition struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
	// Value is what the condition compares with; Not negates it.
	Value string `json:"value,omitempty"`
	Not   bool   `json:"not,omitempty"`
	// Compiled when the rules are read (compile): the regular expression,
	// the lower-cased text, the hours.
	re       *regexp.Regexp
	lower    string
	from, to int
	hoursOK  bool
	compiled bool
}

type Action struct {
	Type  string `json:"type"`
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
	// Text is a reply's or note's text ({{customer.name}},
	// {{agent.name}}, {{conversation.id}} are filled in); Canned names a
	// canned reply instead (send_reply).
	Text   string `json:"text,omitempty"`
	Canned string `json:"canned,omitempty"`
}

// Rule: when Event happens and every condition holds, do the actions.
type Rule struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Event      string      `json:"event"`
	Enabled    bool        `json:"enabled"`
	Conditions []Condition `json:"conditions"`
	Actions    []Action    `json:"actions"`
}

// Options name what validation checks against.
type Options struct {
	Teams []string
	// IsAgent reports whether an agent is configured (nil: any name).
	IsAgent func(name string) bool
	Clock   store.Clock
	// Calendars are the business_hours calendars by name (the
	// business_hours condition).
	Calendars map[string]*calendar.Calendar
	// Canned returns a canned reply's text by name (nil: canned replies
	// are not available, a send_reply must give its text).
	Canned func(ctx context.Context, name string) (string, error)
}

// Engine keeps the rules and runs them.
type Engine struct {
	st  store.Store
	cat *labels.Catalog
	o   Options

	mu     sync.Mutex
	cached []Rule
	at     time.Time
}

const (
	keyRules  = "automation/rules"
	keyMacros = "automation/macros"
	cacheFor  = 2 * time.Second
)

func New(st store.Store, cat *labels.Catalog, o Options) *Engine {
	if o.Clock == nil {
		o.Clock = store.SystemClock
	}
	return &Engine{st: st, cat: cat, o: o}
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Rules returns the rules in order.
func (en *Engine) Rules(ctx context.Context) ([]Rule, error) {
	var rs []Rule
	b, err := en.st.GetCheckpoint(ctx, keyRules)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, err
	}
	for i := range rs {
		compile(rs[i].Conditions)
	}
	return rs, nil
}

func compile(cs []Condition) {
	for i := range cs {
		c := &cs[i]
		switch c.Type {
		case CondTextMatches:
			c.re, _ = regexp.Compile("(?i)" + c.Value)
		case CondTextContains:
			c.lower = strings.ToLower(c.Value)
		case CondHours:
			c.from, c.to, c.hoursOK = parseHours(c.Value)
		}
		c.compiled = true
	}
}

// active returns the enabled rules, cached for a moment (ingest reads them
// per message).
func (en *Engine) active(ctx context.Context) ([]Rule, error) {
	en.mu.Lock()
	defer en.mu.Unlock()
	now := time.Now()
	if en.cached != nil && now.Sub(en.at) < cacheFor {
		return en.cached, nil
	}
	rs, err := en.Rules(ctx)
	if err != nil {
		return nil, err
	}
	out := []Rule{}
	for _, r := range rs {
		if r.Enabled {
			out = append(out, r)
		}
	}
	en.cached, en.at = out, now
	return out, nil
}

// PutRules replaces the whole ordered list after validating every rule.
func (en *Engine) PutRules(ctx context.Context, rs []Rule, by string) error {
	seen := map[string]bool{}
	for _, r := range rs {
		if err := en.ValidateRule(ctx, r); err != nil {
			return err
		}
		if seen[r.ID] {
			return fmt.Errorf("%w: rule id %q twice", ErrInvalid, r.ID)
		}
		seen[r.ID] = true
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	if err := en.st.AppendAudit(ctx, store.AuditRecord{At: en.o.Clock().UTC(), Actor: by, Action: "rules.put", Target: "rules",
		Detail: fmt.Sprintf("%d rules", len(rs))}); err != nil {
		return fmt.Errorf("%w: %w", store.ErrAuditFailed, err)
	}
	if err := en.st.PutCheckpoint(ctx, keyRules, b); err != nil {
		return err
	}
	en.mu.Lock()
	en.cached = nil
	en.mu.Unlock()
	return nil
}

// ValidateRule checks a rule: known event, condition and action types,
// labels, attributes, teams and agents.
func (en *Engine) ValidateRule(ctx context.Context, r Rule) error {
	if !idRE.MatchString(r.ID) {
		return fmt.Errorf("%w: rule id %q: lower-case letters, digits, '_', '-'", ErrInvalid, r.ID)
	}
	if !slices.Contains(Events, r.Event) {
		return fmt.Errorf("%w: rule %s: event must be one of %s", ErrInvalid, r.ID, strings.Join(Events, ", "))
	}
	for _, c := range r.Conditions {
		if err := en.validateCondition(ctx, c); err != nil {
			return fmt.Errorf("rule %s: %w", r.ID, err)
		}
	}
	if len(r.Actions) == 0 {
		return fmt.Errorf("%w: rule %s has no action", ErrInvalid, r.ID)
	}
	return en.validateActions(ctx, "rule "+r.ID, r.Actions)
}

func (en *Engine) validateCondition(ctx context.Context, c Condition) error {
	switch c.Type {
	case CondChannel, CondTextContains, CondSender:
		if c.Value == "" {
			return fmt.Errorf("%w: condition %s needs a value", ErrInvalid, c.Type)
		}
	case CondTextMatches:
		if _, err := regexp.Compile(c.Value); err != nil || c.Value == "" {
			return fmt.Errorf("%w: condition text_matches: bad regular expression %q", ErrInvalid, c.Value)
		}
	case CondLabel:
		return en.cat.CheckLabels(ctx, []string{c.Value})
	case CondAttribute:
		_, err := en.cat.CheckAttributes(ctx, labels.OnConversation, map[string]string{c.Name: c.Value})
		return err
	case CondHours:
		if _, _, ok := parseHours(c.Value); !ok {
			return fmt.Errorf("%w: condition hours: want HH:MM-HH:MM, got %q", ErrInvalid, c.Value)
		}
	case CondNewConv, CondSeenBefore:
	case CondPhase:
		if !slices.Contains(Phases, c.Value) {
			return fmt.Errorf("%w: condition phase: want one of %s, got %q", ErrInvalid, strings.Join(Phases, ", "), c.Value)
		}
	case CondBusinessHours:
		if en.o.Calendars[c.Value] == nil {
			return fmt.Errorf("%w: condition business_hours: no business_hours calendar named %q", ErrInvalid, c.Value)
		}
	case CondCustomerLabel, CondAddedLabel:
		return en.cat.CheckLabels(ctx, []string{c.Value})
	case CondCustomerAttr:
		_, err := en.cat.CheckAttributes(ctx, labels.OnCustomer, map[string]string{c.Name: c.Value})
		return err
	case CondSLATarget:
		if !slices.Contains(SLATargets, c.Value) {
			return fmt.Errorf("%w: condition sla_target: want one of %s, got %q", ErrInvalid, strings.Join(SLATargets, ", "), c.Value)
		}
	case CondPriority:
		if _, ok := store.ParsePriority(c.Value); !ok {
			return fmt.Errorf("%w: condition priority: want one of none, %s, got %q", ErrInvalid, strings.Join(store.Priorities, ", "), c.Value)
		}
	case CondCSATScore:
		if _, _, ok := parseRange(c.Value); !ok {
			return fmt.Errorf("%w: condition csat_score: want N or N-M (1 to 10), got %q", ErrInvalid, c.Value)
		}
	default:
		return fmt.Errorf("%w: unknown condition type %q", ErrInvalid, c.Type)
	}
	return nil
}

func (en *Engine) validateActions(ctx context.Context, what string, as []Action) error {
	for _, a := range as {
		var err error
		switch a.Type {
		case ActAddLabel, ActRemoveLabel:
			err = en.cat.CheckLabels(ctx, []string{a.Value})
		case ActAssignTeam:
			if a.Value != "" && !slices.Contains(en.o.Teams, a.Value) {
				err = fmt.Errorf("%w: unknown team %q", ErrInvalid, a.Value)
			}
		case ActAssignAgent:
			if a.Value != "" && en.o.IsAgent != nil && !en.o.IsAgent(a.Value) {
				err = fmt.Errorf("%w: unknown agent %q", ErrInvalid, a.Value)
			}
		case ActSetAttribute:
			_, err = en.cat.CheckAttributes(ctx, labels.OnConversation, map[string]string{a.Name: a.Value})
		case ActSetPriority:
			if _, ok := store.ParsePriority(a.Value); !ok {
				err = fmt.Errorf("%w: set_priority: want one of none, %s, got %q", ErrInvalid, strings.Join(store.Priorities, ", "), a.Value)
			}
		case ActResolve:
		case ActSnooze:
			if d, perr := time.ParseDuration(a.Value); perr != nil || d <= 0 {
				err = fmt.Errorf("%w: snooze needs a positive duration, got %q", ErrInvalid, a.Value)
			}
		case ActSendReply:
			err = en.validateReply(ctx, a)
		case ActAddNote:
			if strings.TrimSpace(a.Text) == "" {
				err = fmt.Errorf("%w: add_note needs a text", ErrInvalid)
			}
		case ActWebhook:
		default:
			err = fmt.Errorf("%w: unknown action type %q", ErrInvalid, a.Type)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

func parseHours(v string) (from, to int, ok bool) {
	a, b, found := strings.Cut(v, "-")
	if !found {
		return 0, 0, false
	}
	p := func(s string) (int, bool) {
		t, err := time.Parse("15:04", strings.TrimSpace(s))
		if err != nil {
			return 0, false
		}
		return t.Hour()*60 + t.Minute(), true
	}
	from, ok1 := p(a)
	to, ok2 := p(b)
	return from, to, ok1 && ok2
}

// Subject is what a rule runs on: the event and its facts.
type Subject struct {
	// Event is the event (Events); Key identifies this occurrence of it
	// (the message id, or the change's), from which the ids of the run's
	// records and effects are derived.
	Event string
	Key   string
	// Entry is the customer's message (message.received,
	// conversation.opened); zero for the other events.
	Entry store.Entry
	// At is when the event happened.
	At time.Time
	// Customer is the conversation's customer (nil: not read, because no
	// rule's condition needs it).
	Customer *store.Customer
	// SeenBefore: the customer had a conversation before this one.
	SeenBefore bool
	// Added are the labels the change added (label.added).
	Added []string
	// Score is the survey answer's score (csat.received).
	Score int
	// SLATarget is the target about to breach (sla.breaching).
	SLATarget string
	// Calendars are the business_hours calendars by name.
	Calendars map[string]*calendar.Calendar

	// lower: Entry's text and subject lower-cased, once (lowered).
	lower *[2]string
}

// lowered returns the entry's text and subject lower-cased, computed once
// per subject whatever the number of text_contains conditions.
func (s *Subject) lowered() (string, string) {
	if s.lower == nil {
		s.lower = &[2]string{strings.ToLower(s.Entry.Text), strings.ToLower(s.Entry.Subject)}
	}
	return s.lower[0], s.lower[1]
}

// Matches reports whether every condition of r holds for s on
// conversation c (as it is before the rule).
func Matches(r Rule, s Subject, c store.Conversation) bool {
	return matches(&r, &s, &c)
}

// matches is Matches without copying the rule, subject and conversation
// for each condition (ingest evaluates every active rule per message).
func matches(r *Rule, s *Subject, c *store.Conversation) bool {
	for i := range r.Conditions {
		cond := &r.Conditions[i]
		if holds(cond, s, c) == cond.Not {
			return false
		}
	}
	return true
}

// PhaseOf is the channel phase an audience stands for.
func PhaseOf(audience string) string {
	switch {
	case audience == store.AudienceShadow:
		return store.PhaseShadow
	case strings.HasPrefix(audience, "team:"):
		return store.PhasePilot
	}
	return store.PhaseLive
}

func holds(cond *Condition, s *Subject, c *store.Conversation) bool {
	e := &s.Entry
	switch cond.Type {
	case CondChannel:
		if e.Channel != "" {
			return e.Channel == cond.Value
		}
		return c.Channel == cond.Value
	case CondTextContains:
		v := cond.lower
		if v == "" {
			v = strings.ToLower(cond.Value)
		}
		text, subject := s.lowered()
		return strings.Contains(text, v) || strings.Contains(subject, v)
	case CondTextMatches:
		re := cond.re
		if re == nil {
			re, _ = regexp.Compile("(?i)" + cond.Value)
		}
		return re != nil && (re.MatchString(e.Text) || re.MatchString(e.Subject))
	case CondSender:
		if e.Sender == nil {
			return false
		}
		return strings.EqualFold(e.Sender.Value, cond.Value) || strings.EqualFold(e.Sender.Type+":"+e.Sender.Value, cond.Value)
	case CondLabel:
		return slices.Contains(c.Labels, cond.Value)
	case CondAttribute:
		return c.Attributes[cond.Name] == cond.Value
	case CondHours:
		from, to, ok := cond.from, cond.to, cond.hoursOK
		if !cond.compiled {
			from, to, ok = parseHours(cond.Value)
		}
		if !ok {
			return false
		}
		t := s.At.UTC()
		m := t.Hour()*60 + t.Minute()
		if from <= to {
			return m >= from && m < to
		}
		return m >= from || m < to // over midnight
	case CondNewConv:
		return e.ID != "" && c.ID == ids.Derived("v_", e.ID) // the conversation this message opened
	case CondPhase:
		return PhaseOf(c.Audience) == cond.Value
	case CondBusinessHours:
		cal := s.Calendars[cond.Value]
		return cal != nil && cal.Between(s.At, s.At.Add(time.Minute)) > 0
	case CondSeenBefore:
		return s.SeenBefore
	case CondCustomerLabel:
		return s.Customer != nil && slices.Contains(s.Customer.Labels, cond.Value)
	case CondCustomerAttr:
		return s.Customer != nil && s.Customer.Attributes[cond.Name] == cond.Value
	case CondAddedLabel:
		return slices.Contains(s.Added, cond.Value)
	case CondSLATarget:
		return s.SLATarget == cond.Value
	case CondPriority:
		p, ok := store.ParsePriority(cond.Value)
		return ok && c.Priority == p
	case CondCSATScore:
		lo, hi, ok := parseRange(cond.Value)
		return ok && s.Score >= lo && s.Score <= hi
	}
	return false
}

// parseRange reads "N" or "N-M" (scores 1 to 10).
func parseRange(v string) (lo, hi int, ok bool) {
	a, b, found := strings.Cut(v, "-")
	if !found {
		b = a
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	return lo, hi, err1 == nil && err2 == nil && lo >= 1 && lo <= hi && hi <= 10
}

// needsCustomer reports whether some rule's condition reads the customer.
func needsCustomer(rs []Rule) (customer, seen bool) {
	for _, r := range rs {
		for _, c := range r.Conditions {
			switch c.Type {
			case CondCustomerLabel, CondCustomerAttr:
				customer = true
			case CondSeenBefore:
				seen = true
			}
		}
	}
	return customer, seen
}

// Apply applies actions to x, as of time now; it returns a description of
// each change for the record, and the effects beyond the conversation
// (reply, note, webhook) to make once the change stands.
func Apply(rule string, as []Action, x *store.Conversation, now time.Time) ([]string, []store.RuleEffect) {
	var did []string
	var fx []store.RuleEffect
	for i, a := range as {
		switch a.Type {
		case ActAddLabel:
			x.Labels = timeline.ApplyLabels(x.Labels, []string{a.Value}, nil)
			did = append(did, "added label "+a.Value)
		case ActRemoveLabel:
			x.Labels = timeline.ApplyLabels(x.Labels, nil, []string{a.Value})
			did = append(did, "removed label "+a.Value)
		case ActAssignTeam:
			x.Team = a.Value
			did = append(did, "assigned team "+a.Value)
		case ActAssignAgent:
			x.Assignee = a.Value
			did = append(did, "assigned agent "+a.Value)
		case ActSetAttribute:
			x.Attributes = timeline.ApplyAttributes(x.Attributes, map[string]string{a.Name: a.Value})
			did = append(did, "set "+a.Name)
		case ActSetPriority:
			p, _ := store.ParsePriority(a.Value)
			x.Priority = p
			did = append(did, "set priority "+a.Value)
		case ActResolve:
			if x.Status != store.StatusResolved {
				x.Status = store.StatusResolved
				x.ResolvedAt = now
				x.SnoozedUntil = time.Time{}
			}
			did = append(did, "resolved")
		case ActSnooze:
			d, _ := time.ParseDuration(a.Value)
			x.Status = store.StatusSnoozed
			x.SnoozedUntil = now.Add(d).UTC()
			did = append(did, "snoozed for "+a.Value)
		case ActSendReply, ActAddNote, ActWebhook:
			fx = append(fx, store.RuleEffect{Rule: rule, N: i, Type: a.Type, Text: a.Text, Canned: a.Canned, Value: a.Value})
			switch a.Type {
			case ActSendReply:
				did = append(did, "sent a reply")
			case ActAddNote:
				did = append(did, "added a note")
			default:
				did = append(did, "called the webhook")
			}
		}
	}
	return did, fx
}

// Fired is one rule that fired and what it did.
type Fired struct {
	Rule    string             `json:"rule"`
	Name    string             `json:"name"`
	Did     []string           `json:"did"`
	Effects []store.RuleEffect `json:"effects,omitempty"`
}

// Run evaluates the rules of s's event in order on conversation x and
// applies the actions of each that matches to x. Each rule sees the
// conversation as the rules before it left it. A message that opens a
// conversation is both message.received and conversation.opened: the
// rules of both run, in their order.
func Run(rs []Rule, s Subject, x *store.Conversation) []Fired {
	var out []Fired
	for i := range rs {
		r := &rs[i]
		if !runsOn(r.Event, &s, x) || !matches(r, &s, x) {
			continue
		}
		did, fx := Apply(r.ID, r.Actions, x, s.At)
		out = append(out, Fired{Rule: r.ID, Name: r.Name, Did: did, Effects: fx})
	}
	return out
}

func runsOn(event string, s *Subject, x *store.Conversation) bool {
	if event == s.Event {
		return true
	}
	return event == EventConversationOpened && s.Event == EventMessageReceived && s.Entry.ID != "" && x.ID == ids.Derived("v_", s.Entry.ID)
}
