package main_test

// End-to-end tests of the web form channel through the real binary: a real
// browser (Debian's Chromium driven by playwright-core, set up by
// scripts/peers/webform.sh) on a page of another origin embedding the
// hub's embed.js, and plain HTTP clients posting the way scripts and bots do.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/testenv"
)

const webformSecret = "e2e-form-signing-secret-42"

// webformChannel is the YAML of a webform channel named name, allowing origins.
func webformChannel(name string, origins []string, extra string) string {
	quoted := make([]string, len(origins))
	for i, o := range origins {
		quoted[i] = fmt.Sprintf("%q", o)
	}
	return fmt.Sprintf(`  - name: %s
    type: webform
    phase: live
    webform:
      fields:
        - {name: name, type: text, label: "Your name <img src=x onerror=alert(1)>"}
        - {name: email, type: email, label: Email, required: true}
        - {name: topic, type: select, options: [Billing, Support]}
        - {name: message, type: textarea, label: Message, required: true}
        - {name: news, type: checkbox}
      consent: {field: news, purpose: marketing, text: "Email me product news", version: "v3"}
      thank_you_text: "Thanks! We will get back to you."
      thank_you_url: https://www.example.com/thanks
      allowed_origins: [%s]
      secret: %s
      min_fill_time: 2s
%s`, name, strings.Join(quoted, ", "), webformSecret, extra)
}

// formToken fetches a token as a server-side page would (no Origin).
func formToken(t *testing.T, p *proc, channel string) string {
	t.Helper()
	var out struct{ Token string }
	if code := call(t, "GET", p.base+"/forms/"+channel+"/token", "", nil, &out); code != 200 || out.Token == "" {
		t.Fatalf("token: %d", code)
	}
	return out.Token
}

