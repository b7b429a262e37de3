package main_test

// The admin pages on a phone, the Reports page's charts for screen
// readers, and no unnamed control in any view, in English and Finnish
// (docs/UI.md, "Admin pages and reports at 360 px, named controls"):
// driver.js in Chromium, axe-core (SWITCHBOARD_TEST_AXE) for the names.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/testenv"
)

// sidewaysJS lists what scrolls sideways on the page: the page itself
// wider than the screen, and any element whose content is wider than its
// box unless it is a labelled region of its own (a wide table's) or only
// cuts a line short with an ellipsis. Controls hidden in a clipped box
// count too: a clip that hides part of a form is no better than a scroll.
const sidewaysJS = `(() => {
	const out = [];
	const de = document.documentElement;
	const name = (n) => n.tagName.toLowerCase() + (n.id ? '#' + n.id : '') + (n.className && typeof n.className === 'string' ? '.' + n.className.trim().split(/\s+/).join('.') : '');
	for (const n of document.querySelectorAll('body *')) {
		if (n.scrollWidth <= n.clientWidth + 1 || n.clientWidth <= 1) continue;
		const st = getComputedStyle(n);
		if (st.display === 'none' || st.overflowX === 'visible' || st.textOverflow === 'ellipsis') continue;
		if (['SELECT', 'INPUT', 'TEXTAREA', 'svg'].includes(n.tagName) || n.closest('svg')) continue;
		const region = n.getAttribute('role') === 'region' && (n.getAttribute('aria-labelledby') || n.getAttribute('aria-label'));
		if (region && st.overflowX !== 'hidden' && st.overflowX !== 'clip') continue;
		out.push(name(n) + ' (overflow-x ' + st.overflowX + '): content ' + n.scrollWidth + ' px in ' + n.clientWidth + ' px');
	}
	if (de.scrollWidth > innerWidth) {
		// what sticks out: the outermost elements past the right edge
		const past = (n) => n.getBoundingClientRect().right > innerWidth + 0.5;
		const culprits = [...document.querySelectorAll('body *')].filter((n) => past(n) && !past(n.parentElement)).slice(0, 5).map(name);
		out.unshift('the page: ' + de.scrollWidth + ' px wide on a ' + innerWidth + ' px screen (' + culprits.join(', ') + ')');
	}
	return out;
})()`

// onScreen scrolls each selector's elements into view and returns those
// that are missing, empty, or not wholly inside the screen.
func (b *browser) offScreen(ctx string, sels []string) []string {
	b.t.Helper()
	list, _ := json.Marshal(sels)
	var out []string
	json.Unmarshal(b.do(ctx, "eval", map[string]any{"expr": `(` + string(list) + `).flatMap((sel) => {
		const ns = [...document.querySelectorAll(sel)];
		if (!ns.length) return [sel + ': not on the page'];
		return ns.flatMap((n, i) => {
			n.scrollIntoView({ block: 'nearest', inline: 'nearest' });
			const r = n.getBoundingClientRect();
			const st = getComputedStyle(n);
			if (r.width < 1 || r.height < 1 || st.visibility === 'hidden') return [sel + '[' + i + ']: not shown'];
			if (r.left < -0.5 || r.right > innerWidth + 0.5 || r.top < -0.5 || r.bottom > innerHeight + 0.5)
				return [sel + '[' + i + ']: at ' + [r.left, r.top, r.right, r.bottom].map(Math.round).join(',') + ', outside the ' + innerWidth + '×' + innerHeight + ' screen'];
			return [];
		});
	})`}), &out)
	return out
}

// namingRules are axe-core's rules for controls and images without an
// accessible name.
var namingRules = []string{"button-name", "link-name", "label", "select-name", "input-button-name", "aria-input-field-name",
	"aria-command-name", "aria-toggle-field-name", "aria-dialog-name", "svg-img-alt", "role-img-alt", "image-alt", "frame-title",
	"scrollable-region-focusable"}

func axePath(t *testing.T) string {
	p := os.Getenv("SWITCHBOARD_TEST_AXE")
	if p == "" {
		testenv.Absent(t, "axe-core (SWITCHBOARD_TEST_AXE; scripts/peers/webform.sh)", nil)
	}
	if _, err := os.Stat(p); err != nil {
		testenv.Absent(t, "axe-core", err)
	}
	return p
}

