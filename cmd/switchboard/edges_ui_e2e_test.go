package main_test

// Issue 19's edges, as a new user meets them: a hub filled by `switchboard
// demo seed` (the README's screenshot is taken from it), the default view
// and why a view is empty, one selection in the list, snooze presets,
// merge evidence in words and a composer that offers only channels that
// can reach the customer. Real binary, embedded store, real Chromium.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

type demoConv struct {
	ID         string `json:"id"`
	CustomerID string `json:"customer_id"`
	Channel    string `json:"channel"`
	Status     string `json:"status"`
	Assignee   string `json:"assignee"`
	Labels     []string
	Snoozed    string `json:"snoozed_until"`
}

func TestDemoSeedAndTheInboxEdgesInARealBrowser(t *testing.T) {
	br := startBrowser(t)
	art := artifactsDir(t, "ui")
	addr := freeAddr(t)
	base := "http://" + addr
	extra := `  - name: sms
    type: sms
    phase: live
    sms:
      account_sid: ` + e2eTwilioSID + `
      auth_token: ` + e2eTwilioToken + `
      from: "` + e2eSMSFrom + `"
      public_url: ` + base + `
      api_base_url: http://127.0.0.1:1
  - name: web
    type: webform
    phase: live
    webform:
      fields:
        - {name: name, type: text, label: Name}
        - {name: email, type: email, label: Email, required: true}
        - {name: message, type: textarea, label: Message, required: true}
      allowed_origins: ["https://shop.example"]
      secret: ` + webformSecret + `
  - name: support-mail
    type: email
    phase: live
    email:
      imap: {addr: "127.0.0.1:1", username: support, password: secret, tls: none, allow_insecure: true}
      smtp: {addr: "127.0.0.1:1", from: support@hub.example, tls: none, allow_insecure: true}
`
	for i, pw := range []string{uiRootPW, uiAlicePW} {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), 10)
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(fmt.Sprintf("SWITCHBOARD_AGENTS_%d_PASSWORD_HASH", i), string(h))
	}
	cfg := writeConfig(t, embeddedStore(t), extra)

	// ---- switchboard demo seed fills the store before the hub starts -------
	out, err := exec.Command(binary(t), "demo", "seed", "--config", cfg, "--customers", "24").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "seeded 24 customers") {
		t.Fatalf("demo seed: %v\n%s", err, out)
	}
	p := start(t, cfg, addr)

	var all []demoConv
	statuses, channels, assigned, labelled := map[string]int{}, map[string]bool{}, 0, 0
	for _, st := range []string{"open", "pending", "snoozed", "resolved"} {
		var page struct{ Conversations []demoConv }
		call(t, "GET", p.base+"/api/v1/conversations?limit=100&status="+st, adminToken, nil, &page)
		statuses[st] = len(page.Conversations)
		for _, c := range page.Conversations {
			channels[c.Channel] = true
			if c.Assignee != "" {
				assigned++
			}
			if len(c.Labels) > 0 {
				labelled++
			}
		}
		all = append(all, page.Conversations...)
	}
	if len(all) < 24 || len(channels) < 4 || assigned == 0 || assigned == len(all) || labelled != len(all) {
		t.Fatalf("demo conversations: %d, channels %v, %d assigned, %d labelled", len(all), channels, assigned, labelled)
	}
	for st, n := range statuses {
		if n == 0 {
			t.Fatalf("no %s conversation in the demo data: %v", st, statuses)
		}
	}
	names := map[string]string{}
	for _, c := range all {
		var cust customer
		call(t, "GET", p.base+"/api/v1/customers/"+c.CustomerID, adminToken, nil, &cust)
		if cust.Name == "" || strings.ContainsAny(cust.Name, "<>") {
			t.Fatalf("demo customer %s is named %q", cust.ID, cust.Name)
		}
		names[c.CustomerID] = cust.Name
	}

	// ---- alice's first sign-in: Unassigned, where the work is --------------
	br.signIn("alice", base, "alice", uiAlicePW)
	if v := br.strings("alice", "attrs", map[string]any{"selector": "#f-view button.on", "attr": "data-view"}); len(v) != 1 || v[0] != "unassigned" {
		t.Fatalf("alice's first view: %q, want unassigned", v)
	}
	br.do("alice", "click", map[string]any{"selector": `#f-view [data-view="all"]`})
	br.do("alice", "select", map[string]any{"selector": "#f-status", "value": ""})
	br.do("alice", "waitCount", map[string]any{"selector": "#conv-list .item", "count": len(all)})
	shown := br.strings("alice", "texts", map[string]any{"selector": "#conv-list .item .who"})
	for _, n := range shown {
		if !slices.Contains(mapValues(names), n) {
			t.Fatalf("the list shows %q, not a demo customer", n)
		}
	}

	// The README's screenshot: the demo data, one conversation open.
	// The README's screenshot shows a customer waiting for an answer (a pending
	// conversation) with the demo data around it.
	k := slices.IndexFunc(br.strings("alice", "attrs", map[string]any{"selector": "#conv-list .item .pill", "attr": "class"}),
		func(c string) bool { return strings.Contains(c, "st-pending") })
	if k < 0 || k+2 >= len(shown) {
		k = 1
	}
	br.do("alice", "click", map[string]any{"selector": fmt.Sprintf("#conv-list .item:nth-child(%d)", k+1)})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-name", "text": shown[k]})
	br.do("alice", "waitFor", map[string]any{"selector": "#tl-entries .entry"})
	shot := filepath.Join(art, "inbox-demo.png")
	br.do("alice", "screenshot", map[string]any{"path": shot})
	if os.Getenv("UPDATE_SCREENSHOTS") != "" { // regenerate docs/inbox.png (README, docs/UI.md)
		b, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "inbox.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// ---- one selection: the keyboard cursor is a ring, not a second row ----
	br.do("alice", "focus", map[string]any{"selector": "#conv-list"})
	br.do("alice", "press", map[string]any{"key": "j"})
	br.do("alice", "press", map[string]any{"key": "j"})
	if sel := br.strings("alice", "attrs", map[string]any{"selector": `#conv-list .item[aria-selected="true"] .who`, "attr": "class"}); len(sel) != 1 {
		t.Fatalf("%d rows are aria-selected, want the open one", len(sel))
	}
	if open := br.strings("alice", "texts", map[string]any{"selector": `#conv-list .item[aria-selected="true"] .who`}); open[0] != shown[k] {
		t.Fatalf("the selected row is %q, want the open conversation %q", open[0], shown[k])
	}
	cursor := br.strings("alice", "texts", map[string]any{"selector": "#conv-list .item.sel .who"})
	if len(cursor) != 1 || cursor[0] != shown[k+2] {
		t.Fatalf("cursor after j j from the open row: %q, want %q", cursor, shown[k+2])
	}
	bgs := br.strings("alice", "styles", map[string]any{"selector": "#conv-list .item", "prop": "backgroundColor"})
	plain := bgs[(k+1)%len(bgs)]
	tinted := 0
	for _, bg := range bgs {
		if bg != plain {
			tinted++
		}
	}
	if tinted != 1 || bgs[k] == plain {
		t.Fatalf("row backgrounds %q: want exactly one tinted row, the open one", bgs)
	}
	if ring := br.strings("alice", "styles", map[string]any{"selector": "#conv-list .item.sel", "prop": "outlineStyle"}); ring[0] == "none" {
		t.Fatal("the keyboard cursor has no focus ring")
	}

	// ---- the composer offers only channels that reach the customer --------
	var crm demoConv
	for _, c := range all {
		if c.Channel == "crm" && c.Status != "resolved" {
			crm = c
			break
		}
	}
	if crm.ID == "" {
		t.Fatal("no crm conversation in the demo data")
	}
	br.do("alice", "click", map[string]any{"selector": `#conv-list .item[data-id="` + crm.ID + `"]`})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-name", "text": names[crm.CustomerID]})
	var opts string
	waitFor(t, "the reply channels of the crm conversation", 10*time.Second, func() bool {
		opts = strings.Join(br.strings("alice", "texts", map[string]any{"selector": "#reply-channel option"}), "\n")
		return opts != ""
	})
	if strings.Contains(opts, "crm") || !strings.Contains(opts, "support-mail") || !strings.Contains(opts, "sms") {
		t.Fatalf("reply channels for a crm (api) conversation of a customer with email and phone:\n%s", opts)
	}

	// ---- snooze presets, in the agent's time zone (the browser's: UTC) ------
	br.do("alice", "select", map[string]any{"selector": "#act-snooze-pick", "value": "tomorrow"})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-status", "text": "snoozed"})
	var snoozed demoConv
	call(t, "GET", p.base+"/api/v1/conversations/"+crm.ID, adminToken, nil, &snoozed)
	now := time.Now().UTC()
	want := time.Date(now.Year(), now.Month(), now.Day()+1, 9, 0, 0, 0, time.UTC)
	if got, _ := time.Parse(time.RFC3339, snoozed.Snoozed); !got.Equal(want) {
		t.Fatalf("snoozed until %s, want tomorrow 09:00 (%s)", snoozed.Snoozed, want)
	}
	if v := br.strings("alice", "styles", map[string]any{"selector": "#act-snooze-until", "prop": "display"}); v[0] != "none" {
		t.Fatalf("the date-time picker shows before Custom… (display %s)", v[0])
	}
	br.do("alice", "select", map[string]any{"selector": "#act-snooze-pick", "value": "custom"})
	if v := br.strings("alice", "styles", map[string]any{"selector": "#act-snooze-until", "prop": "display"}); v[0] == "none" {
		t.Fatal("Custom… does not show the date-time picker")
	}

	// ---- merge suggestions say what matched, in words ----------------------
	var sugg struct {
		Suggestions []struct {
			ID, Winner, Loser, Identity string
		}
	}
	call(t, "GET", p.base+"/api/v1/suggestions", adminToken, nil, &sugg)
	if len(sugg.Suggestions) > 0 {
		s := sugg.Suggestions[0]
		var conv demoConv
		for _, c := range all {
			if c.CustomerID == s.Winner || c.CustomerID == s.Loser {
				conv = c
			}
		}
		if conv.ID == "" {
			t.Fatalf("no conversation of suggestion %+v", s)
		}
		br.do("alice", "click", map[string]any{"selector": `#conv-list .item[data-id="` + conv.ID + `"]`})
		// The customer may have other suggestions too (the demo's web form
		// writes a claimed email that another customer holds verified):
		// read this suggestion's own item.
		item := `#cust-sugg .sugg-item[data-id="` + s.ID + `"] .evidence-words`
		br.do("alice", "waitFor", map[string]any{"selector": item})
		words := br.strings("alice", "texts", map[string]any{"selector": item})
		_, value, _ := strings.Cut(s.Identity, ":")
		if regexp.MustCompile(`\bc_[0-9a-f]{6,}|\bm_[0-9a-f]{6,}`).MatchString(words[0]) || !strings.Contains(strings.ReplaceAll(words[0], " ", ""), value) {
			t.Fatalf("evidence %q: want the matching identity %s in words, no ids", words[0], s.Identity)
		}
	} else {
		t.Fatal("the demo data has no merge suggestion")
	}

	// ---- an empty view says why; a chosen view is remembered ----------------
	var mine struct{ Conversations []demoConv }
	call(t, "GET", p.base+"/api/v1/conversations?limit=100&status=open&assignee=alice", adminToken, nil, &mine)
	for _, c := range mine.Conversations {
		if code := call(t, "PATCH", p.base+"/api/v1/conversations/"+c.ID, adminToken, map[string]any{"assignee": ""}, nil); code != 200 {
			t.Fatalf("unassign %s: %d", c.ID, code)
		}
	}
	br.do("alice", "select", map[string]any{"selector": "#f-status", "value": "open"})
	br.do("alice", "click", map[string]any{"selector": `#f-view [data-view="mine"]`})
	br.do("alice", "waitText", map[string]any{"selector": "#list-empty", "text": "in Unassigned"})
	empty := br.strings("alice", "texts", map[string]any{"selector": "#list-empty"})
	if !strings.HasPrefix(empty[0], "Nothing assigned to you; ") {
		t.Fatalf("the empty Mine view says %q", empty[0])
	}
	br.do("alice", "click", map[string]any{"selector": "#logout"})
	br.do("alice", "waitText", map[string]any{"selector": "#login-error", "text": "Signed out"}) // the fresh page after signing out
	br.signIn("alice", base, "alice", uiAlicePW)
	if v := br.strings("alice", "attrs", map[string]any{"selector": "#f-view button.on", "attr": "data-view"}); len(v) != 1 || v[0] != "mine" {
		t.Fatalf("after signing in again alice's view is %q, want her choice (mine)", v)
	}
	var rec struct{ Console []string }
	json.Unmarshal(br.do("alice", "record", nil), &rec)
	rec.Console = slices.DeleteFunc(rec.Console, func(m string) bool { return strings.Contains(m, "401") }) // the signed-out page asks for its session
	if len(rec.Console) > 0 {
		t.Fatalf("console errors: %q", rec.Console)
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
