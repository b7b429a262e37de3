package main_test

// The SMS channel through the real binary: webhooks signed exactly as
// Twilio signs them (HMAC-SHA1 computed here with the standard library),
// replies sent with twilio-go to Prism serving Twilio's own OpenAPI
// description (SWITCHBOARD_TEST_TWILIO_MOCK, started by
// scripts/peers/sms.sh), status callbacks, STOP/START, and
// `switchboard channels test` fetching the account.

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/testenv"
)

const (
	e2eTwilioSID   = "AC0123456789abcdef0123456789abcdef"
	e2eTwilioToken = "e2etokene2etokene2etokene2etoken"
	e2eSMSFrom     = "+14155550100"
)

// smsSign is X-Twilio-Signature: base64(HMAC-SHA1(token, URL + each POST
// parameter's name and value, sorted by name)).
func smsSign(fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := fullURL
	for _, k := range keys {
		s += k + form.Get(k)
	}
	m := hmac.New(sha1.New, []byte(e2eTwilioToken))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func twilioMockURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("SWITCHBOARD_TEST_TWILIO_MOCK")
	if u == "" {
		testenv.Absent(t, "the Twilio mock (SWITCHBOARD_TEST_TWILIO_MOCK, Prism: scripts/peers/sms.sh)", nil)
	}
	resp, err := http.Get(u + "/")
	if err != nil {
		testenv.Absent(t, "the Twilio mock at "+u, err)
	}
	resp.Body.Close()
	return u
}

// smsChannelYAML is the channels list item of an sms channel named sms.
func smsChannelYAML(publicURL, mock string) string {
	return fmt.Sprintf(`  - name: sms
    type: sms
    phase: live
    sms:
      account_sid: %s
      auth_token: %s
      from: "%s"
      public_url: %s
      api_base_url: %s
`, e2eTwilioSID, e2eTwilioToken, e2eSMSFrom, publicURL, mock)
}

