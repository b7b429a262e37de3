package consent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Bases of a purpose.
const (
	OptIn  = "opt_in"  // allowed only after the customer said yes
	OptOut = "opt_out" // allowed until the customer said no
	None   = "none"    // needs no consent
)

// Purpose names with a meaning to the hub.
const (
	// Service is an answer in a conversation the customer started.
	Service = "service"
	// AnyChannel is the channel of a decision that holds on every channel
	// without one of its own.
	AnyChannel = "*"
)

// Sources of a decision (Consent.Source); an agent may name another.
const (
	SourceMessage     = "channel_message" // SMS STOP/START and the like
	SourceWebForm     = "web_form"
	SourcePhone       = "phone"
	SourceSelfService = "self_service"
	SourceUnsubscribe = "unsubscribe_link" // email one-click (RFC 8058)
)

var (
	// ErrRequired: the purpose's basis is not met (no opt-in for opt_in,
	// an opt-out for opt_out, or the customer stopped the channel).
	ErrRequired = errors.New("consent required")
	// ErrUnknownPurpose: the purpose is not configured.
	ErrUnknownPurpose = errors.New("unknown consent purpose")
)

// Purpose is one configured purpose.
type Purpose struct {
	Name    string `json:"name"`
	Basis   string `json:"basis"`
	Text    string `json:"text,omitempty"`
	Version string `json:"version,omitempty"`
}

// Defaults are the purposes when none are configured.
var Defaults = []Purpose{
	{Name: Service, Basis: None, Text: "Answers to the questions you ask us.", Version: "1"},
	{Name: "feedback", Basis: OptOut, Text: "Short questions about how we served you.", Version: "1"},
	{Name: "marketing", Basis: OptIn, Text: "News and offers from us.", Version: "1"},
}

// Policy decides with the configured purposes over a store.
type Policy struct {
	st       store.Store
	purposes []Purpose
	clock    store.Clock
	record   RecordFunc
}

// RecordFunc records an outgoing-webhook event (timeline.Service's
// RecordWebhook, which hands it to the webhooks outbox; nil: none).
type RecordFunc func(ctx context.Context, typ, key, customerID string, data any) error

// ChangeData is the data of the consent.changed webhook event, for a
// decision recorded through Record and for a channel message's STOP or
// START (router). MessageID is empty for a decision no message carried.
type ChangeData struct {
	CustomerID string    `json:"customer_id"`
	Channel    string    `json:"channel"`
	Purpose    string    `json:"purpose"`
	Granted    bool      `json:"granted"`
	Version    string    `json:"version,omitempty"`
	MessageID  string    `json:"message_id"`
	At         time.Time `json:"at"`
}

// SetRecorder makes Record announce each decision as consent.changed;
// call it before the policy is used.
func (p *Policy) SetRecorder(f RecordFunc) { p.record = f }

// New returns the policy of purposes (nil or empty: Defaults). A purpose
// named service is added with basis none when missing: replies in a
// conversation the customer started are always service.
func New(st store.Store, purposes []Purpose, clock store.Clock) *Policy {
	if len(purposes) == 0 {
		purposes = Defaults
	}
	ps := append([]Purpose(nil), purposes...)
	if _, ok := find(ps, Service); !ok {
		ps = append([]Purpose{Defaults[0]}, ps...)
	}
	if clock == nil {
		clock = store.SystemClock
	}
	return &Policy{st: st, purposes: ps, clock: clock}
}

func find(ps []Purpose, name string) (Purpose, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return Purpose{}, false
}

// Purposes lists the configured purposes in configuration order.
func (p *Policy) Purposes() []Purpose { return append([]Purpose(nil), p.purposes...) }

// Purpose returns the named purpose.
func (p *Policy) Purpose(name string) (Purpose, bool) { return find(p.purposes, name) }

// Current returns the person's current decisions: the latest per
// (channel, purpose) over every record of their merged view.
func (p *Policy) Current(ctx context.Context, customerID string) ([]store.Consent, error) {
	v, err := timeline.Load(ctx, p.st, customerID)
	if err != nil {
		return nil, err
	}
	latest := map[string]store.Consent{}
	var order []string
	for _, id := range v.IDs() {
		cs, err := p.st.ListConsents(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			k := c.Channel + "\x00" + c.Purpose
			old, ok := latest[k]
			if !ok {
				order = append(order, k)
			}
			if !ok || c.At.After(old.At) {
				latest[k] = c
			}
		}
	}
	out := make([]store.Consent, 0, len(order))
	for _, k := range order {
		out = append(out, latest[k])
	}
	return out, nil
}

