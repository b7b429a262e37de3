package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"regexp"
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

	// In Finnish (the language picker in the page's header): the texts from
	// the inbox's catalogues, figures and dates formatted by Intl for
	// Finnish, <html lang="fi">; the choice is kept across a reload.
	br.do("root", "select", map[string]any{"selector": "#lang", "value": "fi"})
	br.do("root", "waitText", map[string]any{"selector": "h1", "text": "Palveluraportit"})
	checkFinnishReport := func() {
		t.Helper()
		if l := br.evalString("root", `document.documentElement.lang + ' ' + document.getElementById('lang').value + ' ' + document.title`); l != "fi fi Raportit · Switchboard" {
			t.Errorf("language of the page: %q", l)
		}
		fi := map[string]string{
			"header a":                                      "Saapuneet",
			"#report-form button":                           "Näytä",
			"#csv":                                          "CSV-tiedosto",
			"#report thead th:first-child":                  "tiimi",
			"#report thead th:nth-child(2)":                 "keskusteluja",
			"#report-form label:first-child":                "Alkaen ",
			"#charts figure:first-child figcaption":         "Keskustelut",
			"#report tr[data-key=support] td.conversations": "4",
			"#period": "Jakso 1. toukokuuta 2026 – 31. toukokuuta 2026",
		}
		for sel, want := range fi {
			if got := br.strings("root", "texts", map[string]any{"selector": sel}); len(got) != 1 || got[0] != want {
				t.Errorf("in Finnish, %s: %q, want %q", sel, got, want)
			}
		}
		if opts := br.strings("root", "texts", map[string]any{"selector": "select[name=group_by] option"}); fmt.Sprint(opts) != "[kanava tiimi asiakaspalvelija]" {
			t.Errorf("groupings in Finnish: %v", opts)
		}
		// Durations and hours as the inbox writes them in Finnish (Intl's
		// narrow units "min", "s", "t"; a decimal comma).
		if got := br.strings("root", "texts", map[string]any{"selector": "#report tr[data-key=support] td.first-p50"}); len(got) != 1 || !regexp.MustCompile(`^19\s?min 47\s?s$`).MatchString(got[0]) {
			t.Errorf("support's first response p50 in Finnish: %q", got)
		}
		if got := br.strings("root", "texts", map[string]any{"selector": "#charts figure:nth-child(2) text.value"}); len(got) != 2 || !regexp.MustCompile(`^2,0\s?t$`).MatchString(got[0]) {
			t.Errorf("first-response chart values in Finnish: %q", got)
		}
	}
	checkFinnishReport()
	br.do("root", "screenshot", map[string]any{"path": filepath.Join(artifactsDir(t, "ui"), "reports-fi.png"), "full": true})
	br.do("root", "reload", nil)
	br.do("root", "waitText", map[string]any{"selector": "h1", "text": "Palveluraportit"})
	checkFinnishReport()
	br.do("root", "select", map[string]any{"selector": "#lang", "value": "en"})
	br.do("root", "waitText", map[string]any{"selector": "h1", "text": "Service reports"})
	if got := br.strings("root", "texts", map[string]any{"selector": "#report thead th:nth-child(2)"}); len(got) != 1 || got[0] != "conversations" {
		t.Errorf("back in English, the column: %q", got)
	}

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
	// The lead's refusals and a wrong period, in her language (Finnish).
	br.do("alice", "select", map[string]any{"selector": "#lang", "value": "fi"})
	br.do("alice", "waitText", map[string]any{"selector": "h1", "text": "Palveluraportit"})
	if code := br.do("alice", "goto", map[string]any{"url": srv.URL + "/admin/reports?group_by=channel"}); string(code) != "403" {
		t.Errorf("a lead grouping by channel: %s", code)
	}
	br.do("alice", "waitText", map[string]any{"selector": "#report-error", "text": "Tiiminvetäjät näkevät tiiminsä"})
	if code := br.do("alice", "goto", map[string]any{"url": srv.URL + "/admin/reports?group_by=team&from=2026-05-31&to=2026-05-01"}); string(code) != "422" {
		t.Errorf("from after to: %s", code)
	}
	br.do("alice", "waitText", map[string]any{"selector": "#report-error", "text": "Alkupäivä ei voi olla loppupäivän jälkeen."})
	if n := br.strings("alice", "attrs", map[string]any{"selector": "input[name=from]", "attr": "value"}); fmt.Sprint(n) != "[2026-05-31]" {
		t.Errorf("the form keeps the wrong period to fix: %v", n)
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
