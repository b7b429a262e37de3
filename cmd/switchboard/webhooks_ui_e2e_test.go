package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

// The Webhooks and Audit sections of /admin in Chromium: an admin creates
// an endpoint (its secret shown once, then gone from the page), edits it,
// pings it (the receiver gets a signed request), opens its deliveries,
// disables and deletes it; the Audit log lists each of those actions with
// its actor, filters by action and actor, and pages to older records; no
// console error under the UI's CSP.
func TestWebhooksAndAuditPagesInARealBrowser(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var pings atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("webhook-signature"), "v1,") {
			pings.Add(1)
		}
		w.WriteHeader(200)
	}))
	defer receiver.Close()
	dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive}}, store.SystemClock, nil)
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	srv := httptest.NewServer(inbox.New(inbox.Options{Store: st, Directory: dir,
		Credentials: []inbox.Credential{{Principal: inbox.Principal{Name: "root", Role: "admin"}, PasswordHash: hash(uiRootPW)},
			{Principal: inbox.Principal{Name: "alice", Role: "agent", Teams: []string{"support"}}, PasswordHash: hash(uiAlicePW)}}}))
	t.Cleanup(srv.Close)
	// Older history, to page through.
	old := time.Now().Add(-48 * time.Hour)
	for i := range 60 {
		if err := st.AppendAudit(context.Background(), store.AuditRecord{At: old.Add(time.Duration(i) * time.Minute), Actor: "bob",
			Action: "conversation.update", Target: fmt.Sprintf("v%d", i), Detail: "status=open assignee=bob"}); err != nil {
			t.Fatal(err)
		}
	}
	br := startBrowser(t)
	br.signIn("root", srv.URL, "root", uiRootPW)
	var rec struct {
		Console []string `json:"console"`
	}
	json.Unmarshal(br.do("root", "record", nil), &rec)
	before := len(rec.Console)
	if code := br.do("root", "goto", map[string]any{"url": srv.URL + "/admin"}); string(code) != "200" {
		t.Fatalf("admin page: %s", code)
	}
	br.do("root", "waitFor", map[string]any{"selector": "#webhook-form"})

	// Create: the secret is shown once.
	br.do("root", "fill", map[string]any{"selector": "#wh-name", "value": "crm"})
	br.do("root", "fill", map[string]any{"selector": "#wh-url", "value": receiver.URL + "/hook"})
	br.do("root", "fill", map[string]any{"selector": "#wh-events", "value": "message.received, customer.merged"})
	br.do("root", "click", map[string]any{"selector": "#wh-allow-http"})
	br.do("root", "click", map[string]any{"selector": "#wh-allow-private"})
	br.do("root", "click", map[string]any{"selector": "#wh-save"})
	br.do("root", "waitFor", map[string]any{"selector": "#wh-secret"})
	secret := br.strings("root", "texts", map[string]any{"selector": "#wh-secret-value"})
	if len(secret) != 1 || !strings.HasPrefix(secret[0], "whsec_") {
		t.Fatalf("secret shown %q, want whsec_…", secret)
	}
	br.do("root", "waitFor", map[string]any{"selector": "tr[data-webhook=crm]"})
	if ev := br.strings("root", "texts", map[string]any{"selector": "tr[data-webhook=crm] td:nth-child(3)"}); len(ev) != 1 || ev[0] != "message.received, customer.merged" {
		t.Errorf("events shown %q", ev)
	}
	br.do("root", "click", map[string]any{"selector": "#wh-secret-done"})
	br.do("root", "waitFor", map[string]any{"selector": "#wh-secret", "state": "hidden"})
	if s := br.strings("root", "texts", map[string]any{"selector": "#wh-secret-value"}); len(s) != 1 || s[0] != "" {
		t.Errorf("the secret stays on the page after it was copied: %q", s)
	}
	// Edit.
	br.do("root", "click", map[string]any{"selector": "tr[data-webhook=crm] .wh-edit"})
	br.do("root", "fill", map[string]any{"selector": "#wh-events", "value": "*"})
	br.do("root", "click", map[string]any{"selector": "#wh-save"})
	br.do("root", "waitText", map[string]any{"selector": "tr[data-webhook=crm] td:nth-child(3)", "text": "*"})
	// Ping: the receiver gets a signed request.
	br.do("root", "click", map[string]any{"selector": "tr[data-webhook=crm] .wh-ping"})
	br.do("root", "waitText", map[string]any{"selector": "#toast", "text": "HTTP 200"})
	if pings.Load() != 1 {
		t.Errorf("receiver got %d signed pings, want 1", pings.Load())
	}
	// Deliveries (none yet: no dispatcher runs here), replay of failed ones.
	br.do("root", "click", map[string]any{"selector": "tr[data-webhook=crm] .wh-deliveries"})
	br.do("root", "waitFor", map[string]any{"selector": "#wh-deliveries"})
	br.do("root", "click", map[string]any{"selector": "#wh-replay-failed"})
	br.do("root", "waitText", map[string]any{"selector": "#toast", "text": "0 failed deliveries to crm queued again"})
	// Disable, then delete (two clicks).
	br.do("root", "click", map[string]any{"selector": "tr[data-webhook=crm] .wh-toggle"})
	br.do("root", "waitText", map[string]any{"selector": "tr[data-webhook=crm] .wh-state", "text": "disabled"})
	br.do("root", "click", map[string]any{"selector": "tr[data-webhook=crm] .wh-delete"})
	br.do("root", "click", map[string]any{"selector": "tr[data-webhook=crm] .wh-delete"})
	br.do("root", "waitFor", map[string]any{"selector": "tr[data-webhook=crm]", "state": "detached"})

	// The Audit log: newest first, filtered by action and actor.
	br.do("root", "fill", map[string]any{"selector": "#audit-action", "value": "webhook"})
	br.do("root", "fill", map[string]any{"selector": "#audit-actor", "value": "root"})
	br.do("root", "click", map[string]any{"selector": "#audit-apply"})
	br.do("root", "waitText", map[string]any{"selector": "#audit-rows tr td:nth-child(3)", "text": "webhook.delete"})
	actions := br.strings("root", "attrs", map[string]any{"selector": "#audit-rows tr", "attr": "data-action"})
	want := "[webhook.delete webhook.update webhook.replay webhook.ping webhook.update webhook.create]"
	if fmt.Sprint(actions) != want {
		t.Errorf("audit rows %v, want %s", actions, want)
	}
	for _, a := range br.strings("root", "attrs", map[string]any{"selector": "#audit-rows tr", "attr": "data-actor"}) {
		if a != "root" {
			t.Errorf("a row by %q under the filter actor=root", a)
		}
	}
	if s := br.strings("root", "texts", map[string]any{"selector": "#audit-rows"}); len(s) != 1 || strings.Contains(s[0], "whsec_") {
		t.Errorf("the audit log shows a secret: %q", s)
	}
	// Paging: 60 older records by bob, 50 a page.
	br.do("root", "fill", map[string]any{"selector": "#audit-action", "value": ""})
	br.do("root", "fill", map[string]any{"selector": "#audit-actor", "value": "bob"})
	br.do("root", "click", map[string]any{"selector": "#audit-apply"})
	br.do("root", "waitFor", map[string]any{"selector": "#audit-more"})
	var n int
	json.Unmarshal(br.do("root", "count", map[string]any{"selector": "#audit-rows tr"}), &n)
	if n != 50 {
		t.Errorf("first page: %d rows, want 50", n)
	}
	br.do("root", "click", map[string]any{"selector": "#audit-more"})
	br.do("root", "waitCount", map[string]any{"selector": "#audit-rows tr", "count": 60})
	br.do("root", "waitFor", map[string]any{"selector": "#audit-more", "state": "hidden"})
	json.Unmarshal(br.do("root", "record", nil), &rec)
	for _, c := range rec.Console[before:] {
		t.Errorf("console error: %s", c)
	}
	br.do("root", "screenshot", map[string]any{"path": filepath.Join(artifactsDir(t, "ui"), "webhooks-audit.png"), "full": true})

	br.signIn("alice", srv.URL, "alice", uiAlicePW)
	var res struct {
		Status int `json:"status"`
	}
	json.Unmarshal(br.do("alice", "fetch", map[string]any{"url": srv.URL + "/api/v1/audit"}), &res)
	if res.Status != 403 {
		t.Errorf("an agent got %d for the audit log, want 403", res.Status)
	}
}
