package webform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/connectors/connectortest"
	"github.com/switchboard-hub/switchboard/connectors/webform"
	"github.com/switchboard-hub/switchboard/store"
)

const xss = `<script>alert(1)</script><img src=x onerror="alert(2)">`

func TestJSONSubmissionReachesTimelineWithConfiguredFieldsOnly(t *testing.T) {
	h := newHub(t, "")
	w := h.postJSON(map[string]any{
		"_token": h.freshToken(), "name": "Mia " + xss, "email": "Mia@Example.com", "topic": "Billing",
		"message": "Hello\r\nmy invoice " + xss, "newsletter": true,
		"credit_card": "4111 1111 1111 1111", "utm_source": "ads", // not configured: never stored
	}, "Origin", "https://www.example.com")
	if w.Code != 200 {
		t.Fatalf("submit: %d %s", w.Code, w.Body)
	}
	resp := decode(t, w)
	if resp["status"] != "received" || resp["id"] == "" {
		t.Fatalf("response = %v", resp)
	}
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "https://www.example.com" {
		t.Fatalf("Access-Control-Allow-Origin = %q", got)
	}
	h.drain()
	cid, ok := h.customer("email:mia@example.com")
	if !ok {
		t.Fatal("no customer for the form's email")
	}
	es := h.entries(cid)
	if len(es) != 1 {
		t.Fatalf("%d entries, want 1", len(es))
	}
	e := es[0]
	if e.ID != resp["id"] || e.Channel != "contact" || e.Text != "Hello\nmy invoice "+xss || e.SenderName != "Mia "+xss {
		t.Fatalf("entry = %+v", e)
	}
	// The configured fields, in configured order, markup kept as text.
	want := []connectors.Field{{Name: "name", Value: "Mia " + xss}, {Name: "email", Value: "Mia@Example.com"}, {Name: "topic", Value: "Billing"},
		{Name: "message", Value: "Hello\nmy invoice " + xss}, {Name: "newsletter", Value: "yes"}}
	if fmt.Sprint(e.Fields) != fmt.Sprint(want) {
		t.Fatalf("fields = %q\nwant     %q", e.Fields, want)
	}
	raw, _ := json.Marshal(es)
	for _, secret := range []string{"4111", "credit_card", "utm_source", "ads"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("an unconfigured field reached the timeline: %s", raw)
		}
	}
	if n := h.stats()[webform.CountUnknownFields]; n != 2 {
		t.Fatalf("unknown fields counted %d, want 2", n)
	}
	// The email is claimed, not verified, and the consent was recorded.
	c, _ := h.st.GetCustomer(context.Background(), cid)
	if len(c.Identities) != 1 || c.Identities[0].Verified {
		t.Fatalf("identities = %+v, want one claimed email", c.Identities)
	}
	cs, _ := h.st.ListConsents(context.Background(), cid)
	if len(cs) != 1 || cs[0].Purpose != "marketing" || !cs[0].Granted || cs[0].Text != "Send me the monthly newsletter" || cs[0].Version != "2026-01" || cs[0].Source != "web_form" || cs[0].Channel != "*" || cs[0].MessageID != e.ID || cs[0].At.IsZero() {
		t.Fatalf("consents = %+v", cs)
	}
}

