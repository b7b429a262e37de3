package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/sla"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	"github.com/switchboard-hub/switchboard/timeline"
)

// The Reports page in Chromium: the period and grouping form, the table
// and its inline SVG charts render under the UI's CSP without a console
// error; changing the grouping shows the teams; a team lead sees only
// their team; an agent gets 403.
func TestReportsPageInARealBrowser(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	roll := sla.NewRollup(st, sla.NewPolicies([]sla.Policy{{Name: "std", FirstResponse: time.Hour}}), nil, nil)
	svc := timeline.NewService(st, timeline.Options{Clock: clock, Tracker: roll, Teams: map[string][]string{"support": {"alice"}, "sales": {"bob"}}})
	for i, c := range []struct {
		channel, team, agent string
		reply                time.Duration
	}{{"mail", "support", "alice", 20 * time.Minute}, {"mail", "sales", "bob", 2 * time.Hour}, {"chat", "support", "alice", 40 * time.Minute},
		{"mail", "support", "", 0}, {"chat", "support", "", 0}} {
		id := fmt.Sprintf("v%d", i)
		now = time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
		if i == 4 {
			now = now.Add(-time.Hour) // unanswered, due an hour before v3
		}
		if _, _, _, err := svc.Receive(ctx, timeline.Inbound{ThreadKey: "t" + id, ConversationID: id, Team: c.team,
			Entry: store.Entry{ID: "in" + id, CustomerID: "c" + id, Channel: c.channel, Direction: connectors.Inbound, Kind: store.KindMessage, Text: "hi", OccurredAt: now}}); err != nil {
			t.Fatal(err)
		}
		if c.reply == 0 {
			continue
		}
		now = now.Add(c.reply)
		if _, err := svc.Replied(ctx, store.Entry{ID: "out" + id, CustomerID: "c" + id, ConversationID: id, Channel: c.channel, Direction: connectors.Outbound, Agent: c.agent, OccurredAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive}, {Name: "chat", Type: "slack", Phase: store.PhaseLive}}, clock, nil)
	if err := dir.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	srv := httptest.NewServer(inbox.New(inbox.Options{Store: st, Directory: dir, Conversations: svc, // a real clock: sessions expire by it
		Teams: []string{"support", "sales"}, TeamLeads: map[string][]string{"alice": {"support"}},
		Credentials: []inbox.Credential{{Principal: inbox.Principal{Name: "root", Role: "admin"}, PasswordHash: hash(uiRootPW)},
			{Principal: inbox.Principal{Name: "alice", Role: "agent", Teams: []string{"support"}}, PasswordHash: hash(uiAlicePW)},
			{Principal: inbox.Principal{Name: "bob", Role: "agent", Teams: []string{"sales"}}, PasswordHash: hash(uiAlicePW)}}}))
	t.Cleanup(srv.Close)
	br := startBrowser(t)

	br.signIn("root", srv.URL, "root", uiRootPW)
	var rec struct {
		Console []string `json:"console"`
	}
	json.Unmarshal(br.do("root", "record", nil), &rec)
	before := len(rec.Console)
	if code := br.do("root", "goto", map[string]any{"url": srv.URL + "/admin/reports"}); string(code) != "200" {
		t.Fatalf("reports page: %s", code)
	}
	br.do("root", "fill", map[string]any{"selector": "input[name=from]", "value": "2026-05-01"})
	br.do("root", "fill", map[string]any{"selector": "input[name=to]", "value": "2026-05-31"})
	br.do("root", "click", map[string]any{"selector": "#report-form button"})
	br.do("root", "waitText", map[string]any{"selector": "#report tr[data-key=mail] td.conversations", "text": "3"})
	keys := br.strings("root", "attrs", map[string]any{"selector": "#report tbody tr", "attr": "data-key"})
	if fmt.Sprint(keys) != "[chat mail]" {
		t.Fatalf("rows by channel: %v", keys)
	}
	// 20 min counted as the middle of its 4 % bucket (sla.SampleBucket): 1187 s.
	if got := br.strings("root", "texts", map[string]any{"selector": "#report tr[data-key=mail] td.first-p50"}); len(got) != 1 || got[0] != "19m 47s" {
		t.Errorf("mail's first response p50: %q", got)
	}
	if got := br.strings("root", "texts", map[string]any{"selector": "#report tr[data-key=mail] td.breach-first"}); len(got) != 1 || got[0] != "1" {
		t.Errorf("mail's first-response breaches: %q", got)
	}
	var n int
	json.Unmarshal(br.do("root", "count", map[string]any{"selector": "#charts figure svg rect.bar"}), &n)
	if n != 5*2 {
		t.Errorf("%d chart bars, want 10 (5 charts × 2 channels)", n)
	}
	// The widest conversations bar is mail's (3 against chat's 2).
	widths := br.strings("root", "attrs", map[string]any{"selector": "#charts figure:first-child rect.bar", "attr": "width"})
	if len(widths) != 2 || widths[1] != "250.0" || widths[0] != "166.7" {
		t.Errorf("conversation bars: %v", widths)
	}
	br.do("root", "select", map[string]any{"selector": "select[name=group_by]", "value": "team"})
	br.do("root", "click", map[string]any{"selector": "#report-form button"})
	br.do("root", "waitFor", map[string]any{"selector": "#report tr[data-key=sales]"})
	if csv := br.strings("root", "attrs", map[string]any{"selector": "#csv", "attr": "href"}); len(csv) != 1 || !strings.Contains(csv[0], "group_by=team") || !strings.Contains(csv[0], "format=csv") {
		t.Errorf("csv link %q", csv)
	}
	json.Unmarshal(br.do("root", "record", nil), &rec)
	for _, c := range rec.Console[before:] {
		t.Errorf("console error: %s", c)
	}
	br.do("root", "screenshot", map[string]any{"path": filepath.Join(artifactsDir(t, "ui"), "reports.png"), "full": true})

	// The inbox shows each conversation's SLA: overdue, missed, and the
	// order by due time (only conversations with something due).
	br.do("root", "goto", map[string]any{"url": srv.URL + "/"})
	br.do("root", "click", map[string]any{"selector": "button[data-view=all]"})
	br.do("root", "select", map[string]any{"selector": "#f-status", "value": ""})
	br.do("root", "waitCount", map[string]any{"selector": "#conv-list li", "count": 5})
	badge := func(id string) []string {
		return br.strings("root", "texts", map[string]any{"selector": "#conv-list li[data-id=" + id + "] .sla.sla-breach"})
	}
	if b := badge("v1"); len(b) != 1 || b[0] != "SLA missed" {
		t.Errorf("v1 (answered late): badge %q, want SLA missed", b)
	}
	if b := badge("v3"); len(b) != 1 || !strings.HasPrefix(b[0], "SLA overdue") {
		t.Errorf("v3 (unanswered, past due): badge %q", b)
	}
	if b := br.strings("root", "texts", map[string]any{"selector": "#conv-list li[data-id=v0] .sla"}); len(b) != 0 {
		t.Errorf("v0 (answered in time): badge %q, want none", b)
	}
	br.do("root", "select", map[string]any{"selector": "#f-sort", "value": "sla_due"})
	br.do("root", "waitFor", map[string]any{"selector": "#conv-list li[data-id=v4]:first-child"})
	if ids := br.strings("root", "attrs", map[string]any{"selector": "#conv-list li", "attr": "data-id"}); fmt.Sprint(ids) != "[v4 v3]" {
		t.Errorf("inbox by SLA due time: %v, want [v4 v3]", ids)
	}
	if links := br.strings("root", "attrs", map[string]any{"selector": "#nav-reports:not([hidden])", "attr": "href"}); len(links) != 1 {
		t.Errorf("no Reports link for an admin: %v", links)
	}
	br.do("root", "screenshot", map[string]any{"path": filepath.Join(artifactsDir(t, "ui"), "inbox-sla.png"), "full": true})
	json.Unmarshal(br.do("root", "record", nil), &rec)
	for _, c := range rec.Console[before:] {
		t.Errorf("console error: %s", c)
	}

	// alice leads support: her team only, and no channel grouping.
	br.signIn("alice", srv.URL, "alice", uiAlicePW)
	br.do("alice", "goto", map[string]any{"url": srv.URL + "/admin/reports?group_by=team&from=2026-05-01&to=2026-05-31"})
	if keys := br.strings("alice", "attrs", map[string]any{"selector": "#report tbody tr", "attr": "data-key"}); fmt.Sprint(keys) != "[support]" {
		t.Errorf("the lead's rows: %v", keys)
	}
	if opts := br.strings("alice", "texts", map[string]any{"selector": "select[name=group_by] option"}); fmt.Sprint(opts) != "[team agent]" {
		t.Errorf("the lead's groupings: %v", opts)
	}
	br.signIn("bob", srv.URL, "bob", uiAlicePW)
	var res struct {
		Status int `json:"status"`
	}
	json.Unmarshal(br.do("bob", "fetch", map[string]any{"url": srv.URL + "/admin/reports"}), &res)
	if res.Status != 403 {
		t.Errorf("an agent got %d for the Reports page, want 403", res.Status)
	}
}
