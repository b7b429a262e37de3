package chat

// A real hub pipeline below HTTP (embedded store, ingest, router workers,
// outbound dispatcher) with the channel's real HTTP handler in front, and
// slack-go's slacktest server as the Slack Web API behind it. Slack itself
// cannot be reached from the test machines; slacktest is the peer PEERS.md
// names, with custom handlers where a test asserts on what was called.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/lease"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

const (
	testSecret   = "8f742231b10e8888abcd99yyyzzz85a5"
	testBotToken = "xoxb-1234-5678-secretbottoken"
	testTeam     = "T0CUSTOMR"
	testBotUser  = "U0HUBBOT1"
	channelName  = "slack-support"
)

// sign computes Slack's v0 signature with the standard library only
// (independently of slack-go): "v0=" + hex(HMAC-SHA256(secret, "v0:TS:BODY")).
func sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%d:", ts)
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// slackUser is what the fake users.info answers for one user.
type slackUser struct {
	Email, Display, Real string
	IsBot                bool
}

// fakeSlack is a slacktest server with handlers that record calls.
type fakeSlack struct {
	*slacktest.Server
	mu        sync.Mutex
	users     map[string]slackUser
	userCalls map[string]int
	posts     []url.Values
	postTimes []time.Time
	opens     []url.Values
	authCalls int
	// limited is how many chat.postMessage calls answer 429 first.
	limited    int
	retryAfter int
	postErr    string // a Slack error to answer chat.postMessage with
}

// newFakeSlack starts the server; extra binders may claim paths first
// (slacktest ignores a Handle for a path it already serves).
func newFakeSlack(t *testing.T, extra ...slacktest.Binder) *fakeSlack {
	f := &fakeSlack{users: map[string]slackUser{}, userCalls: map[string]int{}, retryAfter: 1}
	f.Server = slacktest.NewTestServer(append(extra, func(c slacktest.Customize) {
		c.Handle("/users.info", f.usersInfo)
		c.Handle("/auth.test", f.authTest)
		c.Handle("/chat.postMessage", f.postMessage)
		c.Handle("/conversations.open", f.conversationsOpen)
	})...)
	f.Start()
	t.Cleanup(f.Stop)
	return f
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (f *fakeSlack) usersInfo(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	id := r.Form.Get("user")
	f.mu.Lock()
	u, ok := f.users[id]
	f.userCalls[id]++
	f.mu.Unlock()
	if !ok {
		writeJSON(w, map[string]any{"ok": false, "error": "user_not_found"})
		return
	}
	writeJSON(w, map[string]any{"ok": true, "user": map[string]any{
		"id": id, "team_id": testTeam, "name": "handle-" + id, "real_name": u.Real, "is_bot": u.IsBot,
		"profile": map[string]any{"email": u.Email, "display_name": u.Display, "real_name": u.Real,
			"image_72": "https://avatars.example/" + id + ".png"}}})
}

func (f *fakeSlack) authTest(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f.mu.Lock()
	f.authCalls++
	f.mu.Unlock()
	if r.Form.Get("token") != testBotToken {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	writeJSON(w, map[string]any{"ok": true, "url": "https://customer.slack.com/", "team": "Customer Co",
		"user": "switchboard", "team_id": testTeam, "user_id": testBotUser, "bot_id": "B0HUBBOT1"})
}

func (f *fakeSlack) postMessage(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.postTimes = append(f.postTimes, time.Now())
	if f.limited > 0 {
		f.limited--
		w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	if f.postErr != "" {
		writeJSON(w, map[string]any{"ok": false, "error": f.postErr})
		return
	}
	f.posts = append(f.posts, r.Form)
	ts := fmt.Sprintf("%d.%06d", time.Now().Unix(), len(f.posts))
	writeJSON(w, map[string]any{"ok": true, "channel": r.Form.Get("channel"), "ts": ts})
}

func (f *fakeSlack) conversationsOpen(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f.mu.Lock()
	f.opens = append(f.opens, r.Form)
	f.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "channel": map[string]any{"id": "D0DMCHAN1"}})
}

// set changes the fake's behaviour under its lock.
func (f *fakeSlack) set(fn func(f *fakeSlack)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeSlack) calls(user string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.userCalls[user]
}

func (f *fakeSlack) opened() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.opens...)
}

func (f *fakeSlack) posted() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.posts...)
}