func TestPlainHTMLFormIsRedirectedAndEachSubmissionIsItsOwnConversation(t *testing.T) {
	h := newHub(t, "")
	for i, text := range []string{"first question", "second question"} {
		w := h.postForm(url.Values{"_token": {h.freshToken()}, "phone": {"040 123 4567"}, "topic": {"Support"}, "message": {text}},
			"Accept", "text/html,application/xhtml+xml")
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "https://www.example.com/thanks" {
			t.Fatalf("submission %d: %d Location=%q", i, w.Code, w.Header().Get("Location"))
		}
	}
	// A form may continue a conversation by passing a thread key.
	for _, text := range []string{"order 17: hello", "order 17: again"} {
		w := h.postForm(url.Values{"_token": {h.freshToken()}, "phone": {"+358 40 123 4567"}, "topic": {"Support"}, "message": {text}, "_thread": {"order-17"}},
			"Accept", "application/json")
		if w.Code != 200 {
			t.Fatalf("threaded submission: %d %s", w.Code, w.Body)
		}
	}
	h.drain()
	cid, ok := h.customer("phone:+358401234567")
	if !ok {
		t.Fatal("no customer for the phone number")
	}
	es := h.entries(cid)
	if len(es) != 4 {
		t.Fatalf("%d entries, want 4", len(es))
	}
	if es[0].ConversationID == es[1].ConversationID {
		t.Fatal("two separate submissions share a conversation")
	}
	if es[2].ConversationID != es[3].ConversationID || es[2].ConversationID == es[1].ConversationID {
		t.Fatalf("thread key not honoured: %s %s", es[2].ConversationID, es[3].ConversationID)
	}
	// No consent: the box was not ticked (and that is not a revocation).
	if cs, _ := h.st.ListConsents(context.Background(), cid); len(cs) != 0 {
		t.Fatalf("consents = %+v", cs)
	}
}

func TestResubmittingATokenMakesNoSecondEntry(t *testing.T) {
	h := newHub(t, "")
	tok := h.freshToken()
	body := map[string]any{"_token": tok, "email": "dup@example.com", "topic": "Support", "message": "once"}
	a, b := decode(t, h.postJSON(body)), decode(t, h.postJSON(body))
	if a["id"] == nil || a["id"] != b["id"] {
		t.Fatalf("ids differ: %v %v", a, b)
	}
	h.drain()
	cid, _ := h.customer("email:dup@example.com")
	if n := len(h.entries(cid)); n != 1 {
		t.Fatalf("%d entries for one token", n)
	}
}

func TestForgedExpiredAndMissingTokensAreRefused(t *testing.T) {
	h := newHub(t, "")
	good := h.freshToken()
	parts := strings.Split(good, ".")
	other := newHub(t, "{secret: another-secret-of-enough-length}")
	cases := []struct {
		name, token, code string
		wait              time.Duration
	}{
		{"missing", "", "token_invalid", 0},
		{"garbage", "not-a-token", "token_invalid", 0},
		{"tampered time", "v1." + fmt.Sprint(time.Now().Add(-time.Hour).UnixMilli()) + "." + parts[2] + "." + parts[3], "token_invalid", 0},
		{"tampered nonce", "v1." + parts[1] + ".AAAAAAAAAAAAAAAAAAAAAA." + parts[3], "token_invalid", 0},
		{"another hub's secret", other.freshToken(), "token_invalid", 0},
		{"expired", good, "token_expired", 2*time.Hour + time.Minute},
	}
	for i, tc := range cases {
		h.clock.Add(tc.wait)
		w := h.postJSON(map[string]any{"_token": tc.token, "email": fmt.Sprintf("t%d@example.com", i), "topic": "Support", "message": "hi"})
		m := decode(t, w)
		if w.Code != http.StatusForbidden || m["error"] != tc.code || m["message"] == "" {
			t.Errorf("%s: %d %v, want 403 %s", tc.name, w.Code, m, tc.code)
		}
	}
	if n := h.queued(); n != 0 {
		t.Fatalf("%d messages queued from refused tokens", n)
	}
	if n := len(h.quarantine()); n != 0 {
		t.Fatalf("%d refused submissions quarantined", n)
	}
	if n := h.stats()[webform.CountRefused]; n != int64(len(cases)) {
		t.Fatalf("refused counted %d, want %d", n, len(cases))
	}
}

