package consent_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/consent"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/store"
)

func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	marketing := consent.Purpose{Name: "marketing", Basis: consent.OptIn}
	feedback := consent.Purpose{Name: "feedback", Basis: consent.OptOut}
	service := consent.Purpose{Name: "service", Basis: consent.None}
	yes := func(ch, p string, m int) store.Consent {
		return store.Consent{Channel: ch, Purpose: p, Granted: true, At: at(m)}
	}
	no := func(ch, p string, m int) store.Consent {
		return store.Consent{Channel: ch, Purpose: p, Granted: false, At: at(m)}
	}
	stop := no("sms", connectors.PurposeMessages, 5)
	for _, c := range []struct {
		name    string
		pur     consent.Purpose
		cs      []store.Consent
		channel string
		allowed bool
	}{
		{"opt-in without a decision", marketing, nil, "mail", false},
		{"opt-in granted everywhere", marketing, []store.Consent{yes("*", "marketing", 1)}, "mail", true},
		{"opt-in granted on another channel", marketing, []store.Consent{yes("sms", "marketing", 1)}, "mail", false},
		{"a channel's no beats a general yes", marketing, []store.Consent{yes("*", "marketing", 1), no("mail", "marketing", 2)}, "mail", false},
		{"a channel's yes beats a general no", marketing, []store.Consent{no("*", "marketing", 3), yes("mail", "marketing", 2)}, "mail", true},
		{"opt-out without a decision", feedback, nil, "mail", true},
		{"opt-out withdrawn", feedback, []store.Consent{no("*", "feedback", 1)}, "mail", false},
		{"service needs nothing", service, []store.Consent{no("*", "marketing", 1)}, "sms", true},
		{"STOP stops service", service, []store.Consent{stop}, "sms", false},
		{"STOP stops an opted-in purpose", marketing, []store.Consent{yes("*", "marketing", 1), stop}, "sms", false},
		{"STOP is per channel", marketing, []store.Consent{yes("*", "marketing", 1), stop}, "mail", true},
		{"START after STOP", marketing, []store.Consent{yes("*", "marketing", 1), stop, yes("sms", connectors.PurposeMessages, 6)}, "sms", true},
	} {
		err := consent.Decide(c.pur, c.cs, c.channel)
		if c.allowed != (err == nil) || err != nil && !errors.Is(err, consent.ErrRequired) {
			t.Errorf("%s: Decide = %v, want allowed=%v", c.name, err, c.allowed)
		}
	}
}

func TestDefaultsAndService(t *testing.T) {
	p := consent.New(nil, []consent.Purpose{{Name: "newsletter", Basis: consent.OptIn}}, nil)
	if _, ok := p.Purpose("service"); !ok {
		t.Fatal("service purpose missing when not configured")
	}
	if _, ok := p.Purpose("marketing"); ok {
		t.Fatal("configured purposes replace the defaults")
	}
	d := consent.New(nil, nil, nil)
	want := map[string]string{"service": consent.None, "feedback": consent.OptOut, "marketing": consent.OptIn}
	for name, basis := range want {
		if got, ok := d.Purpose(name); !ok || got.Basis != basis {
			t.Errorf("default %s = %+v, want basis %s", name, got, basis)
		}
	}
}

// TestHistoryHasEachDecisionOnce: History joins the store's history with
// the latest decisions (so one an older hub stored without a history is
// in it) without listing a decision twice.
func TestHistoryHasEachDecisionOnce(t *testing.T) {
	ctx := t.Context()
	st := hubtest.Embedded(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateCustomer(ctx, store.Customer{ID: "c1", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutConsent(ctx, store.Consent{CustomerID: "c1", Channel: "text", Purpose: connectors.PurposeMessages, Granted: false, At: t0}); err != nil {
		t.Fatal(err)
	}
	p := consent.New(st, nil, func() time.Time { return t0.Add(time.Hour) })
	if _, err := p.Record(ctx, store.Consent{CustomerID: "c1", Channel: "*", Purpose: "marketing", Granted: true, Source: "phone"}); err != nil {
		t.Fatal(err)
	}
	h, err := p.History(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].Purpose != connectors.PurposeMessages || h[1].Purpose != "marketing" {
		t.Fatalf("history = %+v", h)
	}
}

// Every decision recorded through the policy (an agent's phone consent, the
// self-service page, an unsubscribe link) is announced as consent.changed
// before it is stored, once per decision, and a failed announcement fails
// the decision.
func TestRecordAnnouncesConsentChanged(t *testing.T) {
	ctx := t.Context()
	st := hubtest.Embedded(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateCustomer(ctx, store.Customer{ID: "c1", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	p := consent.New(st, nil, func() time.Time { return t0 })
	type event struct {
		typ, key, customer string
		data               consent.ChangeData
	}
	var got []event
	var fail error
	p.SetRecorder(func(_ context.Context, typ, key, customer string, data any) error {
		if fail != nil {
			return fail
		}
		got = append(got, event{typ, key, customer, data.(consent.ChangeData)})
		return nil
	})
	for _, granted := range []bool{true, false} {
		if _, err := p.Record(ctx, store.Consent{CustomerID: "c1", Channel: "*", Purpose: "marketing", Granted: granted, Source: "phone"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || got[0].typ != "consent.changed" || got[0].customer != "c1" || !got[0].data.Granted || got[1].data.Granted ||
		got[0].data.Purpose != "marketing" || got[0].data.Channel != "*" || got[0].key == got[1].key {
		t.Fatalf("events = %+v", got)
	}
	fail = errors.New("outbox down")
	if _, err := p.Record(ctx, store.Consent{CustomerID: "c1", Channel: "*", Purpose: "marketing", Granted: true, Source: "phone"}); err == nil {
		t.Fatal("a decision whose event could not be recorded was accepted")
	}
	if h, err := p.History(ctx, "c1"); err != nil || len(h) != 2 {
		t.Fatalf("history after the failed announcement = %d decisions (%v), want 2", len(h), err)
	}
}
