package main_test

// The inbox in a real browser (driver.js, as in ui_e2e_test.go) for issue
// 19: the language switch (English ↔ Finnish, remembered), the layout of
// a 360 px wide phone, and axe-core's accessibility check over the main
// views (SWITCHBOARD_TEST_AXE, installed by scripts/peers/webform.sh).

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-hub/switchboard/internal/testenv"
)

// uiHub is a hub with two agents who sign in with passwords, and Mia, who
// wrote by the api channel and by SMS (so a reply can go out by SMS).
type uiHub struct {
	p            *proc
	base         string
	miaSMS, noah string // conversation ids
}

func startUIHub(t *testing.T) uiHub {
	t.Helper()
	mock := twilioMockURL(t)
	addr := freeAddr(t)
	base := "http://" + addr
	for i, pw := range []string{uiRootPW, uiAlicePW} { // agents[0] is root, agents[1] alice
		h, err := bcrypt.GenerateFromPassword([]byte(pw), 10)
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(fmt.Sprintf("SWITCHBOARD_AGENTS_%d_PASSWORD_HASH", i), string(h))
	}
	p := start(t, writeConfig(t, embeddedStore(t), smsChannelYAML(base, mock)), addr)
	ago := func(m int) string { return time.Now().UTC().Add(-time.Duration(m) * time.Minute).Format(time.RFC3339) }
	for _, m := range []map[string]any{
		{"external_id": "mia-1", "sender": map[string]string{"email": "mia@example.com", "phone": "+358 40 111 2222", "name": "Mia Virtanen"}, "text": "Order 1234: the parcel has not arrived.", "occurred_at": ago(90)},
		{"external_id": "noah-1", "sender": map[string]string{"email": "noah@example.org", "name": "Noah Berg"}, "text": "Please update my billing address.", "occurred_at": ago(40)},
	} {
		if code, _ := p.post(t, "crm", m); code != 202 {
			t.Fatalf("api post: %d", code)
		}
	}
	waitFor(t, "Mia on a timeline", 10*time.Second, func() bool { _, code := p.find(t, "email:mia@example.com"); return code == 200 })
	if code, body := p.smsPost(t, "/webhooks/twilio/sms", smsMessage(1, "+358401112222", "Any news about my parcel?"), ""); code != 200 {
		t.Fatalf("sms webhook: %d %s", code, body)
	}
	h := uiHub{p: p, base: base}
	waitFor(t, "both conversations", 20*time.Second, func() bool {
		var out struct {
			Conversations []struct{ ID, Channel string } `json:"conversations"`
		}
		call(t, "GET", base+"/api/v1/conversations?limit=100", adminToken, nil, &out)
		for _, c := range out.Conversations {
			switch c.Channel {
			case "sms":
				h.miaSMS = c.ID
			case "crm":
				h.noah = c.ID // Mia's crm conversation is older; Noah's is listed first
			}
		}
		return h.miaSMS != "" && h.noah != "" && len(out.Conversations) == 3
	})
	return h
}

// rect is an element's box as getBoundingClientRect gives it.
type rect struct {
	Sel                      string
	Left, Top, Right, Bottom float64
	Visible                  bool
}

func (r rect) overlaps(o rect) bool {
	return r.Left < o.Right-0.5 && o.Left < r.Right-0.5 && r.Top < o.Bottom-0.5 && o.Top < r.Bottom-0.5
}

// rects returns the boxes of the first element of each selector.
func (b *browser) rects(ctx string, sels ...string) map[string]rect {
	b.t.Helper()
	list, _ := json.Marshal(sels)
	var out []rect
	json.Unmarshal(b.do(ctx, "eval", map[string]any{"expr": `(` + string(list) + `).map((sel) => {
		const n = document.querySelector(sel);
		if (!n) return { Sel: sel, Visible: false };
		const r = n.getBoundingClientRect();
		const st = getComputedStyle(n);
		return { Sel: sel, Left: r.left, Top: r.top, Right: r.right, Bottom: r.bottom,
			Visible: r.width > 0 && r.height > 0 && st.visibility !== 'hidden' && st.display !== 'none' };
	})`}), &out)
	m := map[string]rect{}
	for _, r := range out {
		m[r.Sel] = r
	}
	return m
}