// smsPost posts form to path on the hub, signed for signedFor ("" means
// the hub's own URL of path, which is its public URL here).
func (p *proc) smsPost(t *testing.T, path string, form url.Values, signedFor string) (int, string) {
	t.Helper()
	if signedFor == "" {
		signedFor = p.base + path
	}
	req, _ := http.NewRequest("POST", p.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signedFor != "-" {
		req.Header.Set("X-Twilio-Signature", smsSign(signedFor, form))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func smsMessage(n int, from, body string) url.Values {
	s := fmt.Sprintf("SM%032x", n)
	return url.Values{"MessageSid": {s}, "SmsSid": {s}, "AccountSid": {e2eTwilioSID}, "From": {from}, "To": {e2eSMSFrom},
		"Body": {body}, "NumMedia": {"0"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"}}
}

type smsEntry struct {
	ID             string   `json:"id"`
	ConversationID string   `json:"conversation_id"`
	Channel        string   `json:"channel"`
	Direction      string   `json:"direction"`
	Text           string   `json:"text"`
	Status         string   `json:"status"`
	StatusDetail   string   `json:"status_detail"`
	ProviderID     string   `json:"provider_id"`
	Flags          []string `json:"flags"`
}

func (p *proc) smsTimeline(t *testing.T, identity string) []smsEntry {
	t.Helper()
	c, code := p.find(t, identity)
	if code != 200 {
		return nil
	}
	var page struct {
		Entries []smsEntry `json:"entries"`
	}
	call(t, "GET", p.base+"/api/v1/customers/"+c.ID+"/timeline?limit=200", adminToken, nil, &page)
	es := page.Entries
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

func TestEndToEndSMS(t *testing.T) {
	mock := twilioMockURL(t)
	eachStore(t, func(t *testing.T, sc string) {
		addr := freeAddr(t)
		p := start(t, writeConfig(t, sc, smsChannelYAML("http://"+addr, mock)), addr)
		const ann = "+14155550123"
		wh := "/webhooks/twilio/sms"

		// Ann wrote by email; the CRM (a verified source) then linked her mobile.
		p.post(t, "crm", map[string]any{"external_id": "e1", "sender": map[string]string{"email": "ann@example.com"}, "text": "by email"})
		waitFor(t, "the email", 10*time.Second, func() bool { return len(p.smsTimeline(t, "email:ann@example.com")) == 1 })
		p.post(t, "crm", map[string]any{"external_id": "c1", "sender": map[string]string{"email": "ann@example.com", "phone": ann}, "text": "CRM: mobile"})
		waitFor(t, "the CRM link", 10*time.Second, func() bool { return len(p.smsTimeline(t, "email:ann@example.com")) == 2 })

		// Her SMS lands on the same timeline; Twilio re-posting it changes nothing.
		for i := 0; i < 4; i++ {
			code, body := p.smsPost(t, wh, smsMessage(1, ann, "Is my order shipped?"), "")
			if code != 200 || !strings.Contains(body, "<Response></Response>") {
				t.Fatalf("webhook (post %d): %d %q", i+1, code, body)
			}
		}
		var es []smsEntry
		waitFor(t, "the SMS on Ann's timeline", 10*time.Second, func() bool {
			es = p.smsTimeline(t, "email:ann@example.com")
			return len(es) == 3
		})
		time.Sleep(300 * time.Millisecond)
		if es = p.smsTimeline(t, "email:ann@example.com"); len(es) != 3 || es[2].Text != "Is my order shipped?" || es[2].Channel != "sms" {
			t.Fatalf("timeline after 4 posts of one SMS: %+v", es)
		}

		// Bad webhooks store nothing.
		intruder := smsMessage(2, "+14155550999", "hi")
		tampered := smsMessage(2, "+14155550999", "hi")
		tampered.Set("Body", "changed")
		big := smsMessage(3, "+14155550999", strings.Repeat("x", 2<<20))
		for name, tc := range map[string]struct {
			form      url.Values
			signedFor string
			want      int
		}{
			"missing signature": {intruder, "-", 403},
			"wrong URL":         {intruder, "https://elsewhere.example" + wh, 403},
			"2 MB body":         {big, "", 413},
		} {
			if code, _ := p.smsPost(t, wh, tc.form, tc.signedFor); code != tc.want {
				t.Errorf("%s: %d, want %d", name, code, tc.want)
			}
		}
		req, _ := http.NewRequest("POST", p.base+wh, strings.NewReader(tampered.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", smsSign(p.base+wh, intruder))
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
			t.Errorf("tampered body: %v %v, want 403", resp.StatusCode, err)
		}
		time.Sleep(300 * time.Millisecond)
		if _, code := p.find(t, "phone:+14155550999"); code != 404 {
			t.Errorf("a refused webhook created a customer (%d)", code)
		}

		// Reply from the API: CreateMessage against Twilio's spec, then status callbacks.
		conv := es[2].ConversationID
		var r smsEntry
		if code := call(t, "POST", p.base+"/api/v1/conversations/"+conv+"/messages", agentToken, map[string]string{"text": "Yes, today."}, &r); code != 202 || r.Status != "queued" {
			t.Fatalf("reply: %d %+v", code, r)
		}
		var out smsEntry
		find := func() bool {
			for _, e := range p.smsTimeline(t, "phone:"+ann) {
				if e.ID == r.ID {
					out = e
				}
			}
			return true
		}
		waitFor(t, "the reply sent", 10*time.Second, func() bool { find(); return out.Status == "sent" })
		if !strings.HasPrefix(out.ProviderID, "SM") {
			t.Fatalf("sent reply has provider id %q", out.ProviderID)
		}
		for _, st := range []string{"sent", "delivered"} {
			f := url.Values{"MessageSid": {out.ProviderID}, "MessageStatus": {st}, "AccountSid": {e2eTwilioSID}, "To": {ann}, "From": {e2eSMSFrom}}
			if code, body := p.smsPost(t, wh+"/status", f, ""); code != 204 {
				t.Fatalf("status %s: %d %s", st, code, body)
			}
		}
		waitFor(t, "the reply delivered", 10*time.Second, func() bool { find(); return out.Status == "delivered" })

		// STOP: the next reply is refused with a clear error; START allows it.
		p.smsPost(t, wh, smsMessage(4, ann, "STOP"), "")
		waitFor(t, "the STOP", 10*time.Second, func() bool { return len(p.smsTimeline(t, "phone:"+ann)) == 5 })
		var e struct{ Error, Message string }
		if code := call(t, "POST", p.base+"/api/v1/conversations/"+conv+"/messages", agentToken, map[string]string{"text": "wait"}, &e); code != 409 || !strings.Contains(e.Message, "opted out") {
			t.Fatalf("reply after STOP: %d %+v, want 409 saying the customer opted out", code, e)
		}
		p.smsPost(t, wh, smsMessage(5, ann, "start"), "")
		waitFor(t, "the START", 10*time.Second, func() bool { return len(p.smsTimeline(t, "phone:"+ann)) == 6 })
		if code := call(t, "POST", p.base+"/api/v1/conversations/"+conv+"/messages", agentToken, map[string]string{"text": "welcome back"}, nil); code != 202 {
			t.Fatalf("reply after START: %d", code)
		}

		// channels test fetches the account with the credentials.
		outb, err := exec.Command(binary(t), "channels", "test", "sms", "--url", p.base, "--token", adminToken).CombinedOutput()
		if err != nil || !strings.Contains(string(outb), "status active") || strings.Contains(string(outb), e2eTwilioToken) {
			t.Fatalf("channels test: %v\n%s", err, outb)
		}
		// Off: the webhook does not exist.
		if outb, err := exec.Command(binary(t), "channels", "phase", "sms", "off", "--url", p.base, "--token", adminToken).CombinedOutput(); err != nil {
			t.Fatalf("phase off: %v %s", err, outb)
		}
		if code, _ := p.smsPost(t, wh, smsMessage(6, ann, "anyone?"), ""); code != 404 {
			t.Fatalf("webhook of an off channel: %d", code)
		}
	})
}

// TestSMSWebhookLoad measures signed SMS webhooks over HTTP, from this
// process, against the real binary on Redis, beside a plain net/http
// handler (parse the form, answer the same TwiML) run as a second process
// of this test binary: the ceiling of this machine in the same run. It is
// a measurement, not a check, so it runs only when asked:
//
//	SWITCHBOARD_TEST_SMS_LOAD=10s go test -run TestSMSWebhookLoad -v ./cmd/switchboard/
//
// (build without -race for meaningful figures).
func TestSMSWebhookLoad(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("SWITCHBOARD_TEST_SMS_LOAD"))
	if err != nil || d <= 0 {
		t.Skip("a load measurement: set SWITCHBOARD_TEST_SMS_LOAD=10s to run it")
	}
	conc := 64
	if s := os.Getenv("SWITCHBOARD_TEST_SMS_LOAD_CONCURRENCY"); s != "" {
		fmt.Sscan(s, &conc)
	}
	// The ceiling: a plain handler in a second process.
	baseAddr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSMSBaselineServer$")
	cmd.Env = append(os.Environ(), "SWITCHBOARD_TEST_SMS_BASELINE_ADDR="+baseAddr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, "the baseline server", 10*time.Second, func() bool {
		resp, err := http.Get("http://" + baseAddr + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	// Each hub run gets a fresh hub (and Redis prefix) so that neither
	// measures the router still draining the other's backlog.
	hubRun := func(next func(base string) func(string, int64) *http.Request) loadResult {
		// The shape of scripts/bench.sh's config: no teams, so the router
		// does no assignment work beside the ingest being measured.
		addr := freeAddr(t)
		cfg := filepath.Join(t.TempDir(), "switchboard.yaml")
		os.WriteFile(cfg, []byte(redisStore(t)+fmt.Sprintf(`log: {level: warn}
agents: [{name: root, role: admin, token: %s}]
channels:
  - {name: crm, type: api, phase: live, trusted: true}
`, adminToken)+smsChannelYAML("http://"+addr, "http://127.0.0.1:9")), 0o600)
		p := start(t, cfg, addr)
		defer p.kill()
		return loadRun(t, conc, d, next(p.base))
	}
	base := loadRun(t, conc, d, smsRequest("http://"+baseAddr))
	hub := hubRun(smsRequest)
	api := hubRun(func(base string) func(string, int64) *http.Request {
		return func(run string, i int64) *http.Request {
			body := fmt.Sprintf(`{"external_id":"%s-%d","sender":{"phone":"+1415555%04d"},"text":"Where is my parcel? Order 12345"}`, run, i, i%10000)
			req, _ := http.NewRequest("POST", base+"/api/v1/channels/crm/messages", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+adminToken)
			return req
		}
	})
	t.Logf("concurrency %d, %s each, GOMAXPROCS of this machine", conc, d)
	t.Logf("%-28s %10s %10s %10s", "", "req/s", "p50", "p99")
	t.Logf("%-28s %10.0f %10s %10s", "plain net/http handler", base.rate, base.p50, base.p99)
	t.Logf("%-28s %10.0f %10s %10s", "hub, signed SMS, Redis", hub.rate, hub.p50, hub.p99)
	t.Logf("%-28s %10.0f %10s %10s", "hub, api channel, Redis", api.rate, api.p50, api.p99)
	t.Logf("sms/baseline: throughput %.2f, p99 %.2fx; sms/api: throughput %.2f", hub.rate/base.rate, float64(hub.p99)/float64(base.p99), hub.rate/api.rate)
	if hub.errors > 0 || base.errors > 0 || api.errors > 0 {
		t.Fatalf("errors: sms %d, baseline %d, api %d", hub.errors, base.errors, api.errors)
	}
}

// TestSMSBaselineServer is the plain net/http ceiling of TestSMSWebhookLoad,
// run as a separate process of this test binary.
func TestSMSBaselineServer(t *testing.T) {
	addr := os.Getenv("SWITCHBOARD_TEST_SMS_BASELINE_ADDR")
	if addr == "" {
		t.Skip("the baseline process of TestSMSWebhookLoad")
	}
	http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		_ = r.PostForm.Get("MessageSid")
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
	}))
}

type loadResult struct {
	rate     float64
	p50, p99 time.Duration
	errors   int64
}

// smsRequest builds distinct signed SMS webhooks for a hub whose public URL is base.
func smsRequest(base string) func(run string, i int64) *http.Request {
	return func(run string, i int64) *http.Request {
		form := smsMessage(0, fmt.Sprintf("+1415555%04d", i%10000), "Where is my parcel? Order 12345")
		s := fmt.Sprintf("SM%s%020x", run[len(run)-12:], i)
		form.Set("MessageSid", s)
		form.Set("SmsSid", s)
		req, _ := http.NewRequest("POST", base+"/webhooks/twilio/sms", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", smsSign(base+"/webhooks/twilio/sms", form))
		return req
	}
}

// loadRun sends the requests of next (all answered 2xx when right) with
// conc connections for d, closed-loop.
func loadRun(t *testing.T, conc int, d time.Duration, next func(run string, i int64) *http.Request) loadResult {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var seq, errs atomic.Int64
	lat := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	startAt := time.Now()
	stop := startAt.Add(d)
	run := fmt.Sprintf("%x", startAt.UnixNano())
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				req := next(run, seq.Add(1))
				t0 := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					errs.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	el := time.Since(startAt)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		t.Fatalf("no successful request (%d errors)", errs.Load())
	}
	slices.Sort(all)
	q := func(f float64) time.Duration { return all[int(f*float64(len(all)-1))].Round(10 * time.Microsecond) }
	return loadResult{rate: float64(len(all)) / el.Seconds(), p50: q(0.50), p99: q(0.99), errors: errs.Load()}
}
