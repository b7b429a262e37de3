package sms

// A real hub pipeline below HTTP (embedded store, ingest, router workers,
// outbound dispatcher, blob directory) with the channel's real HTTP handlers
// in front. Twilio itself cannot be reached from the test machines: REST
// calls go either to Prism serving Twilio's own OpenAPI description
// (SWITCHBOARD_TEST_TWILIO_MOCK, started by scripts/peers/sms.sh), or, where
// a test asserts on the exact request or needs an error answer the spec has
// no example for, to fakeTwilio below, behind the same transport.

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/blobs"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

const (
	testSID     = "AC0123456789abcdef0123456789abcdef"
	testToken   = "f00dfeedf00dfeedf00dfeedf00dfeed"
	testFrom    = "+14155550100"
	testPublic  = "https://hub.example.com"
	channelName = "sms-support"
	customer    = "+14155550123"
)

// sign computes X-Twilio-Signature with the standard library only,
// independently of twilio-go, from Twilio's documented algorithm: the full
// URL, then every POST parameter name immediately followed by its value,
// sorted by name; HMAC-SHA1 keyed with the auth token; base64.
func sign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		for _, v := range form[k] {
			b.WriteString(k + v)
		}
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// sid returns a message SID numbered n.
func sid(n int) string { return fmt.Sprintf("SM%032x", n) }

// smsForm is the message webhook Twilio posts for one SMS.
func smsForm(messageSid, from, body string) url.Values {
	return url.Values{"MessageSid": {messageSid}, "SmsMessageSid": {messageSid}, "SmsSid": {messageSid},
		"AccountSid": {testSID}, "From": {from}, "To": {testFrom}, "Body": {body}, "NumMedia": {"0"},
		"NumSegments": {"1"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"}, "FromCountry": {"US"}}
}

// fakeTwilio answers the REST calls the channel makes and records them.
type fakeTwilio struct {
	*httptest.Server
	mu    sync.Mutex
	sends []url.Values
	auths []string
	paths []string
	n     int
	// answers, when not empty, are used (first first) for Messages.json.
	answers []fakeAnswer
	media   map[string]http.HandlerFunc
	hits    map[string]int
	account string // status of the account
}

type fakeAnswer struct {
	status int
	body   string
}

func newFakeTwilio(t *testing.T) *fakeTwilio {
	f := &fakeTwilio{media: map[string]http.HandlerFunc{}, hits: map[string]int{}, account: "active"}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	user, pass, _ := r.BasicAuth()
	f.mu.Lock()
	f.auths = append(f.auths, user+":"+pass)
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	f.hits[r.URL.Path]++
	f.mu.Unlock()
	if user != testSID || pass != testToken {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		io.WriteString(w, `{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}`)
		return
	}
	switch {
	case r.Method == "POST" && r.URL.Path == "/2010-04-01/Accounts/"+testSID+"/Messages.json":
		r.ParseForm()
		f.mu.Lock()
		var a *fakeAnswer
		if len(f.answers) > 0 {
			a = &f.answers[0]
			f.answers = f.answers[1:]
		}
		if a == nil || a.status < 300 {
			f.sends = append(f.sends, r.PostForm)
			f.n++
		}
		n := f.n
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if a != nil {
			w.WriteHeader(a.status)
			io.WriteString(w, a.body)
			return
		}
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]any{"sid": sid(1000 + n), "status": "queued", "to": r.PostForm.Get("To"),
			"from": r.PostForm.Get("From"), "body": r.PostForm.Get("Body"), "account_sid": testSID, "num_segments": "1"})
	case r.Method == "GET" && r.URL.Path == "/2010-04-01/Accounts/"+testSID+".json":
		w.Header().Set("Content-Type", "application/json")
		f.mu.Lock()
		st := f.account
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"sid": testSID, "friendly_name": "Support Co", "status": st, "type": "Full"})
	case r.Method == "GET" && strings.Contains(r.URL.Path, "/Media/"):
		f.mu.Lock()
		h := f.media[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]]
		f.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeTwilio) sent() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.sends...)
}