// forTest is b for subtest t (a failure ends the subtest, not its parent).
func (b *browser) forTest(t *testing.T) *browser {
	c := *b
	c.t = t
	return &c
}

// evalString runs a JavaScript expression in ctx's page.
func (b *browser) evalString(ctx, expr string) string {
	b.t.Helper()
	var s string
	if err := json.Unmarshal(b.do(ctx, "eval", map[string]any{"expr": expr}), &s); err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	return s
}

func TestUIInboxLanguagesLayoutAndAccessibility(t *testing.T) {
	axePath := os.Getenv("SWITCHBOARD_TEST_AXE")
	if axePath == "" {
		testenv.Absent(t, "axe-core (SWITCHBOARD_TEST_AXE; scripts/peers/webform.sh)", nil)
	}
	if _, err := os.Stat(axePath); err != nil {
		testenv.Absent(t, "axe-core", err)
	}
	br := startBrowser(t)
	h := startUIHub(t)
	art := artifactsDir(t, "ui-i18n")

	// ---- languages: switch to Finnish, in place; a reload keeps it -------------
	t.Run("language", func(t *testing.T) {
		br := br.forTest(t)
		br.signIn("lang", h.base, "alice", uiAlicePW)
		br.do("lang", "click", map[string]any{"selector": `#f-view [data-view="all"]`})
		br.do("lang", "click", map[string]any{"selector": `#conv-list .item[data-id="` + h.miaSMS + `"]`})
		br.do("lang", "waitText", map[string]any{"selector": "#conv-name", "text": "Mia Virtanen"})
		br.do("lang", "waitCount", map[string]any{"selector": "#tl-entries .entry time", "count": 2})
		enDate := br.strings("lang", "texts", map[string]any{"selector": "#tl-entries .entry time"})[0]
		en := map[string]string{"#logout": "Log out", `#f-view [data-view="mine"]`: "Mine", "#act-resolve": "Resolve", "#send": "Send"}
		for sel, want := range en {
			if got := br.strings("lang", "texts", map[string]any{"selector": sel}); len(got) != 1 || got[0] != want {
				t.Fatalf("English %s: %q, want %q", sel, got, want)
			}
		}
		// en-GB writes "7 Dec, 14:05"; Finnish "7.12. klo 14.05".
		if !regexp.MustCompile(`^\d{1,2} [A-Z][a-z]{2}, \d{2}:\d{2}$`).MatchString(enDate) {
			t.Fatalf("English date on the timeline: %q", enDate)
		}
		br.do("lang", "select", map[string]any{"selector": "#lang", "value": "fi"})
		fi := map[string]string{"#logout": "Kirjaudu ulos", `#f-view [data-view="mine"]`: "Omat", "#act-resolve": "Ratkaise",
			"#send": "Lähetä", "#conv-status": "avoin", `#f-status option[value="open"]`: "Avoimet", "#conn": "ajan tasalla"}
		for sel, want := range fi {
			br.do("lang", "waitText", map[string]any{"selector": sel, "text": want, "timeout": 5000})
		}
		if ph := br.evalString("lang", `document.getElementById('reply-text').placeholder`); ph != "Kirjoita vastaus…" {
			t.Fatalf("composer placeholder in Finnish: %q", ph)
		}
		fiDate := br.strings("lang", "texts", map[string]any{"selector": "#tl-entries .entry time"})[0]
		if !regexp.MustCompile(`^\d{1,2}\.\d{1,2}\. klo \d{2}\.\d{2}$`).MatchString(fiDate) {
			t.Fatalf("Finnish date on the timeline: %q (English was %q)", fiDate, enDate)
		}
		if w := br.strings("lang", "texts", map[string]any{"selector": "#conv-list .item .wait"}); len(w) == 0 || !strings.HasPrefix(w[0], "odottanut ") {
			t.Fatalf("waiting time in Finnish: %q", w)
		}
		br.do("lang", "screenshot", map[string]any{"path": filepath.Join(art, "inbox-fi.png")})
		br.do("lang", "reload", nil)
		br.do("lang", "waitText", map[string]any{"selector": "#logout", "text": "Kirjaudu ulos"})
		if l := br.evalString("lang", `document.documentElement.lang + ' ' + document.getElementById('lang').value`); l != "fi fi" {
			t.Fatalf("after a reload, language %q", l)
		}
		br.do("lang", "waitText", map[string]any{"selector": "#f-view button", "text": "Omat"})
		// The page an agent gets at /admin speaks the same language.
		if code := br.do("lang", "goto", map[string]any{"url": h.base + "/admin"}); string(code) != "403" {
			t.Fatalf("agent opening /admin: %s", code)
		}
		br.do("lang", "waitText", map[string]any{"selector": "h1", "text": "Vain ylläpitäjille"})
		br.do("lang", "click", map[string]any{"selector": `a[href="/"]`})
		br.do("lang", "waitText", map[string]any{"selector": "#logout", "text": "Kirjaudu ulos"})
		// And back, for the agent who tried it.
		br.do("lang", "select", map[string]any{"selector": "#lang", "value": "en"})
		br.do("lang", "waitText", map[string]any{"selector": "#logout", "text": "Log out"})
	})

	// ---- a 360 × 740 phone: list → conversation → reply → back ------------------
	t.Run("narrow", func(t *testing.T) {
		br := br.forTest(t)
		br.do("phone", "viewport", map[string]any{"width": 360, "height": 740})
		br.signIn("phone", h.base, "alice", uiAlicePW)
		br.do("phone", "click", map[string]any{"selector": `#f-view [data-view="all"]`})
		br.do("phone", "waitCount", map[string]any{"selector": "#conv-list .item", "count": 3})
		header := []string{".top .brand", ".top nav", "#conn", "#lang", "#logout", "#search-q"}
		noOverlap := func(what string, sels ...string) map[string]rect {
			t.Helper()
			rs := br.rects("phone", sels...)
			for i, a := range sels {
				ra := rs[a]
				if !ra.Visible || ra.Left < -0.5 || ra.Right > 360.5 || ra.Top < -0.5 || ra.Bottom > 740.5 {
					br.do("phone", "screenshot", map[string]any{"path": filepath.Join(art, "narrow-failure.png")})
					t.Fatalf("%s: %s is not visible inside the 360×740 screen: %+v", what, a, ra)
				}
				for _, b := range sels[i+1:] {
					if ra.overlaps(rs[b]) {
						br.do("phone", "screenshot", map[string]any{"path": filepath.Join(art, "narrow-failure.png")})
						t.Fatalf("%s: %s %+v overlaps %s %+v", what, a, ra, b, rs[b])
					}
				}
			}
			return rs
		}
		rs := noOverlap("the list", append(header, "#f-view", "#f-status", "#conv-list .item")...)
		if top := br.rects("phone", ".top")[".top"]; top.Bottom-top.Top > 100 {
			t.Fatalf("the header is %v px high: it wraps into more than its two rows", top.Bottom-top.Top)
		}
		if rs["#conv-list .item"].Right-rs["#conv-list .item"].Left < 340 {
			t.Fatalf("the list does not take the width: %+v", rs["#conv-list .item"])
		}
		if w := br.evalString("phone", `String(document.documentElement.scrollWidth)`); w != "360" {
			t.Fatalf("the page scrolls sideways: %s px wide", w)
		}
		br.do("phone", "screenshot", map[string]any{"path": filepath.Join(art, "narrow-list.png")})

		br.do("phone", "click", map[string]any{"selector": `#conv-list .item[data-id="` + h.miaSMS + `"]`})
		br.do("phone", "waitText", map[string]any{"selector": "#conv-name", "text": "Mia Virtanen"})
		br.do("phone", "waitCount", map[string]any{"selector": "#tl-entries .entry", "count": 2})
		if r := br.rects("phone", ".list-pane")[".list-pane"]; r.Visible {
			t.Fatalf("the list stays beside the open conversation: %+v", r)
		}
		noOverlap("the conversation", append(header, "#conv-back", "#conv-name", "#timeline", "#reply-text", "#send")...)
		br.do("phone", "fill", map[string]any{"selector": "#reply-text", "value": "Hi Mia, the parcel left our depot today."})
		br.do("phone", "click", map[string]any{"selector": "#send"})
		br.do("phone", "waitText", map[string]any{"selector": "#tl-entries .entry.out .text", "text": "the parcel left our depot"})
		br.do("phone", "waitText", map[string]any{"selector": "#tl-entries .entry.out .delivery", "text": "sent"})
		br.do("phone", "screenshot", map[string]any{"path": filepath.Join(art, "narrow-conversation.png")})

		// The customer panel opens as a modal dialog: focus inside, Tab
		// stays inside, Escape closes it and focus returns to its button.
		br.do("phone", "click", map[string]any{"selector": "#cust-open"})
		br.do("phone", "waitFor", map[string]any{"selector": `#cust-pane[role="dialog"][aria-modal="true"] #cust-name`})
		noOverlap("the customer dialog", "#cust-close", "#cust-name")
		for i := 0; i < 25; i++ {
			br.do("phone", "press", map[string]any{"key": "Tab"})
			if in := br.evalString("phone", `String(document.getElementById('cust-pane').contains(document.activeElement))`); in != "true" {
				t.Fatalf("Tab %d left the dialog for %s", i+1, br.evalString("phone", `document.activeElement.outerHTML.slice(0, 120)`))
			}
		}
		br.do("phone", "press", map[string]any{"key": "Escape"})
		if s := br.evalString("phone", `(document.getElementById('cust-pane').getAttribute('role') || 'none') + ' ' + document.activeElement.id`); s != "none cust-open" {
			t.Fatalf("after Escape: dialog role and focus %q", s)
		}

		br.do("phone", "click", map[string]any{"selector": "#conv-back"})
		br.do("phone", "waitFor", map[string]any{"selector": "#conv-list .item"})
		if r := br.rects("phone", ".conv-pane")[".conv-pane"]; r.Visible {
			t.Fatalf("the conversation stays beside the list after going back: %+v", r)
		}
		noOverlap("the list again", append(header, "#f-view", "#conv-list .item")...)
		if focused := br.evalString("phone", `document.activeElement.id`); focused != "conv-list" {
			t.Fatalf("after going back the keyboard is on %q, not the list", focused)
		}
		// Enter opens the row again, Escape goes back.
		br.do("phone", "press", map[string]any{"key": "Enter"})
		br.do("phone", "waitFor", map[string]any{"selector": "#reply-text"})
		br.do("phone", "press", map[string]any{"key": "Escape"})
		br.do("phone", "waitFor", map[string]any{"selector": "#conv-list .item"})
	})

	// ---- axe-core: no serious or critical violation in the main views -----------
	t.Run("axe", func(t *testing.T) {
		br := br.forTest(t)
		check := func(ctx, view string) {
			t.Helper()
			var vs []struct {
				ID, Impact, Help string
				Nodes            []string
			}
			json.Unmarshal(br.do(ctx, "axe", map[string]any{"path": axePath}), &vs)
			var bad []string
			for _, v := range vs {
				if v.Impact == "serious" || v.Impact == "critical" {
					bad = append(bad, fmt.Sprintf("%s (%s): %s\n    %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n    ")))
				}
			}
			if len(bad) > 0 {
				shot := filepath.Join(art, "axe-"+strings.ReplaceAll(view, " ", "-")+".png")
				br.do(ctx, "screenshot", map[string]any{"path": shot})
				t.Errorf("%s: %d serious or critical accessibility violations (screenshot %s):\n%s", view, len(bad), shot, strings.Join(bad, "\n"))
			} else {
				t.Logf("%s: %d violations, none serious or critical", view, len(vs))
			}
		}
		br.do("a11y", "goto", map[string]any{"url": h.base + "/"})
		br.do("a11y", "waitFor", map[string]any{"selector": "#login-form"})
		check("a11y", "sign-in")
		br.signIn("a11y", h.base, "alice", uiAlicePW)
		br.do("a11y", "click", map[string]any{"selector": `#f-view [data-view="all"]`})
		br.do("a11y", "select", map[string]any{"selector": "#f-status", "value": ""}) // the narrow test's reply made Mia's pending
		br.do("a11y", "waitCount", map[string]any{"selector": "#conv-list .item", "count": 3})
		check("a11y", "inbox list")
		br.do("a11y", "click", map[string]any{"selector": `#conv-list .item[data-id="` + h.miaSMS + `"]`})
		br.do("a11y", "waitCount", map[string]any{"selector": "#tl-entries .entry", "count": 2})
		br.do("a11y", "waitFor", map[string]any{"selector": "#cust-ids li"})
		br.do("a11y", "waitFor", map[string]any{"selector": "#cust-consents li", "state": "attached"})
		check("a11y", "conversation and customer panel")
		br.do("a11y", "click", map[string]any{"selector": "#canned-open"})
		br.do("a11y", "waitFor", map[string]any{"selector": "#canned-dialog[open] #canned-shortcut"})
		check("a11y", "canned replies dialog")
		br.do("a11y", "press", map[string]any{"key": "Escape"})
		br.do("a11y", "waitFor", map[string]any{"selector": "#canned-dialog", "state": "hidden"})
		br.do("a11y", "click", map[string]any{"selector": ".id-move"})
		br.do("a11y", "waitFor", map[string]any{"selector": "#cust-move-form"})
		check("a11y", "moving an identity")
		br.do("a11y", "fill", map[string]any{"selector": "#search-q", "value": "parcel"})
		br.do("a11y", "waitFor", map[string]any{"selector": "#search-results .search-hit"})
		check("a11y", "search results")
		br.do("a11y", "press", map[string]any{"key": "Escape"}) // closes the results
		br.do("a11y", "waitFor", map[string]any{"selector": "#search-results", "state": "hidden"})
		br.do("a11y", "select", map[string]any{"selector": "#lang", "value": "fi"})
		br.do("a11y", "waitText", map[string]any{"selector": "#logout", "text": "Kirjaudu ulos"})
		check("a11y", "conversation in Finnish")
		br.do("a11y", "select", map[string]any{"selector": "#lang", "value": "en"})
		br.do("a11y", "viewport", map[string]any{"width": 360, "height": 740})
		br.do("a11y", "click", map[string]any{"selector": "#cust-open"})
		br.do("a11y", "waitFor", map[string]any{"selector": `#cust-pane[role="dialog"] #cust-name`})
		check("a11y", "customer dialog on a phone")
		br.signIn("a11y-admin", h.base, "root", uiRootPW)
		br.do("a11y-admin", "goto", map[string]any{"url": h.base + "/admin"})
		br.do("a11y-admin", "waitCount", map[string]any{"selector": "#admin-channels tr", "count": 4})
		br.do("a11y-admin", "waitCount", map[string]any{"selector": "#admin-queues tr", "count": 2})
		check("a11y-admin", "admin")
	})
}
