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

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

// The Adoption page in Chromium: a card per channel with its charts and
// timeline, and the potential table, render under the UI's CSP without a
// console error; an agent gets 403.
func TestAdoptionPageInARealBrowser(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive},
		{Name: "web", Type: "webform", Phase: store.PhaseOff, PilotTeam: "support"},
		{Name: "chat", Type: "slack", Phase: store.PhaseShadow}}, store.SystemClock, nil)
	rt := router.New(st, dir, router.Options{Routing: router.Routing{Teams: []string{"support"}, Agents: []router.Agent{{Name: "alice", Teams: []string{"support"}}}}})
	in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	srv := httptest.NewServer(inbox.New(inbox.Options{Store: st, Directory: dir, Ingest: in,
		Credentials: []inbox.Credential{{Principal: inbox.Principal{Name: "root", Role: "admin"}, PasswordHash: hash(uiRootPW)},
			{Principal: inbox.Principal{Name: "alice", Role: "agent", Teams: []string{"support"}}, PasswordHash: hash(uiAlicePW)}}}))
	t.Cleanup(srv.Close) // after the browser's cleanup (registered below): its streams end first
	br := startBrowser(t)
	ctx := context.Background()
	if _, _, err := router.ChangePhase(ctx, st, dir, "web", store.PhaseShadow, "root", false); err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		for _, ch := range []string{"mail", "web", "chat"} {
			if ch == "chat" && i%3 != 0 {
				continue
			}
			m, err := in.Prepare(connectors.Message{Channel: ch, ProviderID: fmt.Sprintf("%s-%d", ch, i), Text: "hello",
				Identities: []connectors.Identity{{Type: connectors.Email, Value: fmt.Sprintf("p%d@example.com", i%5), Verified: true}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := rt.Process(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, _, err := router.ChangePhase(ctx, st, dir, "web", store.PhasePilot, "root", true); err != nil {
		t.Fatal(err)
	}

	br.signIn("root", srv.URL, "root", uiRootPW)
	var rec struct {
		Console []string `json:"console"`
	}
	json.Unmarshal(br.do("root", "record", nil), &rec)
	before := len(rec.Console) // the app's own sign-in page (its 401 session probe)
	if code := br.do("root", "goto", map[string]any{"url": srv.URL + "/admin/adoption"}); string(code) != "200" {
		t.Fatalf("adoption page: %s", code)
	}
	br.do("root", "waitFor", map[string]any{"selector": "#potential table"})
	var n int
	count := func(sel string) int {
		json.Unmarshal(br.do("root", "count", map[string]any{"selector": sel}), &n)
		return n
	}
	if c := count("article.card"); c != 3 {
		t.Errorf("%d cards, want 3", c)
	}
	if c := count("article.card figure.volume svg rect"); c != 3*30 {
		t.Errorf("%d volume bars, want 90 (30 days × 3 channels)", c)
	}
	if c := count("article.card figure.match svg polyline"); c != 3 {
		t.Errorf("%d match-rate lines, want 3", c)
	}
	if c := count("#potential tbody tr"); c != 3 {
		t.Errorf("%d potential rows, want 3", c)
	}
	names := br.strings("root", "attrs", map[string]any{"selector": "article.card", "attr": "data-channel"})
	if fmt.Sprint(names) != "[chat mail web]" {
		t.Errorf("cards %v", names)
	}
	timeline := br.strings("root", "texts", map[string]any{"selector": "article.card[data-channel=web] ol.timeline li"})
	if len(timeline) != 2 || !strings.Contains(timeline[1], "shadow → pilot by root forced") {
		t.Errorf("web's phase timeline: %q", timeline)
	}
	rule := br.strings("root", "texts", map[string]any{"selector": "#potential .rule"})
	if len(rule) != 1 || rule[0] != router.PotentialRule {
		t.Errorf("rule %q", rule)
	}
	// Bars are drawn by the hub: the tallest day of mail holds all 12.
	heights := br.strings("root", "attrs", map[string]any{"selector": "article.card[data-channel=mail] figure.volume rect", "attr": "height"})
	if len(heights) != 30 || heights[29] != "80.0" {
		t.Errorf("mail's bars: %v", heights)
	}
	json.Unmarshal(br.do("root", "record", nil), &rec)
	for _, c := range rec.Console[before:] {
		t.Errorf("console error: %s", c)
	}
	br.do("root", "screenshot", map[string]any{"path": filepath.Join(artifactsDir(t, "ui"), "adoption.png"), "full": true})
	if got := br.strings("root", "texts", map[string]any{"selector": "#potential tr[data-channel=mail] td:nth-child(5)"}); len(got) != 1 || !regexp.MustCompile(`^\d{1,3}%$`).MatchString(got[0]) {
		t.Errorf("mail's volume share in English: %q", got)
	}

	// In Finnish (the language picker in the page's header): the texts
	// from the inbox's catalogues, the charts named in Finnish, figures and
	// days formatted by Intl for Finnish, <html lang="fi">; the choice is
	// kept across a reload; axe finds nothing serious in Finnish either.
	axe := axePath(t)
	br.do("root", "select", map[string]any{"selector": "#lang", "value": "fi"})
	br.do("root", "waitText", map[string]any{"selector": "h1", "text": "Kanavien käyttöönotto"})
	checkFinnish := func() {
		t.Helper()
		if l := br.evalString("root", `document.documentElement.lang + ' ' + document.getElementById('lang').value + ' ' + document.title`); l != "fi fi Käyttöönotto · Switchboard" {
			t.Errorf("language of the page: %q", l)
		}
		// What a screen reader names the charts: the captions, through
		// aria-labelledby as the browser resolves them.
		names := br.strings("root", "eval", map[string]any{"expr": `[...document.querySelectorAll('article.card[data-channel=mail] svg[role=img]')].map((s) =>
			s.getAttribute('aria-labelledby').split(/\s+/).map((id) => document.getElementById(id).textContent).join(' '))`})
		if fmt.Sprint(names) != "[Viestejä päivässä (viimeiset 30 päivää) Tunnistusaste päivittäin]" {
			t.Errorf("mail's charts are named %q in Finnish", names)
		}
		fi := map[string]string{
			"header a":                         "Saapuneet",
			"#potential-title":                 "Kanavien potentiaali",
			"#potential thead th:nth-child(9)": "tiimin kuorma / päivä",
			"#potential tr[data-channel=mail] td:nth-child(3)": "käytössä",
			"article.card[data-channel=mail] h3":               "Vaiheiden historia",
		}
		for sel, want := range fi {
			if got := br.strings("root", "texts", map[string]any{"selector": sel}); len(got) != 1 || got[0] != want {
				t.Errorf("in Finnish, %s: %q, want %q", sel, got, want)
			}
		}
		// A percentage the Finnish way (a no-break space before %), a day
		// as Finns write it in a bar's title, the phase change in Finnish.
		if got := br.strings("root", "texts", map[string]any{"selector": "#potential tr[data-channel=mail] td:nth-child(5)"}); len(got) != 1 || !regexp.MustCompile(`^\d{1,3}\x{a0}%$`).MatchString(got[0]) {
			t.Errorf("mail's volume share in Finnish: %q", got)
		}
		if got := br.strings("root", "texts", map[string]any{"selector": "article.card[data-channel=mail] figure.volume rect:last-of-type title"}); len(got) != 1 || !regexp.MustCompile(`^\d{1,2}\.\d{1,2}\.\d{4}: 12$`).MatchString(got[0]) {
			t.Errorf("mail's last bar in Finnish: %q", got)
		}
		timeline := br.strings("root", "texts", map[string]any{"selector": "article.card[data-channel=web] ol.timeline li"})
		if len(timeline) != 2 || !strings.Contains(timeline[1], "varjo → pilotti, muutti root pakotettu") {
			t.Errorf("web's phase timeline in Finnish: %q", timeline)
		}
		for _, r := range br.strings("root", "texts", map[string]any{"selector": ".reasons li"}) {
			if strings.Contains(r, " is below ") || strings.Contains(r, " is above ") {
				t.Errorf("a reason left in English: %q", r)
			}
		}
	}
	checkFinnish()
	br.do("root", "screenshot", map[string]any{"path": filepath.Join(artifactsDir(t, "ui"), "adoption-fi.png"), "full": true})
	var vs []struct {
		ID, Impact, Help string
		Nodes            []string
	}
	json.Unmarshal(br.do("root", "axe", map[string]any{"path": axe}), &vs)
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("axe in Finnish: %s (%s): %s\n    %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n    "))
		}
	}
	br.do("root", "reload", nil)
	br.do("root", "waitText", map[string]any{"selector": "h1", "text": "Kanavien käyttöönotto"})
	checkFinnish()
	json.Unmarshal(br.do("root", "record", nil), &rec)
	for _, c := range rec.Console[before:] {
		t.Errorf("console error in Finnish: %s", c)
	}

	br.signIn("alice", srv.URL, "alice", uiAlicePW)
	var res struct {
		Status int `json:"status"`
	}
	json.Unmarshal(br.do("alice", "fetch", map[string]any{"url": srv.URL + "/admin/adoption"}), &res)
	if res.Status != 403 {
		t.Errorf("an agent got %d for the Adoption page, want 403", res.Status)
	}
}