func TestTokenFreeFormsWhenAllowed(t *testing.T) {
	h := newHub(t, "{require_token: false}")
	w := h.postForm(url.Values{"email": {"plain@example.com"}, "topic": {"Support"}, "message": {"no JS here"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("token-free submission: %d %s", w.Code, w.Body)
	}
	// A token that is present is still checked.
	w = h.postForm(url.Values{"_token": {"forged"}, "email": {"forged@example.com"}, "topic": {"Support"}, "message": {"x"}})
	if w.Code != http.StatusForbidden {
		t.Fatalf("forged token with require_token false: %d", w.Code)
	}
	h.drain()
	if _, ok := h.customer("email:plain@example.com"); !ok {
		t.Fatal("token-free submission not on a timeline")
	}
	if _, ok := h.customer("email:forged@example.com"); ok {
		t.Fatal("forged submission stored")
	}
}

func TestBotsGetASuccessButOnlyTheQuarantineSeesThem(t *testing.T) {
	h := newHub(t, "")
	human := h.postJSON(map[string]any{"_token": h.freshToken(), "email": "human@example.com", "topic": "Support", "message": "hi"})
	honeypot := h.postJSON(map[string]any{"_token": h.freshToken(), "email": "bot1@example.com", "topic": "Support", "message": "cheap pills", "website": "http://spam.example"})
	fast := h.postJSON(map[string]any{"_token": h.token(), "email": "bot2@example.com", "topic": "Support", "message": "instant"})
	// A plain HTML bot gets the same redirect a person gets.
	htmlBot := h.postForm(url.Values{"_token": {h.freshToken()}, "email": {"bot3@example.com"}, "topic": {"Support"}, "message": {"x"}, "website": {"y"}})
	if htmlBot.Code != http.StatusSeeOther || htmlBot.Header().Get("Location") != "https://www.example.com/thanks" {
		t.Fatalf("HTML bot: %d", htmlBot.Code)
	}
	for name, w := range map[string]*httptest.ResponseRecorder{"honeypot": honeypot, "too fast": fast} {
		m := decode(t, w)
		if w.Code != human.Code || m["status"] != "received" || !strings.HasPrefix(fmt.Sprint(m["id"]), "m_") || len(m) != 2 {
			t.Fatalf("%s: %d %v; a person got %d %s", name, w.Code, m, human.Code, human.Body)
		}
	}
	h.drain()
	for _, bot := range []string{"email:bot1@example.com", "email:bot2@example.com", "email:bot3@example.com"} {
		if _, ok := h.customer(bot); ok {
			t.Fatalf("%s reached a timeline", bot)
		}
	}
	qs := h.quarantine()
	reasons := map[string]string{}
	for _, q := range qs {
		var m connectors.Message
		if err := json.Unmarshal(q.Payload, &m); err != nil {
			t.Fatal(err)
		}
		reasons[m.Identities[0].Value] = q.Reason
	}
	if len(qs) != 3 || reasons["bot1@example.com"] != webform.ReasonHoneypot || reasons["bot2@example.com"] != webform.ReasonTooFast || reasons["bot3@example.com"] != webform.ReasonHoneypot {
		t.Fatalf("quarantine reasons = %v", reasons)
	}
	if n := h.stats()[webform.CountSpam]; n != 3 {
		t.Fatalf("spam counted %d, want 3", n)
	}
	// An admin releases a false positive: it reaches a timeline (what
	// POST /api/v1/quarantine/{id}/release does; the e2e test goes through it).
	var fastItem store.QuarantineItem
	for _, q := range qs {
		if q.Reason == webform.ReasonTooFast {
			fastItem = q
		}
	}
	q, err := h.st.TakeQuarantine(context.Background(), fastItem.ID)
	if err != nil {
		t.Fatal(err)
	}
	var m connectors.Message
	json.Unmarshal(q.Payload, &m)
	id, err := h.in.Deliver(context.Background(), m)
	if err != nil || id != decode(t, fast)["id"] {
		t.Fatalf("release: %q %v", id, err)
	}
	h.drain()
	cid, ok := h.customer("email:bot2@example.com")
	if !ok || len(h.entries(cid)) != 1 || h.entries(cid)[0].Text != "instant" {
		t.Fatal("released submission not on a timeline")
	}
}

func TestRateLimits(t *testing.T) {
	h := newHub(t, "{rate_limit: {per_ip: 3, per_channel: 5, window: 1m}}")
	// Tokens issued up front, so no time passes between the submissions.
	var toks []string
	for i := 0; i < 8; i++ {
		toks = append(toks, h.token())
	}
	h.clock.Add(5 * time.Second)
	send := func() *httptest.ResponseRecorder {
		tok := toks[0]
		toks = toks[1:]
		return h.postJSON(map[string]any{"_token": tok, "email": "rl@example.com", "topic": "Support", "message": "hi"})
	}
	for i := 0; i < 3; i++ {
		if w := send(); w.Code != 200 {
			t.Fatalf("submission %d: %d", i+1, w.Code)
		}
	}
	w := send()
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || decode(t, w)["error"] != "rate_limited" {
		t.Fatalf("4th submission from one IP: %d Retry-After=%q", w.Code, w.Header().Get("Retry-After"))
	}
	// Another client is not held back by the first one's limit...
	h.remote = "203.0.113.9:5555"
	if w := send(); w.Code != 200 {
		t.Fatalf("another IP: %d", w.Code)
	}
	// ...but the whole channel is capped too (5 per window here).
	h.remote = "[2001:db8::1]:5555"
	if w := send(); w.Code != 200 {
		t.Fatalf("IPv6 client: %d", w.Code)
	}
	h.remote = "[2001:db8::2]:5555" // same /64: the same client
	if w := send(); w.Code != http.StatusTooManyRequests {
		t.Fatalf("6th submission to the channel: %d", w.Code)
	}
	// After the window the first client may send again.
	h.clock.Add(time.Minute)
	h.remote = "198.51.100.7:40000"
	if w := send(); w.Code != 200 {
		t.Fatalf("after the window: %d %s", w.Code, w.Body)
	}
	if n := h.stats()[webform.CountRateLimited]; n != 2 {
		t.Fatalf("rate limited counted %d, want 2", n)
	}
}

func TestCORS(t *testing.T) {
	h := newHub(t, "")
	pre := func(origin string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("OPTIONS", "/forms/contact", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "POST")
		r.Header.Set("Access-Control-Request-Headers", "content-type")
		return h.do(r)
	}
	w := pre("https://www.example.com")
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "https://www.example.com" ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Content-Type") || w.Header().Get("Vary") != "Origin" {
		t.Fatalf("allowed preflight: %d %v", w.Code, w.Header())
	}
	for _, o := range []string{"https://evil.example", "https://www.example.com.evil.example", "http://www.example.com", "null"} {
		w := pre(o)
		if w.Code != 403 || w.Header().Get("Access-Control-Allow-Origin") != "" || w.Header().Get("Vary") != "Origin" {
			t.Fatalf("preflight from %s: %d %v", o, w.Code, w.Header())
		}
		// A simple (non-preflighted) form POST from that origin stores nothing.
		w = h.postForm(url.Values{"_token": {h.freshToken()}, "email": {"cors@example.com"}, "topic": {"Support"}, "message": {"x"}}, "Origin", o)
		if w.Code != 403 || w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("POST from %s: %d", o, w.Code)
		}
		r := httptest.NewRequest("GET", "/forms/contact/token", nil)
		r.Header.Set("Origin", o)
		if w := h.do(r); w.Code != 403 {
			t.Fatalf("token for %s: %d", o, w.Code)
		}
	}
	// The hub's own pages (its public URL) may use the form.
	w = h.postJSON(map[string]any{"_token": h.freshToken(), "email": "self@example.com", "topic": "Support", "message": "x"}, "Origin", "https://hub.example.net")
	if w.Code != 200 {
		t.Fatalf("own origin: %d", w.Code)
	}
	if n := h.queued(); n != 1 {
		t.Fatalf("%d queued, want only the own-origin one", n)
	}
}