// signInAs signs ctx in through the form in whatever language the page
// speaks (signIn waits for the English "live").
func (b *browser) signInAs(ctx, base, name, pw string) {
	b.t.Helper()
	b.do(ctx, "goto", map[string]any{"url": base + "/"})
	b.do(ctx, "waitFor", map[string]any{"selector": "#login-form"})
	b.do(ctx, "fill", map[string]any{"selector": "#login-name", "value": name})
	b.do(ctx, "fill", map[string]any{"selector": "#login-password", "value": pw})
	b.do(ctx, "click", map[string]any{"selector": "#login-form button[type=submit]"})
	b.do(ctx, "waitFor", map[string]any{"selector": "#app", "timeout": 30000})
	b.do(ctx, "waitFor", map[string]any{"selector": "#conn.live", "timeout": 30000})
}

func TestUIAdminPagesOnAPhoneChartsAndNamedControls(t *testing.T) {
	axe := axePath(t)
	br := startBrowser(t)
	h := startUIHub(t)
	art := artifactsDir(t, "ui-admin-phone")

	// Something in every admin table: a label, and a webhook whose
	// deliveries fail (nothing listens on port 9), created in the page so
	// the secret box shows too; a message after it makes a delivery.
	if code := call(t, "POST", h.base+"/api/v1/labels", adminToken, map[string]any{"name": "billing", "color": "#aa3355", "description": "Invoices and payments"}, nil); code/100 != 2 {
		t.Fatalf("label: %d", code)
	}
	// A macro and a label on Mia's conversation: the conversation view
	// then has label chips (with remove buttons) and the macro picker.
	if code := call(t, "POST", h.base+"/api/v1/macros", adminToken, map[string]any{"id": "close-billing", "name": "Close as billing",
		"actions": []map[string]string{{"type": "add_label", "value": "billing"}, {"type": "resolve"}}}, nil); code/100 != 2 {
		t.Fatalf("macro: %d", code)
	}
	if code := call(t, "POST", h.base+"/api/v1/conversations/"+h.miaSMS+"/labels", adminToken, map[string]any{"add": []string{"billing"}}, nil); code/100 != 2 {
		t.Fatalf("conversation label: %d", code)
	}
	br.signIn("admin", h.base, "root", uiRootPW)
	br.do("admin", "goto", map[string]any{"url": h.base + "/admin"})
	br.do("admin", "waitCount", map[string]any{"selector": "#admin-channels tr", "count": 4})
	br.do("admin", "fill", map[string]any{"selector": "#wh-name", "value": "warehouse-and-logistics-partner"})
	br.do("admin", "fill", map[string]any{"selector": "#wh-url", "value": "http://127.0.0.1:9/a/rather/long/path/for/the/webhook/receiver?token=abcdefghijklmnopqrstuvwxyz"})
	br.do("admin", "click", map[string]any{"selector": "#wh-allow-http"})
	br.do("admin", "click", map[string]any{"selector": "#wh-allow-private"})
	br.do("admin", "click", map[string]any{"selector": "#wh-save"})
	br.do("admin", "waitFor", map[string]any{"selector": "#wh-secret"})
	br.do("admin", "waitFor", map[string]any{"selector": "#admin-webhooks tr .wh-ping"})
	if code, _ := h.p.post(t, "crm", map[string]any{"external_id": "noah-2", "sender": map[string]string{"email": "noah@example.org", "name": "Noah Berg"},
		"text": "And my invoice?", "occurred_at": time.Now().UTC().Format(time.RFC3339)}); code != 202 {
		t.Fatalf("api post: %d", code)
	}
	waitFor(t, "a delivery to the webhook", 20*time.Second, func() bool {
		br.do("admin", "click", map[string]any{"selector": "#admin-webhooks tr .wh-deliveries"})
		_, err := br.try("admin", "waitFor", map[string]any{"selector": "#wh-deliveries-rows .wh-replay-one", "timeout": 1000})
		return err == nil
	})
	br.do("admin", "waitFor", map[string]any{"selector": "#audit-rows tr"})
	br.do("admin", "waitFor", map[string]any{"selector": "#admin-labels li"})

	// ---- 1. every admin view on a 360 × 740 phone -------------------------------
	t.Run("phone", func(t *testing.T) {
		br := br.forTest(t)
		br.do("admin", "viewport", map[string]any{"width": 360, "height": 740})
		check := func(view string, controls []string) {
			t.Helper()
			var wide []string
			json.Unmarshal(br.do("admin", "eval", map[string]any{"expr": sidewaysJS}), &wide)
			off := br.offScreen("admin", controls)
			if len(wide)+len(off) > 0 {
				shot := filepath.Join(art, "phone-"+view+"-failure.png")
				br.do("admin", "screenshot", map[string]any{"path": shot, "full": true})
				t.Errorf("%s at 360×740 (screenshot %s):\n  scrolls sideways: %s\n  controls not on screen: %s", view, shot,
					strings.Join(wide, "\n    "), strings.Join(off, "\n    "))
			}
			br.do("admin", "screenshot", map[string]any{"path": filepath.Join(art, "phone-"+view+".png"), "full": true})
		}
		// /admin: channels and queues, labels and rules, webhooks (with the
		// secret shown once and the deliveries open), the audit log.
		br.do("admin", "eval", map[string]any{"expr": `window.scrollTo(0, 0)`})
		check("admin", []string{"#nav-admin", "#lang", "#logout",
			"#admin-channels select", "#admin-channels button", "#admin-queues tr",
			"#admin-labels li", "#label-name", "#label-color", "#label-desc", "#label-form button",
			"#rules-json", "#rules-save", "#dry-message", "#rules-dry", "#macros-json", "#macro-save",
			"#admin-webhooks .wh-edit", "#admin-webhooks .wh-rotate", "#admin-webhooks .wh-toggle", "#admin-webhooks .wh-ping",
			"#admin-webhooks .wh-deliveries", "#admin-webhooks .wh-delete",
			"#wh-name", "#wh-url", "#wh-events", "#wh-allow-http", "#wh-enabled", "#wh-save",
			"#wh-secret-value", "#wh-secret-done", "#wh-replay-failed", "#wh-deliveries-rows .wh-replay-one",
			"#audit-actor", "#audit-action", "#audit-customer", "#audit-from", "#audit-to", "#audit-apply", "#audit-rows tr"})
		// The header keeps two rows with the Admin and Reports links.
		if top := br.rects("admin", ".top")[".top"]; top.Bottom-top.Top > 100 {
			t.Errorf("an admin's header is %v px high: more than two rows", top.Bottom-top.Top)
		}
		// Each table row is a card that names its fields.
		if l := br.strings("admin", "attrs", map[string]any{"selector": "#admin-channels tr:first-child td", "attr": "data-label"}); fmt.Sprint(l) != "[Channel Type Phase Changed Actions]" {
			t.Errorf("a channel's card: fields %q", l)
		}
		if d := br.strings("admin", "styles", map[string]any{"selector": "#admin-webhooks tr", "prop": "display"}); len(d) != 1 || d[0] != "block" {
			t.Errorf("a webhook's row on a phone: display %q, want a card (block)", d)
		}
		// The editing form too.
		br.do("admin", "click", map[string]any{"selector": "#admin-webhooks .wh-edit"})
		br.do("admin", "waitFor", map[string]any{"selector": "#wh-cancel"})
		check("admin-editing", []string{"#webhook-form-title", "#wh-url", "#wh-save", "#wh-cancel"})
		br.do("admin", "click", map[string]any{"selector": "#wh-cancel"})
		// In Finnish the cards name their fields in Finnish.
		br.do("admin", "select", map[string]any{"selector": "#lang", "value": "fi"})
		br.do("admin", "waitText", map[string]any{"selector": "#logout", "text": "Kirjaudu ulos"})
		if l := br.strings("admin", "attrs", map[string]any{"selector": "#admin-channels tr:first-child td", "attr": "data-label"}); len(l) != 5 || l[0] != "Kanava" {
			t.Errorf("a channel's card in Finnish: fields %q", l)
		}
		// The open deliveries are drawn again in Finnish too.
		br.do("admin", "waitText", map[string]any{"selector": "#wh-deliveries-rows .wh-replay-one", "text": "Lähetä uudelleen"})
		if top := br.rects("admin", ".top")[".top"]; top.Bottom-top.Top > 100 {
			t.Errorf("an admin's header in Finnish is %v px high: more than two rows (%s)", top.Bottom-top.Top,
				br.evalString("admin", `[...document.querySelector('.top').children].map((n) => (n.id || n.className || n.tagName) + ' ' + Math.round(n.getBoundingClientRect().left) + '+' + Math.round(n.getBoundingClientRect().width)).join(', ')`))
		}
		check("admin-fi", []string{"#nav-admin", "#lang", "#logout", "#admin-channels select", "#admin-webhooks .wh-delete", "#wh-save", "#audit-apply"})
		br.do("admin", "select", map[string]any{"selector": "#lang", "value": "en"})
		br.do("admin", "waitText", map[string]any{"selector": "#logout", "text": "Log out"})

		// /admin/reports: the form, the charts and the table.
		if code := br.do("admin", "goto", map[string]any{"url": h.base + "/admin/reports"}); string(code) != "200" {
			t.Fatalf("reports: %s", code)
		}
		br.do("admin", "waitFor", map[string]any{"selector": "#report tbody tr[data-key]"})
		check("reports", []string{"header h1", "header a", "#lang", "input[name=from]", "input[name=to]", "select[name=group_by]",
			"#report-form button", "#csv", "#charts svg", "#report-title"})
		// The wide table scrolls inside its own region, which the keyboard
		// can reach and which is named.
		if s := br.evalString("admin", `(() => { const r = document.querySelector('#report').closest('[role=region]');
			return r ? r.tabIndex + ' ' + (r.scrollWidth > r.clientWidth) + ' ' + document.getElementById(r.getAttribute('aria-labelledby')).textContent : 'none'; })()`); s != "0 true All figures per group" {
			t.Errorf("the report table's region (tabindex, scrolls, name): %q", s)
		}
		br.do("admin", "select", map[string]any{"selector": "#lang", "value": "fi"})
		br.do("admin", "waitText", map[string]any{"selector": "h1", "text": "Palveluraportit"})
		check("reports-fi", []string{"header h1", "#lang", "input[name=from]", "#report-form button", "#csv", "#charts svg"})
		br.do("admin", "select", map[string]any{"selector": "#lang", "value": "en"})

		// /admin/adoption: the cards with their charts, the potential table.
		if code := br.do("admin", "goto", map[string]any{"url": h.base + "/admin/adoption"}); string(code) != "200" {
			t.Fatalf("adoption: %s", code)
		}
		br.do("admin", "waitFor", map[string]any{"selector": "#potential table"})
		check("adoption", []string{"header a", "#cards .card", "#cards .card svg", "#potential-title"})
	})

	// ---- 1b. /admin between the phone and the desktop layouts (740 px) ----------
	// Above 700 px the tables are tables again, not cards; at 740 px they
	// must still fit (or scroll inside a labelled region), not push the
	// page sideways.
	t.Run("narrow", func(t *testing.T) {
		br := br.forTest(t)
		defer br.do("admin", "viewport", map[string]any{"width": 1440, "height": 900})
		for _, c := range []struct {
			width int
			lang  string
		}{{740, "en"}, {740, "fi"}, {701, "fi"}} {
			lang := c.lang
			br.do("admin", "viewport", map[string]any{"width": c.width, "height": 900})
			br.do("admin", "goto", map[string]any{"url": h.base + "/admin"})
			br.do("admin", "waitCount", map[string]any{"selector": "#admin-channels tr", "count": 4})
			br.do("admin", "select", map[string]any{"selector": "#lang", "value": lang})
			br.do("admin", "click", map[string]any{"selector": "#admin-webhooks tr .wh-deliveries"})
			br.do("admin", "waitFor", map[string]any{"selector": "#wh-deliveries-rows .wh-replay-one"})
			br.do("admin", "waitFor", map[string]any{"selector": "#audit-rows tr"})
			var wide []string
			json.Unmarshal(br.do("admin", "eval", map[string]any{"expr": sidewaysJS}), &wide)
			off := br.offScreen("admin", []string{"#lang", "#logout", "#admin-channels select", "#admin-channels button",
				"#admin-webhooks .wh-delete", "#wh-deliveries-rows .wh-replay-one", "#wh-save", "#audit-apply"})
			shot := filepath.Join(art, fmt.Sprintf("admin-%d-%s.png", c.width, lang))
			br.do("admin", "screenshot", map[string]any{"path": shot, "full": true})
			if len(wide)+len(off) > 0 {
				t.Errorf("/admin in %s at %d×900 (screenshot %s):\n  scrolls sideways: %s\n  controls not on screen: %s", lang, c.width, shot,
					strings.Join(wide, "\n    "), strings.Join(off, "\n    "))
			}
		}
		br.do("admin", "select", map[string]any{"selector": "#lang", "value": "en"})
	})

	// ---- 2. the Reports page's charts: a name and the figures as text -----------
	t.Run("charts", func(t *testing.T) {
		br := br.forTest(t)
		br.do("admin", "viewport", map[string]any{"width": 1440, "height": 900})
		br.do("admin", "goto", map[string]any{"url": h.base + "/admin/reports"})
		br.do("admin", "waitFor", map[string]any{"selector": "#report tbody tr[data-key]"})
		// What a screen reader gets of each chart: its role, name (the
		// caption) and description (a visually hidden table of the figures),
		// through aria-labelledby / aria-describedby as the browser resolves
		// them; and that table's cells.
		type chart struct {
			Role, Name, Desc string
			Cells            []string
		}
		read := func() []chart {
			var out []chart
			json.Unmarshal(br.do("admin", "eval", map[string]any{"expr": `[...document.querySelectorAll('#charts svg')].map((s) => {
				const text = (ids) => (ids || '').split(/\s+/).filter(Boolean).map((id) => { const n = document.getElementById(id); return n ? n.textContent.replace(/\s+/g, ' ').trim() : '?' + id; }).join(' ');
				const d = document.getElementById(s.getAttribute('aria-describedby'));
				return { Role: s.getAttribute('role'), Name: text(s.getAttribute('aria-labelledby')), Desc: d ? d.tagName : '',
					Cells: d ? [...d.querySelectorAll('tbody tr')].map((r) => [...r.cells].map((c) => c.textContent).join(': ')) : [] };
			})`}), &out)
			return out
		}
		want := map[string][]string{
			"en": {"Conversations", "First response p50 (hours)", "Resolution p50 (hours)", "SLA breaches (first response + resolution)", "CSAT score (1–5)"},
			"fi": {"Keskustelut", "Ensimmäisen vastauksen mediaani (tunteina)", "Ratkaisuajan mediaani (tunteina)", "SLA-ylitykset (ensimmäinen vastaus + ratkaisu)", "CSAT-keskiarvo (1–5)"},
		}
		for _, lang := range []string{"en", "fi"} {
			br.do("admin", "select", map[string]any{"selector": "#lang", "value": lang})
			br.do("admin", "waitText", map[string]any{"selector": "#charts figcaption", "text": want[lang][0]})
			cs := read()
			if len(cs) != len(want[lang]) {
				t.Fatalf("%s: %d charts, want %d", lang, len(cs), len(want[lang]))
			}
			for i, c := range cs {
				if c.Role != "img" || c.Name != want[lang][i] || c.Desc != "TABLE" {
					t.Errorf("%s chart %d: role %q, name %q, described by %q; want img, %q, a table", lang, i, c.Role, c.Name, c.Desc, want[lang][i])
				}
			}
			// The conversations chart's figures, one per channel, as the
			// table shows them (crm: Mia's and Noah's api conversations;
			// dormant and partner are configured channels without any).
			if fmt.Sprint(cs[0].Cells) != "[crm: 2 dormant: 0 partner: 0 sms: 1]" {
				t.Errorf("%s: the conversations chart's text: %q", lang, cs[0].Cells)
			}
			if lang == "fi" && !strings.Contains(fmt.Sprint(cs[1].Cells), ",") {
				t.Errorf("fi: hours in the first-response chart's text are not written the Finnish way: %q", cs[1].Cells)
			}
		}
		// axe agrees: every image has a name.
		var vs []struct{ ID string }
		json.Unmarshal(br.do("admin", "axe", map[string]any{"path": axe, "rules": []string{"svg-img-alt", "role-img-alt"}}), &vs)
		if len(vs) > 0 {
			t.Errorf("axe: %v", vs)
		}
		br.do("admin", "select", map[string]any{"selector": "#lang", "value": "en"})
	})

	// ---- 3. no unnamed control in any view, in English and in Finnish -----------
	t.Run("names", func(t *testing.T) {
		br := br.forTest(t)
		var failures []string
		check := func(ctx, view string) {
			t.Helper()
			var vs []struct {
				ID, Impact, Help string
				Nodes            []string
			}
			json.Unmarshal(br.do(ctx, "axe", map[string]any{"path": axe, "rules": namingRules}), &vs)
			for _, v := range vs {
				failures = append(failures, fmt.Sprintf("%s: %s (%s): %s\n    %s", view, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n    ")))
			}
			if len(vs) > 0 {
				br.do(ctx, "screenshot", map[string]any{"path": filepath.Join(art, "names-"+strings.ReplaceAll(view, " ", "-")+".png")})
			}
		}
		for _, lang := range []string{"en", "fi"} {
			ctx := "names-" + lang
			br.do(ctx, "goto", map[string]any{"url": h.base + "/"})
			br.do(ctx, "waitFor", map[string]any{"selector": "#login-form"})
			br.do(ctx, "select", map[string]any{"selector": "#login-lang", "value": lang})
			check(ctx, lang+" sign-in")
			br.signInAs(ctx, h.base, "root", uiRootPW)
			br.do(ctx, "click", map[string]any{"selector": `#f-view [data-view="all"]`})
			br.do(ctx, "select", map[string]any{"selector": "#f-status", "value": ""})
			br.do(ctx, "waitCount", map[string]any{"selector": "#conv-list .item", "count": 3})
			check(ctx, lang+" inbox list")
			br.do(ctx, "click", map[string]any{"selector": `#conv-list .item[data-id="` + h.miaSMS + `"]`})
			br.do(ctx, "waitFor", map[string]any{"selector": "#tl-entries .entry"})
			br.do(ctx, "waitFor", map[string]any{"selector": "#cust-ids li"})
			br.do(ctx, "waitFor", map[string]any{"selector": "#cust-consents li", "state": "attached"})
			br.do(ctx, "waitFor", map[string]any{"selector": "#conv-label-chips .label-remove"})
			br.do(ctx, "waitFor", map[string]any{"selector": "#macro-pick"})
			check(ctx, lang+" conversation and customer panel")
			br.do(ctx, "click", map[string]any{"selector": "#canned-open"})
			br.do(ctx, "waitFor", map[string]any{"selector": "#canned-dialog[open] #canned-shortcut"})
			check(ctx, lang+" canned replies dialog")
			br.do(ctx, "press", map[string]any{"key": "Escape"})
			br.do(ctx, "waitFor", map[string]any{"selector": "#canned-dialog", "state": "hidden"})
			br.do(ctx, "click", map[string]any{"selector": ".id-move"})
			br.do(ctx, "waitFor", map[string]any{"selector": "#cust-move-form"})
			check(ctx, lang+" moving an identity")
			br.do(ctx, "click", map[string]any{"selector": "#cust-move-cancel"})
			br.do(ctx, "fill", map[string]any{"selector": "#search-q", "value": "parcel"})
			br.do(ctx, "waitFor", map[string]any{"selector": "#search-results .search-hit"})
			check(ctx, lang+" search results")
			br.do(ctx, "press", map[string]any{"key": "Escape"})
			br.do(ctx, "viewport", map[string]any{"width": 360, "height": 740})
			br.do(ctx, "click", map[string]any{"selector": "#cust-open"})
			br.do(ctx, "waitFor", map[string]any{"selector": `#cust-pane[role="dialog"] #cust-name`})
			check(ctx, lang+" customer dialog on a phone")
			br.do(ctx, "press", map[string]any{"key": "Escape"})
			br.do(ctx, "viewport", map[string]any{"width": 1440, "height": 900})
			br.do(ctx, "goto", map[string]any{"url": h.base + "/admin"})
			br.do(ctx, "waitCount", map[string]any{"selector": "#admin-channels tr", "count": 4})
			br.do(ctx, "waitFor", map[string]any{"selector": "#admin-webhooks tr"})
			br.do(ctx, "click", map[string]any{"selector": "#admin-webhooks .wh-deliveries"})
			br.do(ctx, "waitFor", map[string]any{"selector": "#wh-deliveries-rows tr"})
			br.do(ctx, "waitFor", map[string]any{"selector": "#audit-rows tr"})
			check(ctx, lang+" admin")
			br.do(ctx, "goto", map[string]any{"url": h.base + "/admin/reports"})
			br.do(ctx, "waitFor", map[string]any{"selector": "#report tbody tr[data-key]"})
			check(ctx, lang+" reports")
			br.do(ctx, "goto", map[string]any{"url": h.base + "/admin/adoption"})
			br.do(ctx, "waitFor", map[string]any{"selector": "#potential table"})
			check(ctx, lang+" adoption")
		}
		if len(failures) > 0 {
			t.Errorf("%d views with unnamed controls or images:\n%s", len(failures), strings.Join(failures, "\n"))
		}
	})
}