// History returns every decision of the person's merged view, oldest first.
func (p *Policy) History(ctx context.Context, customerID string) ([]store.Consent, error) {
	v, err := timeline.Load(ctx, p.st, customerID)
	if err != nil {
		return nil, err
	}
	var out []store.Consent
	for _, id := range v.IDs() {
		h, err := p.st.ConsentHistory(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, h...)
		// A decision recorded before the store kept a history (an
		// upgraded hub) is known by its latest record alone.
		latest, err := p.st.ListConsents(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, c := range latest {
			if !slices.ContainsFunc(h, func(x store.Consent) bool {
				return x.Channel == c.Channel && x.Purpose == c.Purpose && x.At.Equal(c.At)
			}) {
				out = append(out, c)
			}
		}
	}
	sortByTime(out)
	return out, nil
}

func sortByTime(cs []store.Consent) {
	for i := 1; i < len(cs); i++ { // insertion sort: histories are short and nearly sorted
		for j := i; j > 0 && cs[j].At.Before(cs[j-1].At); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// Allowed reports whether the hub may message the customer on channel for
// purpose: nil, or an error wrapping ErrRequired (or ErrUnknownPurpose).
func (p *Policy) Allowed(ctx context.Context, customerID, channel, purpose string) error {
	pur, ok := p.Purpose(purpose)
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownPurpose, purpose)
	}
	cs, err := p.Current(ctx, customerID)
	if err != nil {
		return err
	}
	return Decide(pur, cs, channel)
}

// Decide is Allowed's rule over the current decisions cs: a revoked
// "messages" decision on the channel (SMS STOP) refuses every purpose;
// otherwise a decision for the purpose on the channel counts over one on
// "*", and the basis says what no decision means.
func Decide(pur Purpose, cs []store.Consent, channel string) error {
	if c, ok := latestFor(cs, channel, connectors.PurposeMessages); ok && !c.Granted {
		return fmt.Errorf("%w: the customer stopped messages on %s (since %s)", ErrRequired, channel, c.At.Format(time.RFC3339))
	}
	if pur.Basis == None {
		return nil
	}
	c, ok := latestFor(cs, channel, pur.Name)
	if !ok {
		c, ok = latestFor(cs, AnyChannel, pur.Name)
	}
	switch {
	case pur.Basis == OptIn && !ok:
		return fmt.Errorf("%w: %s needs the customer's opt-in, and there is none", ErrRequired, pur.Name)
	case ok && !c.Granted:
		return fmt.Errorf("%w: the customer withdrew consent to %s (since %s)", ErrRequired, pur.Name, c.At.Format(time.RFC3339))
	}
	return nil
}

func latestFor(cs []store.Consent, channel, purpose string) (store.Consent, bool) {
	var best store.Consent
	found := false
	for _, c := range cs {
		if c.Channel == channel && c.Purpose == purpose && (!found || c.At.After(best.At)) {
			best, found = c, true
		}
	}
	return best, found
}

// Record validates a decision and records it on the customer: the purpose
// must be configured (or "messages"), the channel set ("*" for every
// channel). At defaults to now; Text and Version to the purpose's.
func (p *Policy) Record(ctx context.Context, c store.Consent) (store.Consent, error) {
	c.Channel = strings.TrimSpace(c.Channel)
	if c.Channel == "" {
		return c, fmt.Errorf("%w: channel is required (\"*\" for every channel)", connectors.ErrInvalid)
	}
	pur, ok := p.Purpose(c.Purpose)
	if !ok && c.Purpose != connectors.PurposeMessages {
		return c, fmt.Errorf("%w: %w: %q", connectors.ErrInvalid, ErrUnknownPurpose, c.Purpose)
	}
	if ok && pur.Basis == None {
		return c, fmt.Errorf("%w: %s needs no consent", connectors.ErrInvalid, c.Purpose)
	}
	if c.At.IsZero() {
		c.At = p.clock().UTC()
	}
	if c.Text == "" && c.Version == "" {
		c.Text, c.Version = pur.Text, pur.Version
	}
	if _, err := p.st.GetCustomer(ctx, c.CustomerID); err != nil {
		return c, err
	}
	// A decision made now is the latest, even when the clock did not move
	// since the previous one (or went back): the order of decisions is
	// what the current state is derived from.
	cur, err := p.Current(ctx, c.CustomerID)
	if err != nil {
		return c, err
	}
	if prev, ok := latestFor(cur, c.Channel, c.Purpose); ok && !c.At.After(prev.At) {
		c.At = prev.At.Add(time.Microsecond)
	}
	// The event before the decision (as the router records a message's
	// STOP before its entry): a failure fails the decision, so a recorded
	// decision is never left unannounced.
	if p.record != nil {
		key := c.CustomerID + "/" + c.Channel + "/" + c.Purpose + "/" + strconv.FormatInt(c.At.UnixNano(), 10)
		if err := p.record(ctx, "consent.changed", key, c.CustomerID, ChangeData{CustomerID: c.CustomerID, Channel: c.Channel,
			Purpose: c.Purpose, Granted: c.Granted, Version: c.Version, MessageID: c.MessageID, At: c.At}); err != nil {
			return c, fmt.Errorf("consent.changed not recorded: %w", err)
		}
	}
	return c, p.st.PutConsent(ctx, c)
}
