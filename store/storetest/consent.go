package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// ---- consent history and self-service records -----------------------------

func consentLogTests() []testCase {
	return []testCase{
		{"HistoryKeepsEveryDecision", testConsentHistory},
		{"HistoryErasedWithConsents", testConsentHistoryDeleted},
	}
}

func selfServiceTests() []testCase {
	return []testCase{
		{"AccessLinks", testAccessLinks},
		{"ErasureRequests", testErasureRequests},
	}
}

func testConsentHistory(t *testing.T, f Factory) {
	e := newEnv(t, f)
	puts := []store.Consent{
		{CustomerID: "cust-1", Channel: "*", Purpose: "marketing", Granted: true, Text: "News by mail", Version: "2", Source: "phone", RecordedBy: "alice", At: epoch},
		{CustomerID: "cust-1", Channel: "sms", Purpose: "marketing", Granted: false, Text: "STOP", Source: "channel_message", At: epoch.Add(time.Hour)},
		{CustomerID: "cust-2", Channel: "sms", Purpose: "marketing", Granted: true, At: epoch},
		{CustomerID: "cust-1", Channel: "*", Purpose: "marketing", Granted: false, Source: "self_service", RecordedBy: "customer", At: epoch.Add(2 * time.Hour)},
	}
	for _, c := range puts {
		must(t, e.s.PutConsent(e.ctx, c), "PutConsent(%s %s)", c.CustomerID, consentKey(c))
	}
	// A redelivered message records its decision again: kept once.
	must(t, e.s.PutConsent(e.ctx, puts[1]), "PutConsent again")
	h, err := e.s.ConsentHistory(e.ctx, "cust-1")
	must(t, err, "ConsentHistory(cust-1)")
	want := []store.Consent{puts[0], puts[1], puts[3]}
	if len(h) != len(want) {
		t.Fatalf("ConsentHistory(cust-1) = %+v, want %d decisions oldest first", h, len(want))
	}
	for i, w := range want {
		g := h[i]
		if g.Channel != w.Channel || g.Purpose != w.Purpose || g.Granted != w.Granted || g.Source != w.Source || g.RecordedBy != w.RecordedBy ||
			g.Text != w.Text || g.Version != w.Version || !closeTime(g.At, w.At, time.Millisecond) {
			t.Errorf("ConsentHistory(cust-1)[%d] = %+v, want %+v", i, g, w)
		}
	}
	// The current state is the latest per (channel, purpose).
	m := listConsents(t, e, "cust-1")
	if len(m) != 2 || m["*/marketing"].Granted || m["sms/marketing"].Granted {
		t.Errorf("ListConsents(cust-1) = %+v, want */marketing and sms/marketing, both revoked", m)
	}
	if h, _ := e.s.ConsentHistory(e.ctx, "nobody"); len(h) != 0 {
		t.Errorf("ConsentHistory(nobody) = %+v, want none", h)
	}
}

func testConsentHistoryDeleted(t *testing.T, f Factory) {
	e := newEnv(t, f)
	must(t, e.s.PutConsent(e.ctx, store.Consent{CustomerID: "cust-1", Channel: "sms", Purpose: "feedback", Granted: false, At: epoch}), "PutConsent")
	must(t, e.s.PutConsent(e.ctx, store.Consent{CustomerID: "cust-2", Channel: "sms", Purpose: "feedback", Granted: false, At: epoch}), "PutConsent")
	must(t, e.s.DeleteConsents(e.ctx, "cust-1"), "DeleteConsents")
	if h, _ := e.s.ConsentHistory(e.ctx, "cust-1"); len(h) != 0 {
		t.Errorf("ConsentHistory(cust-1) after DeleteConsents = %+v, want none", h)
	}
	if h, _ := e.s.ConsentHistory(e.ctx, "cust-2"); len(h) != 1 {
		t.Errorf("ConsentHistory(cust-2) = %+v, want its one decision", h)
	}
}

func testAccessLinks(t *testing.T, f Factory) {
	e := newEnv(t, f)
	if _, err := e.s.GetAccessLink(e.ctx, "l1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAccessLink of a missing link: %v, want ErrNotFound", err)
	}
	l := store.AccessLink{ID: "l1", CustomerID: "cust-1", CreatedBy: "alice", CreatedAt: epoch, ExpiresAt: epoch.Add(7 * 24 * time.Hour)}
	must(t, e.s.PutAccessLink(e.ctx, l), "PutAccessLink")
	g, err := e.s.GetAccessLink(e.ctx, "l1")
	must(t, err, "GetAccessLink")
	if g.CustomerID != "cust-1" || !g.ExpiresAt.Equal(l.ExpiresAt) || !g.RevokedAt.IsZero() {
		t.Errorf("GetAccessLink = %+v, want %+v", g, l)
	}
	l.RevokedAt, l.RevokedBy = epoch.Add(time.Hour), "bob"
	must(t, e.s.PutAccessLink(e.ctx, l), "PutAccessLink (revoke)")
	if g, _ := e.s.GetAccessLink(e.ctx, "l1"); g.RevokedBy != "bob" || g.RevokedAt.IsZero() {
		t.Errorf("GetAccessLink after revoking = %+v, want revoked by bob", g)
	}
}

func testErasureRequests(t *testing.T, f Factory) {
	e := newEnv(t, f)
	for i, id := range []string{"r1", "r2", "r3"} {
		must(t, e.s.PutErasureRequest(e.ctx, store.ErasureRequest{ID: id, CustomerID: "cust-" + id, Status: store.ErasureRequested,
			RequestedAt: epoch.Add(time.Duration(i) * time.Minute)}), "PutErasureRequest(%s)", id)
	}
	// Idempotent: a second put of r1 changes nothing.
	must(t, e.s.PutErasureRequest(e.ctx, store.ErasureRequest{ID: "r1", CustomerID: "other", Status: store.ErasureRequested}), "PutErasureRequest again")
	if r, _ := e.s.GetErasureRequest(e.ctx, "r1"); r.CustomerID != "cust-r1" {
		t.Errorf("GetErasureRequest(r1) = %+v after a second put, want the first", r)
	}
	got, err := e.s.UpdateErasureRequest(e.ctx, "r2", func(r *store.ErasureRequest) error {
		r.Status, r.DecidedBy, r.DecidedAt = store.ErasureDeclined, "root", epoch.Add(time.Hour)
		return nil
	})
	must(t, err, "UpdateErasureRequest")
	if got.Status != store.ErasureDeclined || got.ID != "r2" {
		t.Errorf("UpdateErasureRequest = %+v, want r2 declined", got)
	}
	boom := errors.New("boom")
	if _, err := e.s.UpdateErasureRequest(e.ctx, "r1", func(*store.ErasureRequest) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("UpdateErasureRequest with a failing fn: %v, want its error", err)
	}
	if _, err := e.s.UpdateErasureRequest(e.ctx, "nope", func(*store.ErasureRequest) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateErasureRequest of a missing id: %v, want ErrNotFound", err)
	}
	open, err := e.s.ListErasureRequests(e.ctx, store.ErasureRequested, 10)
	must(t, err, "ListErasureRequests")
	if len(open) != 2 || open[0].ID != "r3" || open[1].ID != "r1" {
		t.Errorf("ListErasureRequests(requested) = %+v, want r3, r1 (newest first)", open)
	}
	all, _ := e.s.ListErasureRequests(e.ctx, "", 2)
	if len(all) != 2 || all[0].ID != "r3" || all[1].ID != "r2" {
		t.Errorf("ListErasureRequests(any, 2) = %+v, want r3, r2", all)
	}
}
