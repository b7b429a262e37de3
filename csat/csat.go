package csat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/consent"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Errors of an answer.
var (
	// ErrNoSurvey: no survey waits for this answer.
	ErrNoSurvey = errors.New("csat: no survey waits for an answer")
	// ErrAnswered: the survey was answered already (one answer per survey).
	ErrAnswered = errors.New("csat: the survey was already answered")
	// ErrOutOfRange: the score is not on the survey's scale.
	ErrOutOfRange = errors.New("csat: score out of range")
)

// Sink receives every recorded answer once (the service reports; the
// lead wires package sla's implementation). Scale 5: 1..5; thumbs: scale
// 2, 1 = down, 2 = up.
type Sink interface {
	CSATReceived(ctx context.Context, conv store.Conversation, score, scale int, at time.Time) error
}

// Settings are one channel's survey settings.
type Settings struct {
	Enabled     bool
	Delay       time.Duration
	Question    string
	Scale       int // Scale5 or ScaleThumbs
	MinInterval time.Duration
}

// AnswerWindow is how long after a survey a channel reply is taken as its
// answer ("the next inbound message within 7 days").
const AnswerWindow = 7 * 24 * time.Hour

// clockSkew is how far a provider's time of an answer (Slack's action_ts,
// Twilio's arrival) may lag the hub's time of the survey.
const clockSkew = time.Minute

// LinkTTL is how long a survey link works.
const LinkTTL = 30 * 24 * time.Hour

// timerSet names the survey timers in store.Timers.
const timerSet = store.TimerSetCSAT

// claimLease: a claimed survey timer whose worker died is due again after this.
const claimLease = 2 * time.Minute

// Options configure a Service.
type Options struct {
	Store    store.Store
	Dir      *directory.Directory
	Outbound *router.Outbound
	Convs    *timeline.Service
	// Consent decides whether the purpose feedback is known (surveys go
	// as feedback then, as service otherwise); nil: the default purposes.
	Consent *consent.Policy
	// Channels maps a channel name to its settings (only enabled ones matter).
	Channels map[string]Settings
	// PublicURL is the hub's address as customers reach it (links).
	PublicURL string
	Clock     store.Clock
	Logger    *slog.Logger
	Sink      Sink
	// Metrics (nil: unregistered ones).
	Metrics *Metrics
}

// Service schedules, sends and records surveys. Safe for concurrent use;
// several replicas may run one each over a shared store.
type Service struct {
	o    Options
	sign *signer
	auto Automation
}

// Automation runs automation rules on survey answers (issue 24's
// csat.received; package automation implements it): apply inside the
// compare-and-swap that records the answer, after once it stands and
// again when the same answer is recorded again (ids derived from the
// answer: once).
type Automation interface {
	PrepareCSAT(ctx context.Context, cur store.Conversation, answerID string, score int) (apply func(x *store.Conversation, at time.Time), after func(context.Context, store.Conversation), err error)
}

// SetAutomation installs a (call it before the service is used).
func (s *Service) SetAutomation(a Automation) { s.auto = a }