func TestBodyLimit(t *testing.T) {
	h := newHub(t, "{max_body_bytes: 4096}")
	big := strings.Repeat("a", 10000)
	// Declared too large: refused before a byte is read.
	w := h.postJSON(map[string]any{"_token": h.freshToken(), "email": "big@example.com", "topic": "Support", "message": big})
	if w.Code != http.StatusRequestEntityTooLarge || decode(t, w)["error"] != "too_large" {
		t.Fatalf("large body: %d %s", w.Code, w.Body)
	}
	// Streamed without a length: refused when the cap is crossed.
	for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
		body := `{"message":"` + big + `"}`
		if ct != "application/json" {
			body = "message=" + big
		}
		r := httptest.NewRequest("POST", "/forms/contact", struct{ io.Reader }{strings.NewReader(body)})
		r.ContentLength = -1
		r.Header.Set("Content-Type", ct)
		r.Header.Set("Accept", "application/json")
		if w := h.do(r); w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("chunked %s: %d %s", ct, w.Code, w.Body)
		}
	}
	if h.queued() != 0 {
		t.Fatal("an oversized body was stored")
	}
}

func TestUploads(t *testing.T) {
	h := newHub(t, "")
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 100)...)
	fields := func(tok string) []part {
		return []part{{name: "_token", data: []byte(tok)}, {name: "email", data: []byte("files@example.com")}, {name: "topic", data: []byte("Support")},
			{name: "message", data: []byte("see attached")}, {name: "unknown", data: []byte("dropped")}}
	}
	w := h.postMultipart(append(fields(h.freshToken()),
		part{name: "attachment", filename: `C:\Users\mia\shot.png`, contentType: "image/png", data: png},
		part{name: "attachment", filename: "notes.txt", data: []byte("plain notes")},
		part{name: "elsewhere", filename: "x.png", contentType: "image/png", data: png}), "Accept", "application/json")
	if w.Code != 200 {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	h.drain()
	cid, _ := h.customer("email:files@example.com")
	es := h.entries(cid)
	if len(es) != 1 || len(es[0].Attachments) != 2 {
		t.Fatalf("entries = %+v", es)
	}
	a, b := es[0].Attachments[0], es[0].Attachments[1]
	if a.Name != "shot.png" || a.ContentType != "image/png" || a.Size != int64(len(png)) || b.Name != "notes.txt" || b.ContentType != "text/plain" {
		t.Fatalf("attachments = %+v", es[0].Attachments)
	}
	rc, err := h.blobs.Get(context.Background(), a.SHA256)
	if got := readAll(t, rc, err); got != string(png) {
		t.Fatal("stored upload differs from what was sent")
	}
	if f := es[0].Fields; f[len(f)-1] != (connectors.Field{Name: "attachment", Value: "shot.png, notes.txt"}) {
		t.Fatalf("fields = %+v", f)
	}
	if n := h.stats()[webform.CountUnknownFields]; n != 2 {
		t.Fatalf("unknown fields counted %d, want 2 (a value and a file)", n)
	}
	cases := []struct {
		name  string
		files []part
		want  int
	}{
		{"file over max_file_bytes", []part{{name: "attachment", filename: "big.txt", contentType: "text/plain", data: bytes.Repeat([]byte("a"), 1025)}}, 413},
		{"files over max_total_bytes", []part{{name: "attachment", filename: "a.txt", contentType: "text/plain", data: bytes.Repeat([]byte("a"), 1000)},
			{name: "attachment", filename: "b.txt", contentType: "text/plain", data: bytes.Repeat([]byte("b"), 1000)}}, 413},
		{"type not allowed", []part{{name: "attachment", filename: "x.pdf", contentType: "application/pdf", data: []byte("%PDF-1.4")}}, 415},
		{"HTML posing as an image", []part{{name: "attachment", filename: "x.png", contentType: "image/png", data: []byte("<html><script>alert(1)</script>")}}, 415},
	}
	for i, tc := range cases {
		ps := fields(h.freshToken())
		ps[1].data = []byte(fmt.Sprintf("bad%d@example.com", i))
		w := h.postMultipart(append(ps, tc.files...), "Accept", "application/json")
		if w.Code != tc.want || decode(t, w)["message"] == "" {
			t.Errorf("%s: %d %s, want %d", tc.name, w.Code, w.Body, tc.want)
		}
	}
	if h.queued() != 0 {
		t.Fatal("a refused upload was stored")
	}
}

