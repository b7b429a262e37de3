package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

func TestUIServedWithStrictCSP(t *testing.T) {
	e := newUIEnv(t, "")
	for _, p := range []string{"/", "/ui/app.js", "/ui/app.css", "/ui/favicon.svg"} {
		rec := e.do("GET", p, "", nil)
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d", p, rec.Code)
		}
		csp := rec.Header().Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows inline code: %q", p, csp)
		}
		if rec.Header().Get("X-Frame-Options") != "DENY" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", p, rec.Header())
		}
		etag := rec.Header().Get("ETag")
		if r2 := e.do("GET", p, "", nil, "If-None-Match", etag); etag == "" || r2.Code != 304 {
			t.Errorf("%s: revalidation with %q: %d", p, etag, r2.Code)
		}
	}
	if rec := e.do("GET", "/ui/nope.js", "", nil); rec.Code != 404 {
		t.Fatalf("missing asset: %d", rec.Code)
	}
}

// TestUISourceHasNoInlineCodeOrHTMLSinks keeps the UI's sources honest: no
// inline script or style, no event-handler attributes, and no HTML-parsing
// DOM sinks or data-driven URLs in the script (customer content is only
// ever text).
func TestUISourceHasNoInlineCodeOrHTMLSinks(t *testing.T) {
	visited := map[string]bool{}
	err := fs.WalkDir(os.DirFS("ui"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(filepath.Join("ui", p))
		if err != nil {
			return err
		}
		visited[p] = true
		for _, problem := range uiSourceProblems(p, string(b)) {
			t.Errorf("%s: %s", p, problem)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"index.html", "app.js", "app.css"} {
		if !visited[want] {
			t.Errorf("ui/%s was not checked (checked %v)", want, visited)
		}
	}
}

// TestUISourceCheckFindsSinks shows that the check above can fail: each
// snippet must be reported.
func TestUISourceCheckFindsSinks(t *testing.T) {
	for name, src := range map[string]string{
		"a.html": `<script>alert(1)</script><script src="/ui/app.js"></script>`,
		"b.html": `<script src="/ui/app.js"></script><div onclick = "x()">`,
		"c.html": `<script src="/ui/app.js"></script><p style="color:red">`,
	} {
		if len(uiSourceProblems(name, src)) == 0 {
			t.Errorf("%s: %q not reported", name, src)
		}
	}
	for _, src := range []string{
		"n.innerHTML = x", "n.outerHTML = x", "n.insertAdjacentHTML('beforeend', x)", "document.write(x)", "eval(x)",
		"new Function(x)", "f.srcdoc = x", "new DOMParser().parseFromString(x, 'text/html')", "range.createContextualFragment(x)",
		"n.setHTMLUnsafe(x)", "Document.parseHTMLUnsafe(x)", "a.href = e.url", "img.src = e.avatar_url", "a.setAttribute('href', u)",
		"el('a', { href: e.url })", "el('img', { src: c.customer.avatar_url })", "location.href = x", "location.assign(u)",
		"window.open(e.url)", "el('a', { href: 'javascript:void 0' })",
	} {
		if len(uiSourceProblems("app.js", src)) == 0 {
			t.Errorf("app.js: %q not reported", src)
		}
	}
	if p := uiSourceProblems("app.js", "el('iframe', { src: '/api/v1/entries/' + encodeURIComponent(e.id) + '/html' }); location.replace('/');"); len(p) != 0 {
		t.Errorf("a same-origin path reported: %q", p)
	}
}

// uiSourceProblems lists what breaks the UI's safety rules in one file.
func uiSourceProblems(name, src string) []string {
	var out []string
	switch filepath.Ext(name) {
	case ".html":
		// Only external scripts of the UI's own (the catalogues, i18n.js
		// then langs.js, before app.js; search.js, labels.js beside it),
		// never inline code.
		m := regexp.MustCompile(`<script(?:\s[^>]*)?>`).FindAllString(src, -1)
		at := func(name string) int {
			return slices.IndexFunc(m, func(tag string) bool { return strings.Contains(tag, `src="/ui/`+name+`"`) })
		}
		ok := at("i18n.js") == 0 && at("langs.js") == 1 && at("app.js") > 1
		for _, tag := range m {
			ok = ok && regexp.MustCompile(`^<script src="/ui/[a-z0-9]+\.js" defer>$`).MatchString(tag)
		}
		if !ok {
			out = append(out, fmt.Sprintf("scripts %q; want only <script src=/ui/NAME.js defer>, i18n.js and langs.js first, then app.js", m))
		}
		for _, bad := range []string{"<style", " style=", "javascript:"} {
			if strings.Contains(src, bad) {
				out = append(out, "contains "+bad)
			}
		}
		if m := regexp.MustCompile(`\son[a-z]+\s*=`).FindString(src); m != "" {
			out = append(out, fmt.Sprintf("event-handler attribute %q", m))
		}
	case ".js":
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
			"srcdoc", "DOMParser", "createContextualFragment", "setHTMLUnsafe", "parseHTMLUnsafe", "javascript:", "window.open",
			"location.assign", "location.href ="} {
			if strings.Contains(src, bad) {
				out = append(out, "uses "+bad)
			}
		}
		// URLs are never set from data: no .href/.src assignment or
		// setAttribute, and href/src attributes given to el() start with a
		// same-origin path literal.
		for _, re := range []string{`\.(href|src|action|formAction)\s*=[^=]`, `setAttribute\(\s*['"](href|src|action|formaction|srcdoc)['"]`} {
			if m := regexp.MustCompile(re).FindString(src); m != "" {
				out = append(out, fmt.Sprintf("sets a URL: %q", m))
			}
		}
		for _, m := range regexp.MustCompile(`\b(href|src|action)\s*:\s*([^,}]*)`).FindAllStringSubmatch(src, -1) {
			if !regexp.MustCompile(`^'/[a-z]`).MatchString(m[2]) {
				out = append(out, fmt.Sprintf("%s from something else than a same-origin path literal: %q", m[1], m[0]))
			}
		}
	}
	return out
}

func TestEntryHTMLIsSanitisedAndSandboxed(t *testing.T) {
	e := newUIEnv(t, "")
	conv := e.conversation()
	ctx := context.Background()
	hostile := `<p onclick="steal()">Hi <b>there</b></p><script>alert(1)</script><img src="http://127.0.0.1:9/pixel.png" onerror="alert(2)">` +
		`<a href="javascript:alert(3)">x</a><iframe src="http://evil.example/"></iframe><form action="http://evil.example/"><input></form><a href="https://example.com/ok">link</a>`
	_, _, err := e.st.AppendEntry(ctx, store.Entry{ID: "m1", CustomerID: conv.CustomerID, ConversationID: conv.ID, Channel: "crm",
		Direction: connectors.Inbound, Kind: store.KindMessage, Text: "Hi there", HTML: hostile, OccurredAt: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := e.login("alice", alicePW)
	rec := e.do("GET", "/api/v1/entries/m1/html", "", s.cookie)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET html: %d %v", rec.Code, rec.Header())
	}
	body := rec.Body.String()
	for _, bad := range []string{"<script", "alert(", "onerror", "onclick", "127.0.0.1", "javascript:", "<iframe", "<form", "evil.example"} {
		if strings.Contains(body, bad) {
			t.Errorf("served HTML contains %q:\n%s", bad, body)
		}
	}
	for _, good := range []string{"<b>there</b>", `href="https://example.com/ok"`, `rel="nofollow noreferrer noopener"`, `target="_blank"`} {
		if !strings.Contains(body, good) {
			t.Errorf("served HTML lacks %q:\n%s", good, body)
		}
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "img-src data:", "sandbox", "form-action 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "allow-scripts") || strings.Contains(csp, "allow-same-origin") || strings.Contains(csp, "allow-top-navigation") {
		t.Errorf("CSP sandbox too loose: %q", csp)
	}
	// Without HTML, or out of the caller's audience: not found.
	if _, _, err := e.st.AppendEntry(ctx, store.Entry{ID: "m2", CustomerID: conv.CustomerID, ConversationID: conv.ID, Channel: "crm", Direction: connectors.Inbound, Kind: store.KindMessage, Text: "plain", OccurredAt: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if rec := e.do("GET", "/api/v1/entries/m2/html", "", s.cookie); rec.Code != 404 {
		t.Fatalf("entry without HTML: %d", rec.Code)
	}
	// The HTML follows the timeline's rule: an entry the customer's timeline
	// shows an agent (a shadow conversation's, too: shadow messages are put
	// on timelines) has its HTML served to that agent, not a 404 in the frame.
	if _, err := e.st.UpdateConversation(ctx, conv.ID, func(c *store.Conversation) error { c.Audience = store.AudienceShadow; return nil }); err != nil {
		t.Fatal(err)
	}
	rec = e.do("GET", "/api/v1/customers/"+conv.CustomerID+"/timeline", "", s.cookie)
	var tl struct {
		Entries []store.Entry `json:"entries"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &tl) != nil || len(tl.Entries) != 2 {
		t.Fatalf("timeline: %d %s", rec.Code, rec.Body)
	}
	checked := 0
	for _, en := range tl.Entries {
		if en.HTML == "" {
			continue
		}
		checked++
		if rec := e.do("GET", "/api/v1/entries/"+en.ID+"/html", "", s.cookie); rec.Code != 200 {
			t.Fatalf("HTML of timeline entry %s (shadow conversation) for an agent: %d %s", en.ID, rec.Code, rec.Body)
		}
	}
	if checked == 0 {
		t.Fatalf("no timeline entry has HTML, so none was checked: %+v", tl.Entries)
	}
	if rec := e.do("GET", "/api/v1/entries/m1/html", "", nil); rec.Code != 401 {
		t.Fatalf("without a session: %d", rec.Code)
	}
}

func TestEntryHTMLLinksAndImages(t *testing.T) {
	out := inbox.SanitizeForDisplay(`<a href="/api/v1/session">relative</a><a href="../admin">up</a><a href="https://example.com/x">abs</a>` +
		`<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline"><img src="https://tracker.example/p.gif"><img src="/ui/app.css">`)
	for _, bad := range []string{"/api/v1/session", "../admin", "tracker.example", "/ui/app.css"} {
		if strings.Contains(out, bad) {
			t.Errorf("sanitised HTML keeps %q:\n%s", bad, out)
		}
	}
	for _, good := range []string{`<a href="https://example.com/x" rel="nofollow noreferrer noopener" target="_blank">abs</a>`, `src="data:image/png;base64,iVBORw0KGgo="`} {
		if !strings.Contains(out, good) {
			t.Errorf("sanitised HTML lacks %q:\n%s", good, out)
		}
	}
}

func TestPresenceIsPublished(t *testing.T) {
	e := newUIEnv(t, "")
	conv := e.conversation()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := e.st.Subscribe(ctx, timeline.EventsTopic)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := e.login("alice", alicePW)
	path := "/api/v1/conversations/" + conv.ID + "/presence"
	if rec := e.do("POST", path, `{"state":"typing"}`, s.cookie); rec.Code != 403 {
		t.Fatalf("presence without CSRF token: %d", rec.Code)
	}
	if rec := e.do("POST", path, `{"state":"dancing"}`, s.cookie, inbox.CSRFHeader, s.csrf); rec.Code != 422 {
		t.Fatalf("bad state: %d", rec.Code)
	}
	if rec := e.do("POST", "/api/v1/conversations/nope/presence", `{"state":"viewing"}`, s.cookie, inbox.CSRFHeader, s.csrf); rec.Code != 404 {
		t.Fatalf("unknown conversation: %d", rec.Code)
	}
	if rec := e.do("POST", path, `{"state":"typing"}`, s.cookie, inbox.CSRFHeader, s.csrf); rec.Code != 204 {
		t.Fatalf("presence: %d %s", rec.Code, rec.Body)
	}
	select {
	case b := <-sub:
		var ev timeline.Event
		json.Unmarshal(b, &ev)
		if ev.Type != timeline.EventPresence || ev.Agent != "alice" || ev.Status != "typing" || ev.ConversationID != conv.ID {
			t.Fatalf("event = %+v", ev)
		}
	case <-ctx.Done():
		t.Fatal("no presence event")
	}
}

func TestInboxListCarriesCustomers(t *testing.T) {
	e := newUIEnv(t, "")
	conv := e.conversation()
	s, _ := e.login("alice", alicePW)
	rec := e.do("GET", "/api/v1/inbox?status=open&assignee=-", "", s.cookie)
	var out struct {
		Conversations []inbox.InboxItem `json:"conversations"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || len(out.Conversations) != 1 {
		t.Fatalf("inbox: %d %s", rec.Code, rec.Body)
	}
	it := out.Conversations[0]
	if it.ID != conv.ID || it.Customer.Name != "Mia <b>Example</b>" || it.ChannelType != "api" || it.Preview != "hello" {
		t.Fatalf("item = %+v", it)
	}
	if rec := e.do("GET", "/api/v1/inbox?assignee=me", "", s.cookie); !strings.Contains(rec.Body.String(), `"conversations":[]`) {
		t.Fatalf("mine: %s", rec.Body)
	}
}
