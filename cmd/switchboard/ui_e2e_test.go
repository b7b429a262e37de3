package main_test

// The agents' web UI in a real browser (Debian's Chromium driven by
// playwright-core: scripts/peers/webform.sh) against the real binary on the
// embedded store, with messages arriving through real channel endpoints:
// the api channel, the web form endpoint, signed Twilio webhooks (replies go
// to Prism serving Twilio's OpenAPI: scripts/peers/sms.sh) and an IMAP
// mailbox on a real Dovecot (scripts/peers/email.sh).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-hub/switchboard/internal/testenv"
)

// browser is a running driver.js: one JSON command in, one JSON answer out.
type browser struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *bytes.Buffer
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	chromium, pw, node := browserPeer(t)
	script, _ := filepath.Abs(filepath.Join("testdata", "ui", "driver.js"))
	cmd := exec.Command(node, script, chromium)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_TEST_PLAYWRIGHT="+pw)
	b := &browser{t: t, cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = b.stderr
	var err error
	if b.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	b.out = bufio.NewScanner(stdout)
	b.out.Buffer(make([]byte, 1<<20), 16<<20)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return b
}

// try runs op in browser context ctx and returns its value or error.
func (b *browser) try(ctx, op string, args map[string]any) (json.RawMessage, error) {
	b.t.Helper()
	cmd := map[string]any{"op": op, "ctx": ctx}
	for k, v := range args {
		cmd[k] = v
	}
	line, _ := json.Marshal(cmd)
	if _, err := b.in.Write(append(line, '\n')); err != nil {
		b.t.Fatalf("browser %s: %v\n%s", op, err, b.stderr)
	}
	if !b.out.Scan() {
		b.t.Fatalf("browser ended during %s: %v\n%s", op, b.out.Err(), b.stderr)
	}
	var res struct {
		OK    bool            `json:"ok"`
		Value json.RawMessage `json:"value"`
		Error string          `json:"error"`
	}
	if err := json.Unmarshal(b.out.Bytes(), &res); err != nil {
		b.t.Fatalf("browser answer %q: %v", b.out.Text(), err)
	}
	if !res.OK {
		return nil, fmt.Errorf("%s %v: %s", op, args, res.Error)
	}
	return res.Value, nil
}

// do is try that fails the test (with a screenshot) on error.
func (b *browser) do(ctx, op string, args map[string]any) json.RawMessage {
	b.t.Helper()
	v, err := b.try(ctx, op, args)
	if err != nil {
		shot := filepath.Join(artifactsDir(b.t, "ui"), "failure-"+ctx+".png")
		b.try(ctx, "screenshot", map[string]any{"path": shot})
		b.t.Fatalf("%v (screenshot %s)", err, shot)
	}
	return v
}

func (b *browser) strings(ctx, op string, args map[string]any) []string {
	b.t.Helper()
	var out []string
	json.Unmarshal(b.do(ctx, op, args), &out)
	return out
}

const (
	uiAlicePW = "alice-ui-password-1"
	uiRootPW  = "root-ui-password-1"
)

// signIn signs ctx in through the login form.
func (b *browser) signIn(ctx, base, name, pw string) {
	b.t.Helper()
	b.do(ctx, "goto", map[string]any{"url": base + "/"})
	b.do(ctx, "waitFor", map[string]any{"selector": "#login-form"})
	b.do(ctx, "fill", map[string]any{"selector": "#login-name", "value": name})
	b.do(ctx, "fill", map[string]any{"selector": "#login-password", "value": pw})
	b.do(ctx, "click", map[string]any{"selector": "#login-form button[type=submit]"})
	b.do(ctx, "waitFor", map[string]any{"selector": "#app", "timeout": 30000})
	b.do(ctx, "waitText", map[string]any{"selector": "#conn", "text": "live"})
}