func TestInvalidFieldsAreRefusedWithReasons(t *testing.T) {
	h := newHub(t, "")
	ok := map[string]any{"email": "ok@example.com", "topic": "Support", "message": "hi"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range ok {
			m[a] = b
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"required missing", with("message", nil), "message"},
		{"required blank", with("message", "   "), "message"},
		{"bad email", with("email", "not-an-email"), "email"},
		{"header injection in email", with("email", "a@example.com\r\nBcc: x@example.com"), "email"},
		{"bad phone", with("phone", "call me maybe"), "phone"},
		{"too long", with("name", strings.Repeat("é", 81)), "name"},
		{"not an option", with("topic", "Refunds"), "topic"},
		{"object value", with("message", map[string]any{"a": 1}), "message"},
		{"control characters", with("name", "a\x00b"), "name"},
		{"checkbox nonsense", with("newsletter", "maybe"), "newsletter"},
		{"no way to answer", with("email", nil), "email"},
	}
	for _, tc := range cases {
		tc.body["_token"] = h.freshToken()
		w := h.postJSON(tc.body)
		m := decode(t, w)
		fields, _ := m["fields"].(map[string]any)
		if w.Code != 422 || m["message"] == "" || fields[tc.field] == nil {
			t.Errorf("%s: %d %v, want 422 naming %s", tc.name, w.Code, m, tc.field)
		}
	}
	for _, tc := range []struct{ name, ct, body string }{
		{"malformed JSON", "application/json", `{"email": `},
		{"two JSON values", "application/json", `{} {}`},
		{"bad URL encoding", "application/x-www-form-urlencoded", "email=%zz"},
	} {
		r := httptest.NewRequest("POST", "/forms/contact", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", tc.ct)
		r.Header.Set("Accept", "application/json")
		if w := h.do(r); w.Code != 400 || decode(t, w)["message"] == "" {
			t.Errorf("%s: %d %s", tc.name, w.Code, w.Body)
		}
	}
	r := httptest.NewRequest("POST", "/forms/contact", strings.NewReader("email=x"))
	r.Header.Set("Content-Type", "text/plain")
	if w := h.do(r); w.Code != 415 || !strings.Contains(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(w.Body.String(), "multipart/form-data") {
		t.Errorf("text/plain body: %d %s", w.Code, w.Body)
	}
	if h.queued() != 0 {
		t.Fatal("invalid input was stored")
	}
}

func TestHTMLErrorPageEscapes(t *testing.T) {
	h := newHub(t, "")
	w := h.postForm(url.Values{"_token": {h.freshToken()}, "email": {"x"}}, "Origin", `https://"><script>alert(1)</script>`)
	if w.Code != 403 || strings.Contains(w.Body.String(), "<script>") || !strings.Contains(w.Body.String(), "&lt;script&gt;") {
		t.Fatalf("error page: %d %s", w.Code, w.Body)
	}
}

func TestClaimedEmailOfAVerifiedCustomerMakesANewCustomerAndASuggestion(t *testing.T) {
	h := newHub(t, "")
	ctx := context.Background()
	// Mia is known through a trusted channel: her email is verified.
	if _, err := h.in.Deliver(ctx, connectors.Message{Channel: "crm", ProviderID: "crm-1", Text: "account created",
		Identities: []connectors.Identity{{Type: "email", Value: "mia@example.com"}}}); err != nil {
		t.Fatal(err)
	}
	h.drain()
	mia, _ := h.customer("email:mia@example.com")
	w := h.postJSON(map[string]any{"_token": h.freshToken(), "email": "MIA@example.com", "topic": "Billing", "message": "send me Mia's invoices"})
	if w.Code != 200 {
		t.Fatalf("submit: %d", w.Code)
	}
	h.drain()
	if n := len(h.entries(mia)); n != 1 {
		t.Fatalf("the form's message reached Mia's timeline (%d entries)", n)
	}
	claimer, err := h.st.LookupClaim(ctx, "email", "mia@example.com")
	if err != nil || claimer.CustomerID == mia {
		t.Fatalf("claim = %+v %v", claimer, err)
	}
	if es := h.entries(claimer.CustomerID); len(es) != 1 || es[0].Text != "send me Mia's invoices" {
		t.Fatalf("claimer's timeline = %+v", es)
	}
	sugg, _ := h.st.ListSuggestions(ctx, 10)
	if len(sugg) != 1 || sugg[0].Winner != mia || sugg[0].Loser != claimer.CustomerID {
		t.Fatalf("suggestions = %+v", sugg)
	}
}

func TestEmbedScript(t *testing.T) {
	h := newHub(t, `{consent: null, fields: [{name: email, type: email, label: "E-mail </script><img src=x onerror=alert(1)>"}, {name: message, type: textarea}]}`)
	w := h.do(httptest.NewRequest("GET", "/forms/contact/embed.js", nil))
	js := w.Body.String()
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
		t.Fatalf("embed.js: %d %v", w.Code, w.Header())
	}
	literal := js[strings.LastIndex(js, "})(")+3:] // the form definition handed to the script
	if strings.ContainsAny(literal, "<>") || !strings.Contains(literal, `\u003c/script\u003e\u003cimg src=x`) {
		t.Fatal("configured label is not escaped in the script")
	}
	if strings.Contains(js, "innerHTML") || strings.Contains(js, "insertAdjacentHTML") || strings.Contains(js, "document.write") || strings.Contains(js, secret) {
		t.Fatal("embed.js uses an HTML sink or holds the secret")
	}
	if !strings.Contains(js, `"honeypot":"website"`) || !strings.Contains(js, `"name":"message","type":"textarea"`) {
		t.Fatalf("form definition missing from embed.js")
	}
}

func TestConfigErrors(t *testing.T) {
	bad := "x-short"
	cases := []struct{ name, extra, want string }{
		{"no fields", "{fields: []}", "fields: at least one field"},
		{"no contact field", "{fields: [{name: message, type: textarea}], consent: null}", "an email or a phone field is required"},
		{"bad type", "{fields: [email, {name: age, type: number}]}", "fields[1].type"},
		{"duplicate", "{fields: [email, email]}", "defined twice"},
		{"reserved name", "{fields: [email, {name: _token}]}", "fields[1].name"},
		{"select without options", "{fields: [email, {name: t, type: select}]}", "fields[1].options"},
		{"honeypot collides", "{honeypot: email}", "honeypot"},
		{"consent not a checkbox", "{consent: {field: email, purpose: p, text: t}}", "consent.field"},
		{"consent without text", "{consent: {field: newsletter, purpose: p}}", "consent.text"},
		{"wildcard origin", "{allowed_origins: ['*']}", "allowed_origins[0]"},
		{"origin with path", "{allowed_origins: ['https://a.example/form']}", "allowed_origins[0]"},
		{"no secret", "{secret: null}", "secret"},
		{"short secret", "{secret: " + bad + "}", "at least 16 bytes"},
		{"secret file missing", "{secret: null, secret_file: /nonexistent/secret}", "secret_file"},
		{"thank you not absolute", "{thank_you_url: /thanks}", "thank_you_url"},
		{"unknown key", "{colour: red}", `"colour"`},
		{"ttl shorter than fill time", "{token_ttl: 1s}", "token_ttl"},
		{"bad upload type", "{uploads: {allowed_types: [png]}}", "allowed_types[0]"},
		{"text_field names nothing", "{text_field: body}", "text_field"},
	}
	for _, tc := range cases {
		cfg := config.Channel{Name: "contact", Type: "webform", Webform: settings(t, tc.extra)}
		_, err := webform.New(cfg, connectors.Env{Name: "contact", Sink: &connectortest.Sink{}, Counters: nopCounters{}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), "channels[contact].webform") {
			t.Errorf("%s: err %q does not name the section", tc.name, err)
		}
		for _, s := range []string{secret, bad} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: error holds the secret: %v", tc.name, err)
			}
		}
	}
	// The short-hand of config/testdata (fields: [email, message]) is valid.
	cfg := config.Channel{Name: "form", Type: "webform", Webform: map[string]any{"fields": []any{"email", "message"}, "secret": secret}}
	ch, err := webform.New(cfg, connectors.Env{Name: "form", Sink: &connectortest.Sink{}, Counters: nopCounters{}})
	if err != nil {
		t.Fatal(err)
	}
	if s := ch.Settings(); s.Fields[0].Type != "email" || s.Fields[1].Type != "textarea" || s.TextField != "message" || s.Secret != "" {
		t.Fatalf("settings = %+v", s)
	}
}