// New returns the survey service.
func New(o Options) *Service {
	if o.Clock == nil {
		o.Clock = store.SystemClock
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Consent == nil {
		o.Consent = consent.New(o.Store, nil, o.Clock)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	return &Service{o: o, sign: &signer{st: o.Store}}
}

// SetSink installs the report sink; call it before the service is used.
func (s *Service) SetSink(k Sink) { s.o.Sink = k }

type due struct {
	Conversation string    `json:"conversation"`
	ResolvedAt   time.Time `json:"resolved_at"`
}

// Resolved schedules the survey of conversation c, just resolved, when its
// channel asks for surveys (timeline.Service.OnResolved calls it). A later
// resolution of the same conversation replaces the timer.
func (s *Service) Resolved(ctx context.Context, c store.Conversation) {
	if err := s.Schedule(ctx, c); err != nil {
		s.o.Logger.Error("survey not scheduled", "conversation", c.ID, "err", err)
	}
}

// Schedule writes the survey timer of c as resolved (c.ResolvedAt) when its
// channel asks for surveys: timeline.Service.OnResolving calls it before
// the resolution's compare-and-swap, so the schedule is durable before the
// resolution is; a timer whose resolution did not happen (the change
// failed) finds the conversation unresolved, or resolved at another time,
// when due, and is dropped ("not_due"). A later resolution replaces it.
func (s *Service) Schedule(ctx context.Context, c store.Conversation) error {
	set, ok := s.o.Channels[c.Channel]
	if !ok || !set.Enabled || c.Replies == 0 || c.Audience == store.AudienceShadow {
		return nil
	}
	b, _ := json.Marshal(due{Conversation: c.ID, ResolvedAt: c.ResolvedAt})
	return s.o.Store.PutTimer(ctx, store.Timer{Set: timerSet, ID: c.ID, At: c.ResolvedAt.Add(set.Delay), Payload: b})
}

// Run sends due surveys every interval until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.SendDue(ctx); err != nil && ctx.Err() == nil {
			s.o.Logger.Warn("surveys", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SendDue sends every survey due now and returns how many it sent.
func (s *Service) SendDue(ctx context.Context) (int, error) {
	sent := 0
	for {
		now := s.o.Clock().UTC()
		ts, err := s.o.Store.ClaimTimers(ctx, timerSet, now, claimLease, 50)
		if err != nil {
			return sent, err
		}
		for _, t := range ts {
			channel, result, err := s.fire(ctx, t, now)
			if err != nil {
				// Left to its lease: tried again after claimLease.
				s.o.Logger.Warn("survey failed; trying again later", "conversation", t.ID, "err", err)
				continue
			}
			if result == "sent" {
				sent++
			}
			if channel != "" {
				s.o.Metrics.Surveys.WithLabelValues(channel, result).Inc()
			}
			if err := s.o.Store.DeleteTimer(ctx, timerSet, t.ID); err != nil {
				return sent, err
			}
		}
		if len(ts) < 50 {
			return sent, nil
		}
	}
}

// fire sends one due survey; result is "sent" or why none went (a nil
// error then too: the timer is done). An error leaves the timer for later.
func (s *Service) fire(ctx context.Context, t store.Timer, now time.Time) (channel, result string, err error) {
	var d due
	if err := json.Unmarshal(t.Payload, &d); err != nil {
		return "", "undecodable", nil
	}
	conv, err := s.o.Store.GetConversation(ctx, d.Conversation)
	if errors.Is(err, store.ErrNotFound) {
		return "", "erased", nil
	} else if err != nil {
		return "", "", err
	}
	set, enabled := s.o.Channels[conv.Channel]
	if !enabled || !set.Enabled || conv.Status != store.StatusResolved || !conv.ResolvedAt.Equal(d.ResolvedAt) || conv.Replies == 0 {
		// Reopened (a later resolution has its own timer), or surveys switched off.
		return conv.Channel, "not_due", nil
	}
	entryID := ids.Derived("s_", conv.ID, d.ResolvedAt.Format(time.RFC3339Nano))
	if conv.Survey == nil || conv.Survey.EntryID != entryID {
		if recent, err := s.surveyedSince(ctx, conv, now.Add(-set.MinInterval)); err != nil {
			return conv.Channel, "", err
		} else if recent {
			return conv.Channel, "min_interval", nil
		}
	}
	ch, _ := s.o.Dir.Get(conv.Channel)
	if ch.Phase == store.PhaseOff || ch.Phase == store.PhaseShadow {
		return conv.Channel, "phase", nil
	}
	// A channel that cannot send (a web form) surveys on the channel the
	// agent answered on.
	send := ch
	if !s.o.Outbound.CanSend(ch.Name) {
		name, err := s.replyChannel(ctx, conv)
		if err != nil {
			return conv.Channel, "", err
		} else if name == "" {
			return conv.Channel, "no_channel", nil
		}
		send, _ = s.o.Dir.Get(name)
	}
	purpose := consent.Service
	if _, ok := s.o.Consent.Purpose("feedback"); ok {
		purpose = "feedback"
	}
	// Refusals the send would find anyway, checked before the survey is
	// marked on the conversation (a refused survey must not count).
	if err := s.o.Consent.Allowed(ctx, conv.CustomerID, send.Name, purpose); err != nil {
		if errors.Is(err, consent.ErrRequired) {
			return conv.Channel, "consent", nil
		}
		return conv.Channel, "", err
	}
	text, html, choices, err := s.message(ctx, send.Type, set, entryID, now)
	if err != nil {
		return conv.Channel, "", err
	}
	// Mark first: of two replicas (or a retry), the survey is one.
	if _, err := s.o.Store.UpdateConversation(ctx, conv.ID, func(x *store.Conversation) error {
		if x.Survey != nil && x.Survey.EntryID == entryID {
			return nil
		}
		x.Survey = &store.Survey{EntryID: entryID, Scale: set.Scale, SentAt: now}
		return nil
	}); err != nil {
		return conv.Channel, "", err
	}
	_, created, err := s.o.Outbound.SendAutomatic(ctx, router.AutomaticRequest{ConversationID: conv.ID, Channel: send.Name, EntryID: entryID,
		Text: text, HTML: html, Choices: choices, Purpose: purpose, Agent: "survey"})
	switch {
	case errors.Is(err, router.ErrNotSending), errors.Is(err, router.ErrNoConsent), errors.Is(err, consent.ErrRequired),
		errors.Is(err, router.ErrNoRecipient), errors.Is(err, router.ErrNoReplyWanted), errors.Is(err, router.ErrCannotReply):
		// Done, not retried: ErrCannotReply (the channel lost its Sender
		// since CanSend above) would refuse every retry alike.
		s.o.Logger.Info("survey not sent", "conversation", conv.ID, "reason", err)
		return conv.Channel, refusal(err), s.unmark(ctx, conv.ID, entryID)
	case err != nil:
		return conv.Channel, "", err
	}
	if !created {
		return conv.Channel, "already_sent", nil
	}
	return conv.Channel, "sent", nil
}

// refusal names the reason of an outbound refusal for the metrics.
func refusal(err error) string {
	switch {
	case errors.Is(err, router.ErrNotSending):
		return "phase"
	case errors.Is(err, router.ErrNoRecipient):
		return "no_recipient"
	case errors.Is(err, router.ErrNoReplyWanted):
		return "no_reply"
	case errors.Is(err, router.ErrCannotReply):
		return "no_channel"
	default:
		return "consent"
	}
}

// replyChannel is the channel of the latest agent's reply in conv that
// can send ("" when none).
func (s *Service) replyChannel(ctx context.Context, conv store.Conversation) (string, error) {
	es, err := s.o.Store.PageEntries(ctx, conv.CustomerID, "", 200)
	if err != nil {
		return "", err
	}
	for _, e := range es {
		if e.ConversationID == conv.ID && e.Direction == connectors.Outbound && e.Kind == store.KindMessage &&
			!slices.Contains(e.Flags, store.FlagAutomatic) && s.o.Outbound.CanSend(e.Channel) {
			return e.Channel, nil
		}
	}
	return "", nil
}

// unmark takes back the survey mark of a survey that could not go.
func (s *Service) unmark(ctx context.Context, convID, entryID string) error {
	_, err := s.o.Store.UpdateConversation(ctx, convID, func(x *store.Conversation) error {
		if x.Survey != nil && x.Survey.EntryID == entryID {
			x.Survey = nil
		}
		return nil
	})
	return err
}

// surveyedSince reports whether the conversation's customer got a survey
// (on any of their conversations) after since.
func (s *Service) surveyedSince(ctx context.Context, conv store.Conversation, since time.Time) (bool, error) {
	v, err := timeline.Load(ctx, s.o.Store, conv.CustomerID)
	if err != nil {
		return false, err
	}
	cs, err := timeline.Conversations(ctx, s.o.Store, v, 500)
	if err != nil {
		return false, err
	}
	for _, c := range cs {
		if c.Survey != nil && c.Survey.SentAt.After(since) {
			return true, nil
		}
	}
	return false, nil
}

// Answer implements router.Answers: an inbound message from a customer
// who got a survey on this channel within AnswerWindow, unanswered, whose
// text is a score, is that survey's answer. Auto-replies (NoReply) and
// anything else stay ordinary messages.
func (s *Service) Answer(ctx context.Context, msg connectors.Message, customerID string) (bool, error) {
	if msg.NoReply || len(msg.Identities) == 0 || !s.carriesSurveys(msg.Channel) {
		return false, nil
	}
	// Most messages are no score: decided before any store read, since
	// every inbound message of a surveying channel passes here.
	text := replyText(msg.Text)
	if _, _, ok := ParseScore(text, Scale5); !ok {
		if _, _, ok := ParseScore(text, ScaleThumbs); !ok {
			return false, nil
		}
	}
	v, err := timeline.Load(ctx, s.o.Store, customerID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	cs, err := timeline.Conversations(ctx, s.o.Store, v, 200)
	if err != nil {
		return false, err
	}
	at := msg.OccurredAt
	if at.IsZero() {
		at = s.o.Clock()
	}
	var best *store.Conversation
	for i, c := range cs {
		sv := c.Survey
		if sv == nil || c.Status != store.StatusResolved ||
			sv.AnswerID != "" && sv.AnswerID != msg.ID || at.Before(sv.SentAt.Add(-clockSkew)) || at.Sub(sv.SentAt) > AnswerWindow {
			continue
		}
		if c.Channel != msg.Channel {
			// A channel that cannot send (a web form) surveyed on the
			// channel of the agent's reply: the survey entry says which.
			if s.o.Outbound.CanSend(c.Channel) {
				continue
			}
			if e, err := s.o.Store.GetEntry(ctx, sv.EntryID); err != nil || e.Channel != msg.Channel {
				continue
			}
		}
		if best == nil || sv.SentAt.After(best.Survey.SentAt) {
			best = &cs[i]
		}
	}
	if best == nil {
		return false, nil
	}
	score, comment, ok := ParseScore(text, best.Survey.Scale)
	if !ok {
		return false, nil
	}
	conv, err := s.o.Store.GetConversation(ctx, best.ID)
	if err != nil {
		return false, err
	}
	sender := msg.Identities[0]
	err = s.record(ctx, conv, score, comment, msg.ID, &sender, at)
	if errors.Is(err, ErrAnswered) || errors.Is(err, ErrNoSurvey) {
		return false, nil
	}
	return err == nil, err
}

// carriesSurveys reports whether a reply on channel may answer a survey:
// the channel surveys, or it can send and some surveying channel cannot
// (a web form's survey goes on the channel of the agent's reply).
func (s *Service) carriesSurveys(channel string) bool {
	if s.o.Channels[channel].Enabled {
		return true
	}
	if !s.o.Outbound.CanSend(channel) {
		return false
	}
	for name, set := range s.o.Channels {
		if set.Enabled && !s.o.Outbound.CanSend(name) {
			return true
		}
	}
	return false
}

// replyText is the part of a reply above the quoted message (mail
// clients quote the survey below or after an attribution line).
func replyText(text string) string {
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, ">") || strings.HasSuffix(t, "wrote:") || strings.HasSuffix(t, "kirjoitti:") || strings.HasPrefix(t, "-----") {
			break
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// record makes score the answer of conv's survey: the survey is marked
// answered (compare-and-swap: one answer per survey; answerID repeats
// idempotently), the csat.received event is recorded, the KindCSAT entry
// joins the conversation without reopening it, and the Sink hears of it.
func (s *Service) record(ctx context.Context, conv store.Conversation, score int, comment, answerID string, sender *connectors.Identity, at time.Time) error {
	sv := conv.Survey
	if sv == nil {
		return ErrNoSurvey
	}
	if score < 1 || score > sv.Scale {
		return fmt.Errorf("%w: %d is not on the scale 1 to %d", ErrOutOfRange, score, sv.Scale)
	}
	at = at.UTC()
	var apply func(*store.Conversation, time.Time)
	var after func(context.Context, store.Conversation)
	if s.auto != nil {
		var err error
		if apply, after, err = s.auto.PrepareCSAT(ctx, conv, answerID, score); err != nil {
			s.o.Logger.Error("automation rules not run on a survey answer", "conversation", conv.ID, "err", err)
		}
	}
	c, err := s.o.Store.UpdateConversation(ctx, conv.ID, func(x *store.Conversation) error {
		if x.Survey == nil || x.Survey.EntryID != sv.EntryID {
			return ErrNoSurvey
		}
		if x.Survey.AnswerID != "" {
			if x.Survey.AnswerID != answerID {
				return ErrAnswered
			}
			return nil
		}
		x.Survey.AnswerID, x.Survey.AnsweredAt = answerID, at
		if apply != nil {
			apply(x, at) // the csat.received rules, in this same swap
		}
		return nil
	})
	if err != nil {
		return err
	}
	if after != nil {
		defer after(ctx, c)
	}
	data := Data{CustomerID: c.CustomerID, ConversationID: c.ID, Channel: c.Channel, Score: score, Scale: sv.Scale, Comment: comment, At: at}
	if err := s.o.Convs.RecordWebhook(ctx, "csat.received", answerID, c.CustomerID, data); err != nil {
		return fmt.Errorf("record csat.received: %w", err)
	}
	now := s.o.Clock().UTC()
	e := store.Entry{ID: answerID, CustomerID: c.CustomerID, Channel: c.Channel, Direction: connectors.Inbound, Kind: store.KindCSAT,
		Sender: sender, Text: comment, CSAT: &store.CSAT{Score: score, Scale: sv.Scale, Comment: comment},
		OccurredAt: at, CreatedAt: now, UpdatedAt: now}
	_, created, err := s.o.Convs.Append(ctx, e, c)
	if err != nil {
		return err
	}
	if created {
		via := "reply"
		if sender == nil {
			via = "page"
		}
		s.o.Metrics.Answers.WithLabelValues(c.Channel, via).Inc()
	}
	if created && s.o.Sink != nil {
		if err := s.o.Sink.CSATReceived(ctx, c, score, sv.Scale, at); err != nil {
			s.o.Logger.Error("survey answer recorded, the report sink failed", "conversation", c.ID, "err", err)
		}
	}
	return nil
}

// Data is the data of the csat.received webhook event.
type Data struct {
	CustomerID     string    `json:"customer_id"`
	ConversationID string    `json:"conversation_id"`
	Channel        string    `json:"channel"`
	Score          int       `json:"score"`
	Scale          int       `json:"scale"`
	Comment        string    `json:"comment,omitempty"`
	At             time.Time `json:"at"`
}