// hub is a hub pipeline with one slack channel and one trusted api channel
// ("mail", standing in for an email channel whose addresses are verified).
type hub struct {
	st    store.Store
	dir   *directory.Directory
	in    *router.Ingest
	rt    *router.Router
	out   *router.Outbound
	ch    *Channel
	slack *fakeSlack
	web   *httptest.Server
	url   string
	// settings of the slack section, for building more replicas.
	settings map[string]any
	// clock is the store's clock (nil: the system clock), for leases.
	clock store.Clock
}

// hubSetup is what options of newHub may change.
type hubSetup struct {
	settings map[string]any
	clock    store.Clock // the store's clock (leases)
	binders  []slacktest.Binder
	logger   *slog.Logger
	blobs    connectors.Blobs // the attachment store (nil: none)
}

type hubOption func(*hubSetup)

func newHub(t *testing.T, opts ...hubOption) *hub {
	t.Helper()
	h := &hub{}
	setup := hubSetup{settings: map[string]any{"bot_token": testBotToken, "signing_secret": testSecret}}
	for _, o := range opts {
		o(&setup)
	}
	h.slack = newFakeSlack(t, setup.binders...)
	setup.settings["api_url"] = h.slack.GetAPIURL()
	st, err := embedded.Open(t.TempDir(), embedded.Options{Clock: setup.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := directory.New(st, []directory.Channel{
		{Name: channelName, Type: "slack", Phase: store.PhaseLive},
		{Name: "mail", Type: "api", Phase: store.PhaseLive, Trusted: true},
	}, store.SystemClock, nil)
	h.st, h.dir, h.settings, h.clock = st, dir, setup.settings, setup.clock
	h.in = router.NewIngest(st, dir, "FI", store.SystemClock, nil)
	h.rt = router.New(st, dir, router.Options{Workers: 2})
	h.out = router.NewOutbound(st, dir, store.SystemClock, discardLogger(), nil, h.rt.Conversations())
	h.ch, err = New(config.Channel{Name: channelName, Type: "slack", Phase: "live", Slack: setup.settings},
		connectors.Env{Name: channelName, Sink: h.in, Status: h.out, Clock: time.Now, Replica: "r1", Logger: setup.logger, Blobs: setup.blobs,
			Leases: lease.New(st, "r1", setup.clock, setup.logger)})
	if err != nil {
		t.Fatal(err)
	}
	h.out.SetSender(channelName, h.ch)
	mux := http.NewServeMux()
	for _, r := range h.ch.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	h.web = httptest.NewServer(mux)
	t.Cleanup(h.web.Close)
	h.url = h.web.URL + "/webhooks/slack/" + channelName
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

// send posts body to the webhook signed at time at (zero: now) with extra headers.
func (h *hub) send(t *testing.T, body []byte, at time.Time, hdr ...string) (int, string) {
	t.Helper()
	if at.IsZero() {
		at = time.Now()
	}
	req, _ := http.NewRequest("POST", h.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("X-Slack-Signature", sign(testSecret, at.Unix(), body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (h *hub) mustSend(t *testing.T, body []byte, hdr ...string) {
	t.Helper()
	if code, text := h.send(t, body, time.Time{}, hdr...); code != 200 {
		t.Fatalf("webhook answered %d %s", code, text)
	}
}

// queued is how many messages wait in the ingest queue (not yet on a timeline).
func (h *hub) queued(t *testing.T) int64 { return hubtest.Queued(t, h.st) }

// entries returns the timeline of the customer holding identity key, oldest first.
func (h *hub) entries(t *testing.T, key string) []store.Entry { return hubtest.Timeline(t, h.st, key) }

// waitEntries waits until the timeline of key has n entries and the ingest queue is drained.
func (h *hub) waitEntries(t *testing.T, key string, n int) []store.Entry {
	return hubtest.WaitTimeline(t, h.st, key, n, 20*time.Second)
}

func texts(es []store.Entry) []string { return hubtest.Texts(es) }

// ev builds an Events API message body; fields of event override the defaults.
func ev(eventID string, event map[string]any) []byte {
	e := map[string]any{"type": "message", "channel": "C0SUPPORT", "channel_type": "channel", "user": "U0CUSTOM1",
		"team": testTeam, "text": "hello", "ts": "1760000000.000100", "event_ts": "1760000000.000100"}
	for k, v := range event {
		if v == nil {
			delete(e, k)
		} else {
			e[k] = v
		}
	}
	b, _ := json.Marshal(map[string]any{"token": "legacy-verification-token", "team_id": testTeam, "api_app_id": "A0APP",
		"type": "event_callback", "event_id": eventID, "event_time": 1760000000, "event": e})
	return b
}