// nopCounters counts nothing.
type nopCounters struct{}

func (nopCounters) Incr(context.Context, string, int64) (int64, error) { return 0, nil }
func (nopCounters) GetCounters(context.Context, string) (map[string]int64, error) {
	return map[string]int64{}, nil
}

// countingReader counts the bytes a handler read from a request body.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}

// Only multipart may carry the upload allowance: with a file field,
// URL-encoded and JSON bodies get the plain 1 MiB limit (413 beyond it,
// before the body is read whole), while a multipart upload of the same
// size passes.
func TestUploadAllowanceOnlyForMultipart(t *testing.T) {
	h := newHub(t, "{uploads: {max_file_bytes: 3145728, max_total_bytes: 3145728, allowed_types: [text/plain]}}")
	big := strings.Repeat("a", 2<<20) // over the plain 1 MiB, within 1 MiB + 3 MiB
	bodies := map[string]string{
		"application/json":                  `{"message":"` + big + `"}`,
		"application/x-www-form-urlencoded": "message=" + big,
	}
	for ct, body := range bodies {
		// Declared too large: refused before a byte is read.
		cr := &countingReader{r: strings.NewReader(body)}
		r := httptest.NewRequest("POST", "/forms/contact", cr)
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Type", ct)
		r.Header.Set("Accept", "application/json")
		w := h.do(r)
		if w.Code != http.StatusRequestEntityTooLarge || decode(t, w)["error"] != "too_large" {
			t.Fatalf("declared %s of %d bytes: %d %s", ct, len(body), w.Code, w.Body)
		}
		if cr.n != 0 {
			t.Fatalf("declared %s: %d bytes read before the refusal", ct, cr.n)
		}
		// Streamed without a length: refused once the plain limit is crossed,
		// not after the upload allowance.
		cr = &countingReader{r: strings.NewReader(body)}
		r = httptest.NewRequest("POST", "/forms/contact", struct{ io.Reader }{cr})
		r.ContentLength = -1
		r.Header.Set("Content-Type", ct)
		r.Header.Set("Accept", "application/json")
		w = h.do(r)
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("streamed %s: %d %s", ct, w.Code, w.Body)
		}
		if cr.n > 1<<20+64<<10 {
			t.Fatalf("streamed %s: %d bytes read, more than the plain limit", ct, cr.n)
		}
	}
	// The same size as a file in a multipart body is within the allowance.
	w := h.postMultipart([]part{{name: "_token", data: []byte(h.freshToken())}, {name: "email", data: []byte("big@example.com")},
		{name: "topic", data: []byte("Support")}, {name: "message", data: []byte("see attached")},
		{name: "attachment", filename: "big.txt", contentType: "text/plain", data: []byte(big)}}, "Accept", "application/json")
	if w.Code != 200 {
		t.Fatalf("multipart upload of %d bytes: %d %s", len(big), w.Code, w.Body)
	}
	if h.queued() != 1 {
		t.Fatalf("%d queued, want the multipart submission only", h.queued())
	}
}