func TestUIInARealBrowser(t *testing.T) {
	br := startBrowser(t)
	mock := twilioMockURL(t)
	imapAddr, lmtpAddr := emailPeer(t)
	art := artifactsDir(t, "ui")

	// A "remote image" server: any request reaching it is a failure.
	var remoteHits atomic.Int64
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remoteHits.Add(1)
		w.Header().Set("Content-Type", "image/png")
	}))
	defer remote.Close()

	// Mia's email (HTML with script, event handlers and remote images) waits
	// in a real mailbox; the hub backfills it.
	mailbox := "ui-" + testenv.RandomID() + "@example.com"
	html := `<p>Hello <b>support</b>, the parcel is still missing.</p>` +
		`<script>window.top.__pwned = 1; document.title = "pwned"; fetch("` + remote.URL + `/script")</script>` +
		`<img src="` + remote.URL + `/pixel.png" onerror="window.top.__pwned = 1">` +
		`<img src=x onerror="alert('email')"><a href="javascript:alert('link')">click</a>` +
		`<div style="background:url(` + remote.URL + `/bg.png)">styled</div>`
	// The receiving server vouches for the sender (only a trusted
	// authserv-id's dmarc=pass makes a From verified), so the mail joins
	// Mia's timeline like her verified identities from the CRM.
	mail := fmt.Sprintf("Authentication-Results: mx.hub.example; dmarc=pass header.from=example.com\r\n"+
		"From: Mia Virtanen <mia@example.com>\r\nTo: %s\r\nSubject: Parcel 1234\r\nDate: %s\r\n"+
		"Message-ID: <ui-1-%s>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n"+
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello support, the parcel is still missing.\r\n"+
		"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n%s\r\n--b1--\r\n",
		mailbox, time.Now().UTC().Add(-30*time.Minute).Format(time.RFC1123Z), mailbox, html)
	lmtpDeliver(t, lmtpAddr, mailbox, [][]byte{[]byte(mail)})

	addr := freeAddr(t)
	base := "http://" + addr
	extra := webformChannel("web", []string{"https://shop.example"}, "") + smsChannelYAML(base, mock) +
		fmt.Sprintf(`  - name: support-mail
    type: email
    phase: live
    email:
      imap: {addr: "%s", username: "%s", password: secret, tls: none, allow_insecure: true, backfill_since: "2000-01-01"}
      smtp: {addr: "127.0.0.1:1", from: support@hub.example, tls: none, allow_insecure: true}
      trusted_authserv_ids: [mx.hub.example]
`, imapAddr, mailbox)
	for i, pw := range []string{uiRootPW, uiAlicePW} { // agents[0] is root, agents[1] alice
		h, err := bcrypt.GenerateFromPassword([]byte(pw), 10)
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(fmt.Sprintf("SWITCHBOARD_AGENTS_%d_PASSWORD_HASH", i), string(h))
	}
	p := start(t, writeConfig(t, embeddedStore(t), extra), addr)

	// Messages arrive through the channels' real endpoints.
	ago := func(m int) string { return time.Now().UTC().Add(-time.Duration(m) * time.Minute).Format(time.RFC3339) }
	posts := []map[string]any{
		{"external_id": "mia-1", "sender": map[string]string{"email": "mia@example.com", "phone": "+358 40 111 2222", "name": "Mia Virtanen"}, "text": "Order 1234: the parcel has not arrived.", "occurred_at": ago(55)},
		{"external_id": "noah-1", "sender": map[string]string{"email": "noah@example.org", "name": "Noah Berg"}, "text": "Please update my billing address.", "occurred_at": ago(40)},
		{"external_id": "ada-1", "sender": map[string]string{"email": "ada@example.com", "name": "Ada Lovelace"}, "text": "Is the analytical engine in stock?", "occurred_at": ago(35)},
	}
	for _, m := range posts {
		if code, _ := p.post(t, "crm", m); code != 202 {
			t.Fatalf("api post: %d", code)
		}
	}
	waitFor(t, "Ada on a timeline", 10*time.Second, func() bool { _, code := p.find(t, "email:ada@example.com"); return code == 200 })
	if code, body := p.smsPost(t, "/webhooks/twilio/sms", smsMessage(1, "+358401112222", "Any news about my parcel?"), ""); code != 200 {
		t.Fatalf("sms webhook: %d %s", code, body)
	}
	if code, body := p.smsPost(t, "/webhooks/twilio/sms", smsMessage(2, "+358405556666", "Can I change my delivery slot to Friday?"), ""); code != 200 {
		t.Fatalf("sms webhook: %d %s", code, body)
	}
	tok := formToken(t, p, "web")
	time.Sleep(2100 * time.Millisecond) // the form's min_fill_time
	xss := `<img src=x onerror=alert('form')>`
	resp, _ := postForm(t, p, "web", map[string]string{"_token": tok, "name": "Ada " + xss, "email": "ada@example.com",
		"topic": "Support", "message": "Call me back " + xss + " please", "news": "yes"}, "json")
	if resp.StatusCode/100 != 2 {
		t.Fatalf("form post: %d", resp.StatusCode)
	}
	var mia customer
	var last string
	func() {
		defer func() {
			if t.Failed() {
				t.Logf("last seen: %s", last)
			}
		}()
		waitFor(t, "every message on a timeline", 30*time.Second, func() bool {
			var code int
			mia, code = p.find(t, "email:mia@example.com")
			_, c2 := p.find(t, "phone:+358405556666")
			var sugg struct{ Suggestions []any }
			call(t, "GET", p.base+"/api/v1/suggestions", adminToken, nil, &sugg)
			n := 0
			if code == 200 {
				n = len(p.timeline(t, mia.ID))
			}
			last = fmt.Sprintf("mia %d (%d entries), second sms sender %d, suggestions %+v", code, n, c2, sugg.Suggestions)
			return code == 200 && c2 == 200 && n == 3 && len(sugg.Suggestions) == 1
		})
	}()
	convOf := func(customerID, channel string) string {
		var out struct {
			Conversations []struct {
				ID         string `json:"id"`
				CustomerID string `json:"customer_id"`
			} `json:"conversations"`
		}
		call(t, "GET", p.base+"/api/v1/conversations?channel="+channel+"&limit=100", adminToken, nil, &out)
		for _, c := range out.Conversations {
			var cust customer
			call(t, "GET", p.base+"/api/v1/customers/"+c.CustomerID, adminToken, nil, &cust)
			if cust.ID == customerID {
				return c.ID
			}
		}
		t.Fatalf("no %s conversation of %s among %+v", channel, customerID, out.Conversations)
		return ""
	}
	miaSMS, miaMail := convOf(mia.ID, "sms"), convOf(mia.ID, "support-mail")
	noah, _ := p.find(t, "email:noah@example.org")
	noahAPI := convOf(noah.ID, "crm")

	// ---- alice signs in and sees every channel's conversations --------------
	br.signIn("alice", base, "alice", uiAlicePW)
	br.do("alice", "click", map[string]any{"selector": `#f-view [data-view="all"]`})
	br.do("alice", "waitCount", map[string]any{"selector": "#conv-list .item", "count": 6})
	types := map[string]bool{}
	for _, cls := range br.strings("alice", "attrs", map[string]any{"selector": "#conv-list .item > .chan", "attr": "class"}) {
		types[strings.TrimPrefix(cls, "chan chan-")] = true
	}
	if len(types) < 4 || !types["api"] || !types["sms"] || !types["email"] || !types["webform"] {
		t.Fatalf("channel types in the inbox: %v", types)
	}
	names := br.strings("alice", "texts", map[string]any{"selector": "#conv-list .item .who"})
	if !slices.Contains(names, "Mia Virtanen") || !slices.Contains(names, "Noah Berg") {
		t.Fatalf("customer names in the inbox: %q", names)
	}
	if w := br.strings("alice", "texts", map[string]any{"selector": "#conv-list .item .wait"}); len(w) == 0 || !strings.HasPrefix(w[0], "waiting ") {
		t.Fatalf("waiting times: %q", w)
	}
	br.do("alice", "screenshot", map[string]any{"path": filepath.Join(art, "inbox.png")})

	// Keyboard: j/k move, Enter opens.
	br.do("alice", "focus", map[string]any{"selector": "#conv-list"})
	br.do("alice", "press", map[string]any{"key": "j"})
	br.do("alice", "press", map[string]any{"key": "j"})
	br.do("alice", "press", map[string]any{"key": "k"})
	second := br.strings("alice", "texts", map[string]any{"selector": "#conv-list .item.sel .who"})
	br.do("alice", "press", map[string]any{"key": "Enter"})
	br.do("alice", "waitFor", map[string]any{"selector": "#conv"})
	if len(second) != 1 || second[0] != names[1] {
		t.Fatalf("selection after j j k: %q (list %q)", second, names)
	}
	br.do("alice", "waitText", map[string]any{"selector": "#conv-name", "text": names[1]})

	// ---- Mia's SMS conversation: her whole timeline across channels -----------
	br.do("alice", "click", map[string]any{"selector": `#conv-list .item[data-id="` + miaSMS + `"]`})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-name", "text": "Mia Virtanen"})
	br.do("alice", "waitCount", map[string]any{"selector": "#tl-entries .entry", "count": 3})
	heads := strings.Join(br.strings("alice", "texts", map[string]any{"selector": "#tl-entries .entry header"}), "\n")
	for _, ch := range []string{"crm", "sms", "support-mail"} {
		if !strings.Contains(heads, ch) {
			t.Fatalf("timeline lacks %s entries:\n%s", ch, heads)
		}
	}
	ids := strings.Join(br.strings("alice", "texts", map[string]any{"selector": "#cust-ids li"}), "\n")
	if !strings.Contains(ids, "mia@example.com") || !strings.Contains(ids, "+358401112222") || !strings.Contains(ids, "✓ verified") {
		t.Fatalf("identities shown:\n%s", ids)
	}

	// The hostile email ran nothing and loaded nothing.
	br.do("alice", "waitCount", map[string]any{"selector": "#tl-entries iframe.html-body", "count": 1})
	br.do("alice", "frameLoaded", map[string]any{"selector": "#tl-entries iframe.html-body"})
	var frames struct {
		Frames []struct {
			URL, HTML, Error string
			Scripts          int
			Pwned            bool
		} `json:"frames"`
		Elements []struct{ Sandbox, Src string } `json:"elements"`
	}
	json.Unmarshal(br.do("alice", "frames", nil), &frames)
	if len(frames.Frames) != 1 || !strings.Contains(frames.Frames[0].HTML, "<b>support</b>") {
		t.Fatalf("email frame documents: %+v", frames.Frames)
	}
	// The only fixed wait: give whatever the hostile markup might run or
	// load a moment to do so, before checking that nothing did.
	br.do("alice", "wait", map[string]any{"ms": 1000})
	json.Unmarshal(br.do("alice", "frames", nil), &frames)
	if len(frames.Elements) != 1 || frames.Elements[0].Sandbox != "allow-popups allow-popups-to-escape-sandbox" {
		t.Fatalf("email frame: %+v", frames.Elements)
	}
	for _, f := range frames.Frames {
		if f.Pwned || f.Scripts != 0 || strings.Contains(f.HTML, "onerror") || strings.Contains(f.HTML, "javascript:") || strings.Contains(f.HTML, remote.URL) {
			t.Fatalf("email frame content: %+v", f)
		}
	}
	var probe struct {
		Title    string
		Pwned    bool
		Location string
	}
	json.Unmarshal(br.do("alice", "probe", nil), &probe)
	if probe.Pwned || probe.Title != "Switchboard" || probe.Location != base+"/" {
		t.Fatalf("app after showing the email: %+v", probe)
	}

	// ---- reply by SMS: queued → sent → delivered, live ------------------------
	br.do("alice", "fill", map[string]any{"selector": "#reply-text", "value": "Hi Mia, the parcel left our depot today."})
	if v := br.strings("alice", "texts", map[string]any{"selector": "#reply-channel option"}); len(v) < 2 || !strings.Contains(v[0], "sms") || !strings.Contains(strings.Join(v, "|"), "support-mail") {
		t.Fatalf("reply channels offered: %q", v)
	}
	br.do("alice", "click", map[string]any{"selector": "#send"})
	br.do("alice", "waitText", map[string]any{"selector": "#tl-entries .entry.out .delivery", "text": "sent"})
	var sent []smsEntry
	waitFor(t, "the reply's provider id", 10*time.Second, func() bool {
		sent = nil
		for _, e := range p.smsTimeline(t, "email:mia@example.com") {
			if e.Direction == "out" && e.ProviderID != "" {
				sent = append(sent, e)
			}
		}
		return len(sent) == 1
	})
	st := url.Values{"MessageSid": {sent[0].ProviderID}, "MessageStatus": {"delivered"}, "AccountSid": {e2eTwilioSID}, "To": {"+358401112222"}, "From": {e2eSMSFrom}}
	if code, body := p.smsPost(t, "/webhooks/twilio/sms/status", st, ""); code != 204 {
		t.Fatalf("status callback: %d %s", code, body)
	}
	br.do("alice", "waitText", map[string]any{"selector": "#tl-entries .entry.out .delivery", "text": "delivered"})

	// ---- a message arriving while the page is open appears without reload ------
	if code, _ := p.post(t, "crm", map[string]any{"external_id": "mia-live", "sender": map[string]string{"email": "mia@example.com"}, "text": "Thanks! Arriving live."}); code != 202 {
		t.Fatalf("live post: %d", code)
	}
	br.do("alice", "waitText", map[string]any{"selector": "#tl-entries .entry .text", "text": "Thanks! Arriving live."})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-status", "text": "pending"}) // the reply made it so, live
	br.do("alice", "select", map[string]any{"selector": "#f-status", "value": ""})
	br.do("alice", "waitCount", map[string]any{"selector": "#conv-list .item", "count": 7})
	br.do("alice", "screenshot", map[string]any{"path": filepath.Join(art, "conversation.png")})

	// ---- the list keeps up under a burst of events ------------------------------
	// Events every few tens of milliseconds (empty PATCHes of Noah's
	// conversation) while a new customer writes: the list must still show
	// her before the burst ends (a refresh postponed by every event never came).
	stopBurst := make(chan struct{})
	burstDone := make(chan struct{})
	go func() {
		defer close(burstDone)
		for {
			select {
			case <-stopBurst:
				return
			case <-time.After(20 * time.Millisecond):
				req, _ := http.NewRequest("PATCH", p.base+"/api/v1/conversations/"+noahAPI, strings.NewReader("{}"))
				req.Header.Set("Authorization", "Bearer "+adminToken)
				req.Header.Set("Content-Type", "application/json")
				if resp, err := http.DefaultClient.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}
	}()
	if code, _ := p.post(t, "crm", map[string]any{"external_id": "bea-1", "sender": map[string]string{"email": "bea@example.com", "name": "Burst Bea"}, "text": "Hello during a burst"}); code != 202 {
		t.Fatalf("bea post: %d", code)
	}
	_, burstErr := br.try("alice", "waitText", map[string]any{"selector": "#conv-list .item .who", "text": "Burst Bea", "timeout": 20000})
	close(stopBurst)
	<-burstDone
	if burstErr != nil {
		t.Fatalf("the inbox list did not refresh during a burst of events: %v", burstErr)
	}

	// ---- a long timeline is paged as the agent scrolls back ---------------------
	for i := 0; i < 70; i++ {
		if code, _ := p.post(t, "crm", map[string]any{"external_id": fmt.Sprintf("olivia-%d", i), "occurred_at": ago(300 - i),
			"sender": map[string]string{"email": "olivia@example.com", "name": "Olivia Long"}, "text": fmt.Sprintf("Olivia's message %d", i)}); code != 202 {
			t.Fatalf("olivia post %d: %d", i, code)
		}
	}
	var olivia customer
	waitFor(t, "Olivia's 70 messages", 20*time.Second, func() bool {
		var code int
		olivia, code = p.find(t, "email:olivia@example.com")
		return code == 200 && len(p.timeline(t, olivia.ID)) == 70
	})
	br.do("alice", "click", map[string]any{"selector": `#conv-list .item[data-id="` + convOf(olivia.ID, "crm") + `"]`})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-name", "text": "Olivia Long"})
	br.do("alice", "waitCount", map[string]any{"selector": "#tl-entries .entry", "count": 50})
	if n := br.do("alice", "count", map[string]any{"selector": "#tl-entries .entry"}); string(n) != "50" {
		t.Fatalf("first page of the timeline: %s entries", n)
	}
	br.do("alice", "scrollTop", map[string]any{"selector": "#timeline"})
	br.do("alice", "waitCount", map[string]any{"selector": "#tl-entries .entry", "count": 70})
	if first := br.strings("alice", "texts", map[string]any{"selector": "#tl-entries .entry .text"}); first[0] != "Olivia's message 0" || first[69] != "Olivia's message 69" {
		t.Fatalf("timeline order after paging: %q … %q", first[0], first[len(first)-1])
	}
	// Switching fast: Noah's conversation is opened but its answer comes
	// late, after alice has moved on to Mia's; Mia's must stay on screen
	// (a reply then goes to the conversation shown).
	br.do("alice", "hold", map[string]any{"path": "/api/v1/conversations/" + noahAPI, "ms": 2000})
	br.do("alice", "click", map[string]any{"selector": `#conv-list .item[data-id="` + noahAPI + `"]`})
	br.do("alice", "holding", nil)
	br.do("alice", "click", map[string]any{"selector": `#conv-list .item[data-id="` + miaSMS + `"]`})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-name", "text": "Mia Virtanen"})
	br.do("alice", "held", nil)
	br.do("alice", "wait", map[string]any{"ms": 1000}) // negative check: the late answer changes nothing
	if name := br.strings("alice", "texts", map[string]any{"selector": "#conv-name"}); len(name) != 1 || name[0] != "Mia Virtanen" {
		t.Fatalf("after a superseded open, the conversation shown is %q", name)
	}
	if open := br.strings("alice", "attrs", map[string]any{"selector": "#conv-list .item.open", "attr": "data-id"}); len(open) != 1 || open[0] != miaSMS {
		t.Fatalf("after a superseded open, the list marks %q open", open)
	}
	if tl := strings.Join(br.strings("alice", "texts", map[string]any{"selector": "#tl-entries .entry .text"}), "|"); strings.Contains(tl, "billing address") || !strings.Contains(tl, "Order 1234") {
		t.Fatalf("after a superseded open, the timeline shows %q", tl)
	}

	// ---- presence: root opens the same conversation -----------------------------
	br.signIn("root", base, "root", uiRootPW)
	br.do("root", "click", map[string]any{"selector": `#f-view [data-view="all"]`})
	br.do("root", "select", map[string]any{"selector": "#f-status", "value": ""}) // alice's reply made it pending
	br.do("root", "click", map[string]any{"selector": `#conv-list .item[data-id="` + miaSMS + `"]`})
	br.do("root", "waitText", map[string]any{"selector": "#presence .who-here", "text": "alice is viewing"})
	br.do("alice", "waitText", map[string]any{"selector": "#presence .who-here", "text": "root is viewing"})
	br.do("alice", "type", map[string]any{"selector": "#reply-text", "text": "Let me check"})
	br.do("root", "waitText", map[string]any{"selector": "#presence .who-here", "text": "alice is typing"})
	br.do("root", "screenshot", map[string]any{"path": filepath.Join(art, "presence.png")})
	br.do("alice", "fill", map[string]any{"selector": "#reply-text", "value": ""})

	// ---- the web form: markup typed by the customer is text --------------------
	br.do("alice", "click", map[string]any{"selector": `#conv-list .item:has(.chan-webform)`})
	br.do("alice", "waitText", map[string]any{"selector": "#tl-entries .entry .text", "text": "Call me back " + xss + " please"})
	if n := br.do("alice", "count", map[string]any{"selector": "#tl-entries img, #cust img, #conv-list img"}); string(n) != "0" {
		t.Fatalf("%s <img> elements in the app", n)
	}
	fields := strings.Join(br.strings("alice", "texts", map[string]any{"selector": "#tl-entries .fields dd"}), "|")
	if !strings.Contains(fields, "Ada "+xss) {
		t.Fatalf("form fields shown: %q", fields)
	}
	// The form's claimed email belongs to Ada of the crm channel: a suggestion
	// with its evidence, which alice accepts.
	br.do("alice", "waitText", map[string]any{"selector": "#cust-sugg .evidence", "text": "ada@example.com"})
	// The form's consent shows on its channel; alice records that Ada
	// declined feedback on the phone, and the panel follows.
	br.do("alice", "waitText", map[string]any{"selector": `#cust-consents li.granted[data-purpose="marketing"]`, "text": "allowed"})
	br.do("alice", "select", map[string]any{"selector": `#cust-consents .consent-form select[aria-label="Purpose"]`, "value": "feedback"})
	br.do("alice", "select", map[string]any{"selector": `#cust-consents .consent-form select[aria-label="Decision"]`, "value": "false"})
	br.do("alice", "click", map[string]any{"selector": "#cust-consents .consent-form button"})
	br.do("alice", "waitText", map[string]any{"selector": `#cust-consents li[data-purpose="feedback"]`, "text": "not allowed"})
	br.do("alice", "waitText", map[string]any{"selector": "#cust-consents li", "text": "by alice"})
	br.do("alice", "screenshot", map[string]any{"path": filepath.Join(art, "suggestion.png")})
	br.do("alice", "click", map[string]any{"selector": "#cust-sugg button.primary"})
	br.do("alice", "waitText", map[string]any{"selector": "#tl-entries .entry .text", "text": "Is the analytical engine in stock?"})

	// ---- outbound failure with its reason, and the conversation actions --------
	br.do("alice", "click", map[string]any{"selector": `#conv-list .item[data-id="` + noahAPI + `"]`})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-name", "text": "Noah Berg"})
	// An assignment made elsewhere shows up live; then alice takes it back.
	if code := call(t, "PATCH", p.base+"/api/v1/conversations/"+noahAPI, adminToken, map[string]string{"assignee": "root"}, nil); code != 200 {
		t.Fatalf("assign to root: %d", code)
	}
	br.do("alice", "waitText", map[string]any{"selector": "#act-assign option", "text": "Assigned to root"})
	br.do("alice", "click", map[string]any{"selector": "#act-mine"})
	br.do("alice", "waitText", map[string]any{"selector": "#act-assign option", "text": "Assigned to alice"})
	// A re-read that answers late (older than alice's own change) must not
	// put an older version back: root assigns it again, the page's re-read
	// of that is held back, alice takes it meanwhile, and then the held
	// answer ("root") arrives.
	br.do("alice", "hold", map[string]any{"path": "/api/v1/conversations/" + noahAPI, "ms": 2000})
	if code := call(t, "PATCH", p.base+"/api/v1/conversations/"+noahAPI, adminToken, map[string]string{"assignee": "root"}, nil); code != 200 {
		t.Fatalf("assign to root again: %d", code)
	}
	br.do("alice", "holding", nil)
	br.do("alice", "click", map[string]any{"selector": "#act-mine"})
	br.do("alice", "waitText", map[string]any{"selector": "#act-assign option", "text": "Assigned to alice"})
	br.do("alice", "held", nil)
	br.do("alice", "wait", map[string]any{"ms": 1000}) // negative check: the old answer changes nothing
	if o := br.strings("alice", "texts", map[string]any{"selector": "#act-assign option"}); len(o) == 0 || o[0] != "Assigned to alice" {
		t.Fatalf("after a late, older re-read the page shows %q", o)
	}
	// The composer does not offer the api channel (it only receives; issue
	// 19), and the API refuses a reply there up front: 422
	// channel_cannot_reply, nothing on the timeline, the conversation as it was.
	if o := strings.Join(br.strings("alice", "texts", map[string]any{"selector": "#reply-channel option"}), "|"); strings.Contains(o, "crm") {
		t.Fatalf("the composer offers the api channel: %q", o)
	}
	var noahBefore struct{ Status string }
	call(t, "GET", p.base+"/api/v1/conversations/"+noahAPI, adminToken, nil, &noahBefore)
	entriesBefore := len(p.timeline(t, noah.ID))
	var refused struct{ Error, Message string }
	if code := call(t, "POST", p.base+"/api/v1/conversations/"+noahAPI+"/messages", agentToken, map[string]string{"text": "Done, Noah."}, &refused); code != 422 ||
		refused.Error != "channel_cannot_reply" || !strings.Contains(refused.Message, "crm") {
		t.Fatalf("reply on crm: %d %+v, want 422 channel_cannot_reply", code, refused)
	}
	var noahAfter struct{ Status string }
	call(t, "GET", p.base+"/api/v1/conversations/"+noahAPI, adminToken, nil, &noahAfter)
	if n := len(p.timeline(t, noah.ID)); n != entriesBefore || noahAfter.Status != noahBefore.Status {
		t.Fatalf("a refused reply changed the conversation: %d entries (was %d), status %q (was %q)", n, entriesBefore, noahAfter.Status, noahBefore.Status)
	}
	// A reply that cannot be delivered is shown failed, with the reason:
	// by email through support-mail, whose SMTP server (127.0.0.1:1) never
	// answers, so the queue gives up after its attempts.
	if code := call(t, "POST", p.base+"/api/v1/conversations/"+noahAPI+"/messages", agentToken, map[string]string{"text": "Done, Noah.", "channel": "support-mail"}, nil); code != 202 {
		t.Fatalf("reply by email: %d", code)
	}
	if _, err := br.try("alice", "waitText", map[string]any{"selector": "#tl-entries .entry.out .delivery", "text": "failed", "timeout": 60000}); err != nil {
		t.Fatalf("%v; Noah's timeline in the store: %+v", err, p.timeline(t, noah.ID))
	}
	if d := br.strings("alice", "texts", map[string]any{"selector": "#tl-entries .entry.out .status-detail"}); len(d) != 1 || !strings.Contains(d[0], "gave up after") {
		t.Fatalf("failure reason: %q", d)
	}
	br.do("alice", "click", map[string]any{"selector": "#mode-note"})
	br.do("alice", "fill", map[string]any{"selector": "#reply-text", "value": "Billing address changed in the ERP."})
	br.do("alice", "click", map[string]any{"selector": "#send"})
	br.do("alice", "waitText", map[string]any{"selector": "#tl-entries .entry.note .text", "text": "Billing address changed"})
	br.do("alice", "select", map[string]any{"selector": "#act-snooze-pick", "value": "custom"}) // the picker is behind Custom… (issue 19)
	br.do("alice", "fill", map[string]any{"selector": "#act-snooze-until", "value": time.Now().Add(48 * time.Hour).Format("2006-01-02T15:04")})
	br.do("alice", "click", map[string]any{"selector": "#act-snooze"})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-status", "text": "snoozed until"})
	br.do("alice", "click", map[string]any{"selector": "#act-unassign"})
	br.do("alice", "waitText", map[string]any{"selector": "#act-assign option", "text": "Assign to…"})
	br.do("alice", "click", map[string]any{"selector": "#act-reopen"})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-status", "text": "open"})
	br.do("alice", "click", map[string]any{"selector": "#act-mine"})
	br.do("alice", "waitText", map[string]any{"selector": "#act-assign option", "text": "Assigned to alice"})
	br.do("alice", "click", map[string]any{"selector": "#act-resolve"})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-status", "text": "resolved"})
	var conv struct{ Status, Assignee string }
	call(t, "GET", p.base+"/api/v1/conversations/"+noahAPI, adminToken, nil, &conv)
	if conv.Status != "resolved" || conv.Assignee != "alice" {
		t.Fatalf("Noah's conversation after the UI's actions: %+v", conv)
	}

	// ---- log out: the page forgets everything, everywhere --------------------------
	// alice signs in in a second browser and logs out there: that page shows
	// the sign-in form and nothing of hers; the first browser's page, left
	// open on Noah's conversation, follows by itself (its event stream ends
	// with the session) and shows nothing of hers either.
	br.signIn("alice2", base, "alice", uiAlicePW)
	br.do("alice2", "click", map[string]any{"selector": `#f-view [data-view="all"]`}) // a new browser starts on Unassigned
	br.do("alice2", "click", map[string]any{"selector": `#conv-list .item`})
	br.do("alice2", "waitCount", map[string]any{"selector": "#tl-entries .entry", "count": 1})
	br.do("alice2", "click", map[string]any{"selector": "#logout"})
	for _, ctx := range []string{"alice2", "alice"} {
		br.do(ctx, "waitFor", map[string]any{"selector": "#login-form", "timeout": 30000})
		for _, sel := range []string{"#conv-list .item", "#tl-entries .entry", "#cust-ids li", "#app:not([hidden])"} {
			if n := br.do(ctx, "count", map[string]any{"selector": sel}); string(n) != "0" {
				t.Fatalf("%s after logging out: %s × %s", ctx, n, sel)
			}
		}
	}
	br.do("alice2", "waitText", map[string]any{"selector": "#login-error", "text": "Signed out."})
	br.do("alice", "waitText", map[string]any{"selector": "#login-error", "text": "session has ended"})
	// Signing in again builds the page once: no doubled filter options.
	br.signIn("alice", base, "alice", uiAlicePW)
	var chans struct{ Channels []any }
	call(t, "GET", p.base+"/api/v1/channels", adminToken, nil, &chans)
	if n := br.do("alice", "count", map[string]any{"selector": "#f-channel option"}); string(n) != fmt.Sprint(len(chans.Channels)+1) {
		t.Fatalf("channel filter options after signing in again: %s (%d channels)", n, len(chans.Channels))
	}

	// ---- CSRF, and admin pages refused to agents ----------------------------------
	var csrf struct {
		Status int
		Body   string
	}
	json.Unmarshal(br.do("alice", "fetch", map[string]any{"url": "/api/v1/conversations/" + miaMail + "/notes", "method": "POST",
		"headers": map[string]string{"Content-Type": "application/json"}, "body": `{"text":"forged note"}`}), &csrf)
	if csrf.Status != 403 || !strings.Contains(csrf.Body, "csrf") {
		t.Fatalf("POST without the CSRF token: %+v", csrf)
	}
	for _, e := range p.timeline(t, mia.ID) {
		if e.Text == "forged note" {
			t.Fatal("the request without a CSRF token wrote a note")
		}
	}
	var who struct {
		Status int
		Body   string
	}
	json.Unmarshal(br.do("alice", "fetch", map[string]any{"url": "/api/v1/session"}), &who)
	var sess struct {
		CSRFToken string `json:"csrf_token"`
	}
	json.Unmarshal([]byte(who.Body), &sess)
	var admin struct {
		Status int
		Body   string
	}
	json.Unmarshal(br.do("alice", "fetch", map[string]any{"url": "/api/v1/channels/crm/phase", "method": "PUT",
		"headers": map[string]string{"Content-Type": "application/json", "X-CSRF-Token": sess.CSRFToken}, "body": `{"phase":"off"}`}), &admin)
	if sess.CSRFToken == "" || admin.Status != 403 || !strings.Contains(admin.Body, "admins") {
		t.Fatalf("agent's phase change (with a valid CSRF token): %+v", admin)
	}
	if n := br.do("alice", "count", map[string]any{"selector": "#nav-admin:not([hidden])"}); string(n) != "0" {
		t.Fatal("the Admin link is shown to an agent")
	}
	if code := br.do("alice", "goto", map[string]any{"url": base + "/admin"}); string(code) != "403" {
		t.Fatalf("agent opening /admin: %s", code)
	}
	if code := br.do("root", "goto", map[string]any{"url": base + "/admin"}); string(code) != "200" {
		t.Fatalf("admin opening /admin: %s", code)
	}
	br.do("root", "waitCount", map[string]any{"selector": "#admin-channels tr", "count": 6})
	br.do("root", "screenshot", map[string]any{"path": filepath.Join(art, "admin.png")})
	br.do("root", "select", map[string]any{"selector": `#admin-channels select[aria-label="Phase of partner"]`, "value": "shadow"})
	br.do("root", "waitText", map[string]any{"selector": "#toast", "text": "partner is now shadow"})
	var partner struct {
		Phase     string `json:"phase"`
		UpdatedBy string `json:"updated_by"`
	}
	call(t, "GET", p.base+"/api/v1/channels/partner", adminToken, nil, &partner)
	if partner.Phase != "shadow" || partner.UpdatedBy != "root" {
		t.Fatalf("partner after the admin page's change: %+v", partner)
	}

	// Nothing reached the "remote image" server, and no dialog ever opened.
	var rec struct {
		Dialogs, Requests, Console []string
	}
	for _, ctx := range []string{"alice", "root"} {
		json.Unmarshal(br.do(ctx, "record", nil), &rec)
		if len(rec.Dialogs) != 0 {
			t.Fatalf("%s saw dialogs: %q", ctx, rec.Dialogs)
		}
		for _, u := range rec.Requests {
			if !strings.HasPrefix(u, base+"/") && !strings.HasPrefix(u, "data:") {
				t.Fatalf("%s's browser requested %s", ctx, u)
			}
		}
	}
	if n := remoteHits.Load(); n != 0 {
		t.Fatalf("the remote image server got %d requests", n)
	}
	t.Logf("screenshots in %s", art)
}
