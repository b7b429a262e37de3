package inbox_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
	"github.com/switchboard-hub/switchboard/timeline"
)

// liveHub serves e.srv over TCP with the hub's http.Server and timeouts t,
// counting connections closed.
type liveHub struct {
	*httptest.Server
	closed atomic.Int64
}

func newLiveHub(t *testing.T, h http.Handler, to inbox.Timeouts) *liveHub {
	t.Helper()
	lh := &liveHub{}
	ts := httptest.NewUnstartedServer(h)
	ts.Config = inbox.NewHTTPServer(h, to, nil)
	ts.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateClosed || s == http.StateHijacked {
			lh.closed.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)
	lh.Server = ts
	return lh
}

func (lh *liveHub) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(lh.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed reads c until the server closes it; it fails after limit.
func waitClosed(t *testing.T, what string, c net.Conn, limit time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(limit))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("%s: the connection is still open after %s", what, limit)
	}
}

// TestSlowBodyIsCutOff: a body trickled one byte at a time, on sign-in and
// on a channel's webhook (both unauthenticated), is cut off after
// BodyTimeout although the server's read timeout is far longer; the
// connection is closed and the handler returns.
func TestSlowBodyIsCutOff(t *testing.T) {
	e := newUIEnvWith(t, "", func(o *inbox.Options) { o.BodyTimeout = 500 * time.Millisecond })
	var inWebhook atomic.Int64
	e.srv.Handle("POST /webhooks/test/{channel}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inWebhook.Add(1)
		defer inWebhook.Add(-1)
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusRequestTimeout)
			return
		}
		w.WriteHeader(204)
	}))
	lh := newLiveHub(t, e.srv, inbox.Timeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 30 * time.Second, Idle: 30 * time.Second})
	for _, path := range []string{"/api/v1/session", "/webhooks/test/sms"} {
		t.Run(path, func(t *testing.T) {
			c := lh.dial(t)
			before := lh.closed.Load()
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", path)
			stop := make(chan struct{})
			defer close(stop)
			go func() { // one byte every 200 ms, for up to 200 s
				for range 1000 {
					select {
					case <-stop:
						return
					case <-time.After(200 * time.Millisecond):
					}
					if _, err := c.Write([]byte("{")); err != nil {
						return
					}
				}
			}()
			waitClosed(t, "a trickled body", c, 5*time.Second)
			deadline := time.Now().Add(2 * time.Second)
			for lh.closed.Load() == before || inWebhook.Load() != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("connection released: %v, webhook handlers still running: %d", lh.closed.Load() > before, inWebhook.Load())
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	// A body that arrives in time is read as before.
	resp, err := http.Post(lh.URL+"/webhooks/test/sms", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("a prompt body: %d", resp.StatusCode)
	}
}

// TestIdleConnectionClosed: a keep-alive connection idle for the idle
// timeout is closed (not after the far longer read timeout).
func TestIdleConnectionClosed(t *testing.T) {
	e := newUIEnv(t, "")
	lh := newLiveHub(t, e.srv, inbox.Timeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 30 * time.Second, Idle: 300 * time.Millisecond})
	c := lh.dial(t)
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Close {
		t.Fatalf("healthz: %d close=%v", resp.StatusCode, resp.Close)
	}
	start := time.Now()
	c.SetReadDeadline(start.Add(5 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the server sent something on an idle connection")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("an idle keep-alive connection is still open after 5 s")
	}
}

// TestEventStreamOutlivesWriteTimeout: the event stream is exempt from the
// write timeout and keeps the connection alive with comments.
func TestEventStreamOutlivesWriteTimeout(t *testing.T) {
	e := newUIEnvWith(t, "", func(o *inbox.Options) { o.StreamKeepAlive = 100 * time.Millisecond })
	lh := newLiveHub(t, e.srv, inbox.Timeouts{ReadHeader: time.Second, Read: 300 * time.Millisecond, Write: 300 * time.Millisecond, Idle: time.Second})
	lines, cancel := stream(t, lh.URL, nil, "bot-token")
	defer cancel()
	start := time.Now()
	n := 0
	for time.Since(start) < 1500*time.Millisecond {
		waitLine(t, "the stream past the write timeout", lines, "keep-alive")
		n++
	}
	if n < 5 {
		t.Fatalf("%d keep-alives in 1.5 s, want one every 100 ms", n)
	}
	// An event still arrives.
	if err := timeline.Publish(context.Background(), e.st, timeline.Event{Type: timeline.EventChannelPhase, Channel: "crm", Status: "live"}); err != nil {
		t.Fatal(err)
	}
	waitLine(t, "an event after the write timeout", lines, timeline.EventChannelPhase)
}

// TestEventStreamsPerAgent: beyond MaxStreamsPerAgent streams of one agent
// the next is refused with 429 (JSON); closing one makes room; another
// agent is not affected.
func TestEventStreamsPerAgent(t *testing.T) {
	e := newUIEnvWith(t, "", func(o *inbox.Options) { o.MaxStreamsPerAgent = 2 })
	hs := httptest.NewServer(e.srv)
	defer hs.Close()
	_, c1 := stream(t, hs.URL, nil, "bot-token")
	defer c1()
	_, c2 := stream(t, hs.URL, nil, "bot-token")
	defer c2()
	code, body := get(t, hs.URL+"/api/v1/events", "bot-token")
	if code != 429 {
		t.Fatalf("a third stream of one agent: %d, want 429", code)
	}
	wantError(t, "the third stream", body, "too_many_streams")
	_, c3 := stream(t, hs.URL, nil, "root-token") // another principal
	defer c3()
	c1()
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequest("GET", hs.URL+"/api/v1/events", nil)
		req.Header.Set("Authorization", "Bearer bot-token")
		ctx, cancel := context.WithCancel(context.Background())
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cancel()
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing a stream, a new one: %d", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// get sends GET with a bearer token (none when empty) and returns the
// status and, for an error, the body; a stream that opens is closed.
func get(t *testing.T, u, token string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == 200 && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return 200, ""
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wantError checks that body is the API's JSON error with code.
func wantError(t *testing.T, what, body, code string) {
	t.Helper()
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != code || e.Message == "" {
		t.Errorf("%s: body %q, want a JSON error %q", what, body, code)
	}
}

// ticket asks srv for a stream ticket with a bearer token.
func ticket(t *testing.T, srv http.Handler, token string) string {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/v1/events/tickets", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var out struct {
		Ticket    string    `json:"ticket"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if rec.Code != 201 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.Ticket == "" {
		t.Fatalf("POST /api/v1/events/tickets: %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("a ticket answer may be cached: %q", rec.Header().Get("Cache-Control"))
	}
	return out.Ticket
}

// TestStreamTickets: a ticket opens the stream once; a second use, an
// expired ticket, a forged one and a token in the URL are refused.
func TestStreamTickets(t *testing.T) {
	e := newUIEnv(t, "")
	hs := httptest.NewServer(e.srv)
	defer hs.Close()
	events := hs.URL + "/api/v1/events?ticket="

	tk := ticket(t, e.srv, "bot-token")
	if code, body := get(t, events+url.QueryEscape(tk), ""); code != 200 {
		t.Fatalf("the stream with a ticket: %d %s", code, body)
	}
	code, body := get(t, events+url.QueryEscape(tk), "")
	if code != 401 {
		t.Fatalf("a ticket used twice: %d, want 401", code)
	}
	wantError(t, "a used ticket", body, "bad_ticket")

	old := ticket(t, e.srv, "bot-token")
	e.clock.Advance(inbox.StreamTicketTTL + time.Second)
	if code, _ := get(t, events+url.QueryEscape(old), ""); code != 401 {
		t.Fatalf("an expired ticket: %d, want 401", code)
	}
	forged := ticket(t, e.srv, "bot-token")
	forged = forged[:len(forged)-4] + "AAAA"
	if code, _ := get(t, events+url.QueryEscape(forged), ""); code != 401 {
		t.Fatalf("a forged ticket: %d, want 401", code)
	}
	for _, tok := range []string{"bot-token", "wrong"} {
		code, body := get(t, hs.URL+"/api/v1/events?access_token="+tok, "")
		if code != 400 {
			t.Fatalf("access_token=%s in the URL: %d, want 400", tok, code)
		}
		wantError(t, "a token in the URL", body, "token_in_url")
	}
	if code, _ := get(t, hs.URL+"/api/v1/events", ""); code != 401 {
		t.Fatalf("the stream without credentials: %d", code)
	}
	// Nobody gets a ticket without credentials.
	rec := e.do("POST", "/api/v1/events/tickets", "", nil)
	if rec.Code != 401 {
		t.Fatalf("a ticket without credentials: %d", rec.Code)
	}
}

// TestStreamTicketsFromSession: the UI gets a ticket with its cookie and
// CSRF token; the stream opened with it ends with the session, and a
// ticket of a session that ended is refused.
func TestStreamTicketsFromSession(t *testing.T) {
	defer inbox.SetSSEHeartbeat(20 * time.Millisecond)()
	e := newUIEnv(t, "")
	hs := httptest.NewServer(e.srv)
	defer hs.Close()
	a, _ := e.login("alice", alicePW)
	if rec := e.do("POST", "/api/v1/events/tickets", "", a.cookie); rec.Code != 403 {
		t.Fatalf("a ticket with the cookie but without the CSRF token: %d, want 403", rec.Code)
	}
	issue := func() string {
		rec := e.do("POST", "/api/v1/events/tickets", "", a.cookie, inbox.CSRFHeader, a.csrf)
		var out struct{ Ticket string }
		if rec.Code != 201 || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
			t.Fatalf("a ticket with the session: %d %s", rec.Code, rec.Body)
		}
		return out.Ticket
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", hs.URL+"/api/v1/events?ticket="+url.QueryEscape(issue()), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the stream with a session's ticket: %v %v", resp, err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	waitLine(t, "the session's stream", lines, "keep-alive")
	spare := issue()
	if rec := e.do("DELETE", "/api/v1/session", "", a.cookie, inbox.CSRFHeader, a.csrf); rec.Code != 204 {
		t.Fatalf("logout: %d", rec.Code)
	}
	ends(t, "a stream opened with a ticket after its session's logout", lines)
	if code, _ := get(t, hs.URL+"/api/v1/events?ticket="+url.QueryEscape(spare), ""); code != 401 {
		t.Fatalf("a ticket of a session that ended: %d, want 401", code)
	}
}

// TestStreamTicketsAcrossReplicas: on a shared Redis store, a ticket
// issued by one replica opens the stream on another, once.
func TestStreamTicketsAcrossReplicas(t *testing.T) {
	c, prefix := testenv.Redis(t)
	st := sbredis.New(c, sbredis.Options{Prefix: prefix})
	t.Cleanup(func() { st.Close() })
	replica := func() *httptest.Server {
		o := inbox.Options{Store: st, Directory: directory.New(st, nil, store.SystemClock, nil), SessionSecret: sessionSecret,
			Credentials: []inbox.Credential{{Principal: inbox.Principal{Name: "bot", Role: "agent"}, TokenSHA256: inbox.HashToken("bot-token")}}}
		hs := httptest.NewServer(inbox.New(o))
		t.Cleanup(hs.Close)
		return hs
	}
	a, b := replica(), replica()
	req, _ := http.NewRequest("POST", a.URL+"/api/v1/events/tickets", nil)
	req.Header.Set("Authorization", "Bearer bot-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Ticket string }
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("ticket: %d", resp.StatusCode)
	}
	q := "/api/v1/events?ticket=" + url.QueryEscape(out.Ticket)
	if code, body := get(t, b.URL+q, ""); code != 200 {
		t.Fatalf("replica B with A's ticket: %d %s", code, body)
	}
	for _, r := range []*httptest.Server{a, b} {
		if code, _ := get(t, r.URL+q, ""); code != 401 {
			t.Fatalf("the ticket again: %d, want 401", code)
		}
	}
}

// TestMachineRoutesAnswerJSON: wrong methods on API, webhook and form
// routes answer 405 with Allow and a JSON body; unknown paths under /api/
// and /webhooks/ answer JSON 404s; a channel's plain-text error becomes
// JSON; HTML pages and the web UI are left alone.
func TestMachineRoutesAnswerJSON(t *testing.T) {
	e := newUIEnvWith(t, "", func(o *inbox.Options) { o.Gatherer = prometheus.NewRegistry() })
	e.srv.Handle("POST /webhooks/twilio/{channel}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such channel", http.StatusNotFound)
	}))
	e.srv.Handle("POST /forms/{channel}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(422)
		io.WriteString(w, "<h1>The form could not be sent</h1>")
	}))
	e.srv.Handle("OPTIONS /forms/{channel}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	for _, c := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/webhooks/twilio/sms", 405, "method_not_allowed", "POST"},
		{"DELETE", "/forms/web", 405, "method_not_allowed", "OPTIONS, POST"},
		{"PUT", "/api/v1/session", 405, "method_not_allowed", "GET, HEAD, POST, DELETE"},
		{"POST", "/api/v1/conversations", 405, "method_not_allowed", "GET, HEAD"},
		{"POST", "/healthz", 405, "method_not_allowed", "GET, HEAD"},
		{"POST", "/metrics", 405, "method_not_allowed", "GET, HEAD"},
		{"GET", "/api/v1/nothing-here", 404, "not_found", ""},
		{"GET", "/webhooks/nothing-here", 404, "not_found", ""},
		{"POST", "/webhooks/twilio/unknown", 404, "not_found", ""},
		{"GET", "/metrics", 401, "unauthorized", ""},
	} {
		rec := e.do(c.method, c.path, "", nil)
		if rec.Code != c.status {
			t.Errorf("%s %s: %d, want %d (%s)", c.method, c.path, rec.Code, c.status, rec.Body)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q, want application/json", c.method, c.path, ct)
		}
		wantError(t, c.method+" "+c.path, rec.Body.String(), c.code)
		if got := normAllow(rec.Header().Get("Allow")); got != normAllow(c.allow) {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, rec.Header().Get("Allow"), c.allow)
		}
	}
	// A form's page for a person's browser stays HTML; so does the UI.
	if rec := e.do("POST", "/forms/web", "", nil); rec.Code != 422 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("a form's HTML page: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if rec := e.do("GET", "/", "", nil); rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("the web UI: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if rec := e.do("GET", "/no-such-page", "", nil); strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Errorf("a page outside the machine routes answered JSON")
	}
}

// normAllow sorts an Allow header's methods.
func normAllow(s string) string {
	var ms []string
	for _, m := range strings.Split(s, ",") {
		if m = strings.TrimSpace(m); m != "" {
			ms = append(ms, m)
		}
	}
	for i := range ms {
		for j := i + 1; j < len(ms); j++ {
			if ms[j] < ms[i] {
				ms[i], ms[j] = ms[j], ms[i]
			}
		}
	}
	return strings.Join(ms, ",")
}

// TestMetricsAuth: /metrics on the main listener answers admins and the
// metrics token only; with MetricsElsewhere it is not served at all, and
// MetricsServer serves it openly.
func TestMetricsAuth(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "probe_total", Help: "x"}))
	e := newUIEnvWith(t, "", func(o *inbox.Options) { o.Gatherer = reg; o.MetricsToken = "scrape-me" })
	for _, c := range []struct {
		token string
		code  int
	}{{"", 401}, {"wrong", 401}, {"bot-token", 403}, {"root-token", 200}, {"scrape-me", 200}} {
		var hdr []string
		if c.token != "" {
			hdr = []string{"Authorization", "Bearer " + c.token}
		}
		rec := e.do("GET", "/metrics", "", nil, hdr...)
		if rec.Code != c.code {
			t.Errorf("/metrics with %q: %d, want %d", c.token, rec.Code, c.code)
		}
		if c.code == 200 && !strings.Contains(rec.Body.String(), "probe_total") {
			t.Errorf("/metrics with %q: no metrics", c.token)
		}
	}
	root, _ := e.login("root", rootPW)
	if rec := e.do("GET", "/metrics", "", root.cookie); rec.Code != 200 {
		t.Errorf("/metrics with an admin's session: %d", rec.Code)
	}
	alice, _ := e.login("alice", alicePW)
	if rec := e.do("GET", "/metrics", "", alice.cookie); rec.Code != 403 {
		t.Errorf("/metrics with an agent's session: %d", rec.Code)
	}

	away := newUIEnvWith(t, "", func(o *inbox.Options) { o.Gatherer = reg; o.MetricsElsewhere = true })
	if rec := away.do("GET", "/metrics", "", nil, "Authorization", "Bearer root-token"); rec.Code != 404 {
		t.Errorf("/metrics with MetricsElsewhere: %d, want 404", rec.Code)
	}
	rec := httptest.NewRecorder()
	inbox.MetricsServer(reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "probe_total") {
		t.Errorf("MetricsServer: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	inbox.MetricsServer(reg).ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/version", nil))
	if rec.Code != 404 {
		t.Errorf("MetricsServer serves more than /metrics: %d", rec.Code)
	}
	wantError(t, "MetricsServer's 404", rec.Body.String(), "not_found")
}

// TestSlowUploadWithinItsDeadline: a multipart body gets UploadTimeout
// (not BodyTimeout), and its answer is written although reading took
// longer than the server's write timeout.
func TestSlowUploadWithinItsDeadline(t *testing.T) {
	e := newUIEnvWith(t, "", func(o *inbox.Options) {
		o.BodyTimeout, o.UploadTimeout, o.WriteTimeout = 200*time.Millisecond, 5*time.Second, 300*time.Millisecond
	})
	e.srv.Handle("POST /forms/{channel}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusRequestTimeout)
			return
		}
		w.WriteHeader(204)
	}))
	lh := newLiveHub(t, e.srv, inbox.Timeouts{ReadHeader: time.Second, Read: 300 * time.Millisecond, Write: 300 * time.Millisecond, Idle: time.Second})
	c := lh.dial(t)
	const chunks = 5
	fmt.Fprintf(c, "POST /forms/web HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n", chunks)
	for range chunks {
		time.Sleep(200 * time.Millisecond)
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("a slow upload within upload_timeout got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("a slow upload within upload_timeout: %d", resp.StatusCode)
	}
}