// postForm posts a form body; ct selects JSON or URL encoding.
func postForm(t *testing.T, p *proc, channel string, vals map[string]string, hdr ...string) (*http.Response, map[string]any) {
	t.Helper()
	var body []byte
	ct := "application/x-www-form-urlencoded"
	if len(hdr) > 0 && hdr[0] == "json" {
		ct = "application/json"
		body, _ = json.Marshal(vals)
		hdr = hdr[1:]
	} else {
		v := url.Values{}
		for k, x := range vals {
			v.Set(k, x)
		}
		body = []byte(v.Encode())
	}
	req, _ := http.NewRequest("POST", p.base+"/forms/"+channel, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

type formEntry struct {
	ID, Text, Channel, ConversationID string
	Fields                            []struct{ Name, Value string }
}

// formEntries returns the raw timeline entries (with their fields), oldest first.
func formEntries(t *testing.T, p *proc, customerID string) []formEntry {
	t.Helper()
	var page struct {
		Entries []struct {
			ID             string                         `json:"id"`
			Text           string                         `json:"text"`
			Channel        string                         `json:"channel"`
			ConversationID string                         `json:"conversation_id"`
			Fields         []struct{ Name, Value string } `json:"fields"`
		} `json:"entries"`
	}
	if code := call(t, "GET", p.base+"/api/v1/customers/"+customerID+"/timeline?limit=100", adminToken, nil, &page); code != 200 {
		t.Fatalf("timeline: %d", code)
	}
	var out []formEntry
	for i := len(page.Entries) - 1; i >= 0; i-- {
		e := page.Entries[i]
		out = append(out, formEntry{ID: e.ID, Text: e.Text, Channel: e.Channel, ConversationID: e.ConversationID, Fields: e.Fields})
	}
	return out
}

type quarantined struct {
	ID, Channel, Reason string
	Message             struct {
		Identities []struct{ Type, Value string } `json:"identities"`
	} `json:"message"`
}

func quarantine(t *testing.T, p *proc, channel string) []quarantined {
	t.Helper()
	var out struct {
		Quarantine []quarantined `json:"quarantine"`
	}
	if code := call(t, "GET", p.base+"/api/v1/quarantine?channel="+channel, adminToken, nil, &out); code != 200 {
		t.Fatalf("quarantine list: %d", code)
	}
	return out.Quarantine
}

// absentFor waits a moment for anything in flight, then checks that no
// customer holds identity (nothing reached any timeline).
func absentFor(t *testing.T, p *proc, identity string) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	if _, code := p.find(t, identity); code != 404 {
		t.Fatalf("%s reached a timeline (lookup %d)", identity, code)
	}
}

// artifactsDir is the folder sub of the e2e tests' artifacts (screenshots):
// under $SWITCHBOARD_TEST_ARTIFACTS, or .cache/artifacts of the repository.
func artifactsDir(t testing.TB, sub string) string {
	dir := os.Getenv("SWITCHBOARD_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", ".cache", "artifacts")
	}
	dir, _ = filepath.Abs(filepath.Join(dir, sub))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

type browserResult struct {
	Name         string   `json:"name"`
	Form         bool     `json:"form"`
	Thanks       string   `json:"thanks"`
	Status       string   `json:"status"`
	FieldErrors  []string `json:"field_errors"`
	Dialogs      []string `json:"dialogs"`
	ImagesInForm int      `json:"images_in_form"`
	Labels       []string `json:"labels"`
	RawPost      string   `json:"raw_post"`
	Error        string   `json:"error"`
	Console      []string `json:"console"`
}

// browserPeer returns the Chromium binary, the playwright-core directory and
// the node binary scripts/peers/webform.sh set up; the test skips (fails in
// CI) when they are missing.
func browserPeer(t *testing.T) (chromium, pw, node string) {
	t.Helper()
	chromium, pw, node = os.Getenv("SWITCHBOARD_TEST_CHROMIUM"), os.Getenv("SWITCHBOARD_TEST_PLAYWRIGHT"), os.Getenv("SWITCHBOARD_TEST_NODE")
	if node == "" {
		node = "node"
	}
	if chromium == "" || pw == "" {
		testenv.Absent(t, "a browser (SWITCHBOARD_TEST_CHROMIUM, SWITCHBOARD_TEST_PLAYWRIGHT; scripts/peers/webform.sh)", nil)
	}
	for _, f := range []string{chromium, filepath.Join(pw, "package.json")} {
		if _, err := os.Stat(f); err != nil {
			testenv.Absent(t, "a browser", err)
		}
	}
	return chromium, pw, node
}

func TestWebformInARealBrowser(t *testing.T) {
	chromium, pw, node := browserPeer(t)
	addr := freeAddr(t)
	page := func(title string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>%s</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}.sb-field{margin:.6em 0}.sb-field label{display:block}.sb-checkbox label{display:inline}
input[type=text],input[type=email],textarea,select{width:100%%}.sb-error,.sb-status{color:#b00}</style></head>
<body><h1>%s</h1><div id="contact"></div>
<script src="http://%s/forms/web/embed.js" data-target="contact" async></script></body></html>`, title, title, addr)
		}))
	}
	shop, evil := page("Contact Example Shop"), page("Not the shop")
	defer shop.Close()
	defer evil.Close()

	p := start(t, writeConfig(t, embeddedStore(t), webformChannel("web", []string{shop.URL}, "")), addr)
	// A valid token, aged past min_fill_time by the time the browser uses it:
	// the disallowed page's forged POST is refused for its origin alone.
	stolen := formToken(t, p, "web")

	art := artifactsDir(t, "webform")
	plan := map[string]any{"chromium": chromium, "scenarios": []map[string]any{
		{"name": "person", "url": shop.URL, "wait_ms": 3000, "screenshot": filepath.Join(art, "person.png"), "screenshot_filled": filepath.Join(art, "person-filled.png"),
			"fill": map[string]string{"name": `Ada <script>alert("name")</script>`, "email": "Ada@Example.com",
				"message": `My order <img src=x onerror=alert("msg")> never arrived`},
			"select": map[string]string{"topic": "Support"}, "check": []string{"news"}},
		{"name": "bot", "url": shop.URL, "wait_ms": 0, "screenshot": filepath.Join(art, "bot.png"),
			"fill": map[string]string{"email": "speedy@example.com", "message": "cheap watches"}},
		{"name": "elsewhere", "url": evil.URL, "wait_ms": 2500, "screenshot": filepath.Join(art, "disallowed-origin.png"),
			"fill":     map[string]string{"email": "mallory@example.com", "message": "from a page that may not use the form"},
			"raw_post": map[string]string{"url": p.base + "/forms/web", "body": url.Values{"_token": {stolen}, "email": {"csrf@example.com"}, "message": {"forged"}}.Encode()}},
	}}
	planPath := filepath.Join(t.TempDir(), "plan.json")
	b, _ := json.Marshal(plan)
	os.WriteFile(planPath, b, 0o600)
	script, _ := filepath.Abs(filepath.Join("..", "..", "connectors", "webform", "testdata", "browser", "submit.js"))
	cmd := exec.Command(node, script, planPath)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_TEST_PLAYWRIGHT="+pw)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("browser: %v\n%s\n%s", err, out, stderr.String())
	}
	res := map[string]browserResult{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r browserResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("browser output %q: %v", line, err)
		}
		res[r.Name] = r
	}
	for _, name := range []string{"person-filled.png", "person.png", "bot.png", "disallowed-origin.png"} {
		if st, err := os.Stat(filepath.Join(art, name)); err != nil || st.Size() == 0 {
			t.Fatalf("screenshot %s missing: %v", name, err)
		}
	}
	t.Logf("screenshots in %s", art)

	// A person on the shop's page: the form showed, was sent, thanked them,
	// and nothing configured or typed ran as markup.
	person := res["person"]
	if person.Error != "" || !person.Form || person.Thanks != "Thanks! We will get back to you." || len(person.Dialogs) != 0 || person.ImagesInForm != 0 {
		t.Fatalf("person: %+v", person)
	}
	if len(person.Labels) == 0 || person.Labels[0] != "Your name <img src=x onerror=alert(1)>" || !contains(person.Labels, "Email me product news") {
		t.Fatalf("labels shown: %q", person.Labels)
	}
	var ada customer
	waitFor(t, "the person's submission on a timeline", 10*time.Second, func() bool {
		var code int
		ada, code = p.find(t, "email:ada@example.com")
		return code == 200 && len(formEntries(t, p, ada.ID)) == 1
	})
	e := formEntries(t, p, ada.ID)[0]
	if e.Channel != "web" || e.Text != `My order <img src=x onerror=alert("msg")> never arrived` {
		t.Fatalf("entry = %+v", e)
	}
	got := fmt.Sprint(e.Fields)
	want := fmt.Sprint([]struct{ Name, Value string }{{"name", `Ada <script>alert("name")</script>`}, {"email", "Ada@Example.com"},
		{"topic", "Support"}, {"message", `My order <img src=x onerror=alert("msg")> never arrived`}, {"news", "yes"}})
	if got != want {
		t.Fatalf("fields = %s\nwant     %s", got, want)
	}
	var view struct {
		Identities []struct {
			Type, Value string
			Verified    bool
		} `json:"identities"`
		Consents []struct {
			Purpose, Text, Version string
			Granted                bool
		} `json:"consents"`
	}
	call(t, "GET", p.base+"/api/v1/customers/"+ada.ID, adminToken, nil, &view)
	if len(view.Identities) != 1 || view.Identities[0].Verified || len(view.Consents) != 1 ||
		view.Consents[0].Purpose != "marketing" || view.Consents[0].Text != "Email me product news" || view.Consents[0].Version != "v3" || !view.Consents[0].Granted {
		t.Fatalf("customer = %+v", view)
	}

	// The bot-speed submission looked accepted in the browser, but only the
	// quarantine has it; an admin's release puts it on a timeline.
	if bot := res["bot"]; bot.Thanks != person.Thanks || bot.Error != "" {
		t.Fatalf("bot: %+v", bot)
	}
	absentFor(t, p, "email:speedy@example.com")
	qs := quarantine(t, p, "web")
	if len(qs) != 1 || qs[0].Reason != "too-fast" || qs[0].Message.Identities[0].Value != "speedy@example.com" {
		t.Fatalf("quarantine = %+v", qs)
	}
	if code := call(t, "POST", p.base+"/api/v1/quarantine/"+qs[0].ID+"/release", adminToken, nil, nil); code != 202 {
		t.Fatalf("release: %d", code)
	}
	waitFor(t, "the released submission on a timeline", 10*time.Second, func() bool {
		c, code := p.find(t, "email:speedy@example.com")
		return code == 200 && len(formEntries(t, p, c.ID)) == 1
	})

	// A page of another origin: the browser could not use the form, and its
	// forged simple POST (with a valid token) stored nothing.
	el := res["elsewhere"]
	if !el.Form || el.Thanks != "" || el.Status == "" || len(el.Dialogs) != 0 || el.RawPost != "opaque" {
		t.Fatalf("disallowed origin: %+v", el)
	}
	absentFor(t, p, "email:mallory@example.com")
	absentFor(t, p, "email:csrf@example.com")
	if qs := quarantine(t, p, "web"); len(qs) != 0 {
		t.Fatalf("quarantine after release = %+v", qs)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestWebformEndToEnd(t *testing.T) {
	eachStore(t, func(t *testing.T, sc string) {
		extra := webformChannel("web", []string{"https://www.example.com"}, "") +
			webformChannel("small", nil, "      rate_limit: {per_ip: 3, per_channel: 100, window: 1m}\n")
		p := start(t, writeConfig(t, sc, extra), freeAddr(t))
		toks := make([]string, 12)
		for i := range toks {
			toks[i] = formToken(t, p, "web")
		}
		small := make([]string, 4)
		for i := range small {
			small[i] = formToken(t, p, "small")
		}
		time.Sleep(2100 * time.Millisecond) // min_fill_time

		// Mia is a verified customer (trusted API); a form claims her email.
		if code, _ := p.post(t, "crm", map[string]any{"external_id": "mia-1", "sender": map[string]string{"email": "mia@example.com"}, "text": "account opened"}); code != 202 {
			t.Fatalf("crm post: %d", code)
		}
		var mia customer
		waitFor(t, "Mia", 10*time.Second, func() bool {
			var code int
			mia, code = p.find(t, "email:mia@example.com")
			return code == 200 && len(formEntries(t, p, mia.ID)) == 1
		})
		resp, m := postForm(t, p, "web", map[string]string{"_token": toks[0], "email": "MIA@example.com", "message": "send Mia's invoices to me",
			"iban": "FI00 1234", "referrer": "ads"}, "json", "Origin", "https://www.example.com")
		if resp.StatusCode != 200 || m["status"] != "received" || resp.Header.Get("Access-Control-Allow-Origin") != "https://www.example.com" {
			t.Fatalf("claim: %d %v", resp.StatusCode, m)
		}
		var sugg struct {
			Suggestions []struct{ Winner, Loser, Evidence string } `json:"suggestions"`
		}
		waitFor(t, "a merge suggestion", 10*time.Second, func() bool {
			call(t, "GET", p.base+"/api/v1/suggestions", adminToken, nil, &sugg)
			return len(sugg.Suggestions) == 1
		})
		claimer := sugg.Suggestions[0].Loser
		if sugg.Suggestions[0].Winner != mia.ID || claimer == mia.ID {
			t.Fatalf("suggestion = %+v", sugg.Suggestions[0])
		}
		if n := len(formEntries(t, p, mia.ID)); n != 1 {
			t.Fatalf("the claim reached Mia's timeline (%d entries)", n)
		}
		// The suggestion is recorded while resolving the sender, before the
		// message's entry is written: wait for the entry too.
		var es []formEntry
		waitFor(t, "the claimer's entry", 10*time.Second, func() bool {
			es = formEntries(t, p, claimer)
			return len(es) > 0
		})
		if len(es) != 1 || es[0].Text != "send Mia's invoices to me" {
			t.Fatalf("claimer's timeline = %+v", es)
		}
		// Unknown fields were dropped, not stored.
		raw, _ := json.Marshal(es)
		if bytes.Contains(raw, []byte("iban")) || bytes.Contains(raw, []byte("FI00")) || bytes.Contains(raw, []byte("referrer")) {
			t.Fatalf("unknown fields stored: %s", raw)
		}

		// A plain HTML form: 303 to the thank-you page; a honeypot bot gets the same.
		for _, v := range []map[string]string{
			{"_token": toks[1], "email": "plain@example.com", "message": "hello from HTML"},
			{"_token": toks[2], "email": "honey@example.com", "message": "spam", "website": "http://spam.example"},
		} {
			resp, _ := postForm(t, p, "web", v, "Accept", "text/html")
			if resp.StatusCode != 303 || resp.Header.Get("Location") != "https://www.example.com/thanks" {
				t.Fatalf("HTML post: %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		waitFor(t, "the HTML submission", 10*time.Second, func() bool {
			_, code := p.find(t, "email:plain@example.com")
			return code == 200
		})
		absentFor(t, p, "email:honey@example.com")
		if qs := quarantine(t, p, "web"); len(qs) != 1 || qs[0].Reason != "honeypot" {
			t.Fatalf("quarantine = %+v", qs)
		}
		if code, b := getMetrics(t, p.base+"/metrics", adminToken); code == 200 {
			if !strings.Contains(string(b), `switchboard_webform_submissions_total{channel="web",kind="spam"} 1`) {
				t.Errorf("/metrics does not count the quarantined spam submission")
			}
			if !strings.Contains(string(b), `switchboard_messages_ingested_total{channel="web"}`) {
				t.Errorf("/metrics does not count messages ingested through the form channel")
			}
		} else {
			t.Fatalf("/metrics: %d", code)
		}

		// Forged and disallowed-origin submissions: refused, nothing stored.
		resp, m = postForm(t, p, "web", map[string]string{"_token": toks[3][:len(toks[3])-4] + "AAAA", "email": "forged@example.com", "message": "x"}, "json")
		if resp.StatusCode != 403 || m["error"] != "token_invalid" {
			t.Fatalf("forged token: %d %v", resp.StatusCode, m)
		}
		resp, m = postForm(t, p, "web", map[string]string{"_token": toks[4], "email": "origin@example.com", "message": "x"}, "json", "Origin", "https://evil.example")
		if resp.StatusCode != 403 || m["error"] != "origin_not_allowed" || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("disallowed origin: %d %v", resp.StatusCode, m)
		}
		absentFor(t, p, "email:forged@example.com")
		absentFor(t, p, "email:origin@example.com")

		// Rate limit: the 4th submission from one IP within the window is 429.
		for i, tok := range small {
			resp, _ := postForm(t, p, "small", map[string]string{"_token": tok, "email": fmt.Sprintf("rl%d@example.com", i), "message": "x"}, "json")
			want := 200
			if i == 3 {
				want = 429
			}
			if resp.StatusCode != want || (want == 429 && resp.Header.Get("Retry-After") == "") {
				t.Fatalf("submission %d: %d Retry-After=%q, want %d", i+1, resp.StatusCode, resp.Header.Get("Retry-After"), want)
			}
		}

		// The embed script and an off channel's form.
		r, err := http.Get(p.base + "/forms/web/embed.js")
		if err != nil || r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") {
			t.Fatalf("embed.js: %v %v", err, r)
		}
		r.Body.Close()
		if out, err := exec.Command(binary(t), "channels", "phase", "web", "off", "--url", p.base, "--token", adminToken).CombinedOutput(); err != nil {
			t.Fatalf("phase off: %v %s", err, out)
		}
		resp, _ = postForm(t, p, "web", map[string]string{"_token": toks[5], "email": "off@example.com", "message": "x"}, "json")
		if resp.StatusCode != 404 {
			t.Fatalf("form of an off channel: %d", resp.StatusCode)
		}
	})
}