func (f *fakeTwilio) hitsOf(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

func (f *fakeTwilio) set(fn func(f *fakeTwilio)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// hub is a hub pipeline with one sms channel and one trusted api channel
// ("mail", standing in for a channel whose identities are verified).
type hub struct {
	st    store.Store
	dir   *directory.Directory
	in    *router.Ingest
	rt    *router.Router
	out   *router.Outbound
	blobs *blobs.Dir
	ch    *Channel
	tw    *fakeTwilio
	web   *httptest.Server
}

type hubOpts struct {
	settings map[string]any
	name     string
	queue    store.QueueOptions
}

type hubOption func(*hubOpts)

func withSetting(k string, v any) hubOption { return func(o *hubOpts) { o.settings[k] = v } }

func newHub(t *testing.T, opts ...hubOption) *hub {
	t.Helper()
	h := &hub{tw: newFakeTwilio(t)}
	o := hubOpts{name: channelName, settings: map[string]any{"account_sid": testSID, "auth_token": testToken, "from": testFrom,
		"public_url": testPublic, "api_base_url": h.tw.URL}}
	for _, f := range opts {
		f(&o)
	}
	var err error
	h.st, err = embedded.Open(t.TempDir(), embedded.Options{Queue: o.queue})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.st.Close() })
	if h.blobs, err = blobs.Open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	h.dir = directory.New(h.st, []directory.Channel{
		{Name: o.name, Type: "sms", Phase: store.PhaseLive},
		{Name: "mail", Type: "api", Phase: store.PhaseLive, Trusted: true},
	}, store.SystemClock, nil)
	h.in = router.NewIngest(h.st, h.dir, "US", store.SystemClock, nil)
	h.rt = router.New(h.st, h.dir, router.Options{Workers: 2, Logger: discardLogger()})
	h.out = router.NewOutbound(h.st, h.dir, store.SystemClock, discardLogger(), nil, h.rt.Conversations())
	h.ch, err = New(config.Channel{Name: o.name, Type: "sms", Phase: "live", SMS: o.settings},
		connectors.Env{Name: o.name, Sink: h.in, Status: h.out, Blobs: h.blobs, Logger: discardLogger(), Clock: time.Now, Replica: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	h.ch.backoff = 10 * time.Millisecond
	h.out.SetSender(o.name, h.ch)
	mux := http.NewServeMux()
	for _, r := range h.ch.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	h.web = httptest.NewServer(mux)
	t.Cleanup(h.web.Close)
	return h
}

// run starts the router and outbound workers until the test ends.
func (h *hub) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); h.rt.Run(ctx) }()
	go func() { defer wg.Done(); h.out.Run(ctx, 1, "test") }()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// post sends form to path on the test server, signed for signedURL (""
// means the channel's public URL of that path), and returns the answer.
func (h *hub) post(t *testing.T, path string, form url.Values, signedURL string) (int, string, http.Header) {
	t.Helper()
	if signedURL == "" {
		signedURL = testPublic + path
	}
	return h.raw(t, path, form.Encode(), sign(testToken, signedURL, form))
}

func (h *hub) raw(t *testing.T, path, body, signature string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", h.web.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signature != "" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (h *hub) webhook() string { return "/webhooks/twilio/" + channelName }

// text posts a signed SMS and requires Twilio's expected answer.
func (h *hub) text(t *testing.T, messageSid, from, body string) {
	t.Helper()
	code, text, hdr := h.post(t, h.webhook(), smsForm(messageSid, from, body), "")
	if code != 200 || text != emptyTwiML || !strings.HasPrefix(hdr.Get("Content-Type"), "text/xml") {
		t.Fatalf("webhook answered %d %q (%s), want 200 with empty TwiML", code, text, hdr.Get("Content-Type"))
	}
}

func (h *hub) queued(t *testing.T) int64 { return hubtest.Queued(t, h.st) }

// entries returns the timeline of the customer holding identity key, oldest first.
func (h *hub) entries(t *testing.T, key string) []store.Entry { return hubtest.Timeline(t, h.st, key) }

// waitEntries waits until the timeline of key has n entries and the ingest queue is drained.
func (h *hub) waitEntries(t *testing.T, key string, n int) []store.Entry {
	return hubtest.WaitTimeline(t, h.st, key, n, 10*time.Second)
}

// waitStatus waits until entry id has status want and returns it.
func (h *hub) waitStatus(t *testing.T, id, want string) store.Entry {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, err := h.st.GetEntry(context.Background(), id)
		if err == nil && e.Status == want {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("entry %s: status %q (%s), want %q", id, e.Status, e.StatusDetail, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func texts(es []store.Entry) []string { return hubtest.Texts(es) }

// conversation returns the sms conversation of the customer's latest entry.
func conversationOf(t *testing.T, es []store.Entry) string {
	t.Helper()
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Channel == channelName && es[i].Direction == connectors.Inbound {
			return es[i].ConversationID
		}
	}
	t.Fatal("no inbound sms entry")
	return ""
}

// twilioMock returns the Prism base URL, or skips (fails in CI) without it.
func twilioMock(t *testing.T) string {
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
