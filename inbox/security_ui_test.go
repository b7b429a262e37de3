package inbox_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// loginFrom signs in with the request coming from remote (host:port) with
// the given X-Forwarded-For ("" for none); it answers the status.
func (e *uiEnv) loginFrom(remote, xff, name, pw string) int {
	e.t.Helper()
	req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(fmt.Sprintf(`{"name":%q,"password":%q}`, name, pw)))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = remote
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec.Code
}

// Review item 1: parallel guesses all passed the lock check before any
// failure was counted (60 guesses: 60 checked, 0 refused).
func TestParallelGuessesCannotOvertakeLockout(t *testing.T) {
	e := newUIEnv(t, "")
	const n = 60
	codes := make(chan int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes <- e.loginFrom(fmt.Sprintf("198.51.100.%d:1000", i), "", "alice", fmt.Sprintf("guess-%d", i))
		}()
	}
	close(start)
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	// As many passwords were checked as serial guesses get (5 free, the
	// sixth locks); every other guess was refused without a check.
	if count[401] > 6 || count[401]+count[429] != n {
		t.Fatalf("60 parallel guesses: %v (want at most 6×401, the rest 429)", count)
	}
	// One more guess, as in a serial run, and the name is locked.
	e.loginFrom("198.51.100.200:1000", "", "alice", "one more guess")
	if code := e.loginFrom("198.51.100.201:1000", "", "alice", alicePW); code != http.StatusTooManyRequests {
		t.Fatalf("the right password after the burst and one more guess: %d", code)
	}
}

// Review item 2: behind a proxy every sign-in came from the proxy's
// address, so twenty failures from anyone locked everyone out.
func TestLockoutBehindTrustedProxy(t *testing.T) {
	proxies, err := inbox.ParseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	e := newUIEnvWith(t, "", func(o *inbox.Options) { o.TrustedProxies = proxies })
	const proxy = "10.1.2.3:40000"
	for i := 0; i < 21; i++ { // one client sprays names through the proxy
		if code := e.loginFrom(proxy, "203.0.113.7", fmt.Sprintf("agent%d", i), "guess"); code != 401 {
			t.Fatalf("failure %d: %d", i+1, code)
		}
	}
	if code := e.loginFrom(proxy, "203.0.113.7", "alice", alicePW); code != http.StatusTooManyRequests {
		t.Fatalf("the spraying client: %d", code)
	}
	// Another client behind the same proxy is not locked out.
	if code := e.loginFrom(proxy, "203.0.113.8", "alice", alicePW); code != 200 {
		t.Fatalf("another client behind the proxy: %d", code)
	}
	// The client cannot escape by prepending addresses of its choice: the
	// rightmost address not a trusted proxy counts (two proxies in a row).
	if code := e.loginFrom("192.0.2.1:5000", "198.51.100.99, 203.0.113.7, 10.9.9.9", "alice", alicePW); code != http.StatusTooManyRequests {
		t.Fatalf("spoofed X-Forwarded-For through two proxies: %d", code)
	}
	// From a peer that is no trusted proxy, X-Forwarded-For is ignored.
	for i := 0; i < 21; i++ {
		e.loginFrom("198.51.100.1:1234", fmt.Sprintf("203.0.113.%d", 100+i), fmt.Sprintf("other%d", i), "guess")
	}
	if code := e.loginFrom("198.51.100.1:1234", "203.0.113.50", "root", rootPW); code != http.StatusTooManyRequests {
		t.Fatalf("an untrusted peer's own address after 21 failures: %d", code)
	}
	if _, err := inbox.ParseTrustedProxies([]string{"proxy.example"}); err == nil {
		t.Fatal("a host name accepted as a trusted proxy")
	}
	if ps, _ := inbox.ParseTrustedProxies([]string{"::ffff:10.0.0.1"}); len(ps) != 1 || !ps[0].Contains(netip.MustParseAddr("10.0.0.1")) {
		t.Fatalf("IPv4-mapped proxy address: %v", ps)
	}
}

// Review item 9: a success cleared the address's failures, so one known
// password let an insider spray names without end.
func TestSuccessDoesNotClearAddressFailures(t *testing.T) {
	e := newUIEnv(t, "")
	const from = "198.51.100.7:1000"
	for i := 0; i < 19; i++ {
		e.loginFrom(from, "", fmt.Sprintf("agent%d", i), "guess")
	}
	if code := e.loginFrom(from, "", "alice", alicePW); code != 200 {
		t.Fatalf("success: %d", code)
	}
	e.loginFrom(from, "", "agent19", "guess")
	e.loginFrom(from, "", "agent20", "guess") // the 21st failure of the address
	if code := e.loginFrom(from, "", "alice", alicePW); code != http.StatusTooManyRequests {
		t.Fatalf("address after 21 failures and one success in between: %d", code)
	}
	// The name's own failures are cleared by a success.
	e2 := newUIEnv(t, "")
	for i := 0; i < 5; i++ {
		e2.loginFrom(from, "", "alice", "guess")
	}
	e2.loginFrom(from, "", "alice", alicePW)
	for i := 0; i < 5; i++ {
		e2.loginFrom(from, "", "alice", "guess")
	}
	if code := e2.loginFrom(from, "", "alice", alicePW); code != 200 {
		t.Fatalf("five failures after a success: %d", code)
	}
}

// Review item 8: a cookie minted under one password hash stays valid
// after the hash changes (a config change is a restart: the new process
// has the new hash).
func TestPasswordChangeEndsSessions(t *testing.T) {
	e := newUIEnv(t, "")
	s, _ := e.login("alice", alicePW)
	restart := func(hash string) *inbox.Server {
		return inbox.New(inbox.Options{Store: e.st, Clock: e.clock.Now, Credentials: []inbox.Credential{
			{Principal: inbox.Principal{Name: "alice", Role: "agent"}, PasswordHash: hash}}})
	}
	whoami := func(srv *inbox.Server) int {
		req := httptest.NewRequest("GET", "/api/v1/session", nil)
		req.AddCookie(s.cookie)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := whoami(e.srv); code != 200 {
		t.Fatalf("before: %d", code)
	}
	if code := whoami(restart(bcryptHash(t, "a new password"))); code != 401 {
		t.Fatalf("after the password hash changed: %d", code)
	}
}

// stream opens GET /api/v1/events on a live server and returns its lines.
func stream(t *testing.T, base string, cookie *http.Cookie, bearer string) (<-chan string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/events", nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("events: %d", resp.StatusCode)
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
	if l := <-lines; l != ": connected" {
		t.Fatalf("first line %q", l)
	}
	return lines, cancel
}

// ends waits for a stream to end (failing after a generous time).
func ends(t *testing.T, what string, lines <-chan string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case _, ok := <-lines:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("%s: the event stream is still open", what)
		}
	}
}

// waitLine waits for a line containing s; it fails if the stream ends first.
func waitLine(t *testing.T, what string, lines <-chan string, s string) []string {
	t.Helper()
	var seen []string
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("%s: the stream ended before %q; saw %q", what, s, seen)
			}
			seen = append(seen, l)
			if strings.Contains(l, s) {
				return seen
			}
		case <-deadline:
			t.Fatalf("%s: no %q; saw %q", what, s, seen)
		}
	}
}

// Review item 3: a stream opened with a session kept running after the
// agent logged out.
func TestEventStreamEndsAtLogout(t *testing.T) {
	e := newUIEnv(t, "")
	hs := httptest.NewServer(e.srv)
	defer hs.Close()
	a, _ := e.login("alice", alicePW)
	b, _ := e.login("alice", alicePW) // another browser of hers
	r, _ := e.login("root", rootPW)
	la, ca := stream(t, hs.URL, a.cookie, "")
	defer ca()
	lb, cb := stream(t, hs.URL, b.cookie, "")
	defer cb()
	lr, cr := stream(t, hs.URL, r.cookie, "")
	defer cr()
	lt, ct := stream(t, hs.URL, nil, "bot-token")
	defer ct()
	if rec := e.do("DELETE", "/api/v1/session", "", a.cookie, inbox.CSRFHeader, a.csrf); rec.Code != 204 {
		t.Fatalf("logout: %d", rec.Code)
	}
	ends(t, "alice's stream after her logout", la)
	ends(t, "alice's other session's stream", lb)
	// Others' streams go on, and never hear of the logout.
	timeline.Publish(context.Background(), e.st, timeline.Event{Type: timeline.EventChannelPhase, Channel: "crm", Status: "live", Agent: "marker"})
	for name, l := range map[string]<-chan string{"root's session": lr, "a bearer token": lt} {
		if seen := waitLine(t, name, l, `"marker"`); strings.Contains(strings.Join(seen, "\n"), "session.ended") {
			t.Errorf("%s's stream carried the logout: %q", name, seen)
		}
	}
}

// Review item 3: a stream outlived its session's expiry.
func TestEventStreamEndsAtExpiry(t *testing.T) {
	defer inbox.SetSSEHeartbeat(20 * time.Millisecond)()
	e := newUIEnv(t, "")
	hs := httptest.NewServer(e.srv)
	defer hs.Close()
	a, _ := e.login("alice", alicePW)
	la, ca := stream(t, hs.URL, a.cookie, "")
	defer ca()
	lt, ct := stream(t, hs.URL, nil, "bot-token")
	defer ct()
	waitLine(t, "a heartbeat", la, "keep-alive")
	e.clock.Advance(inbox.SessionTTL + time.Second)
	ends(t, "a stream after its session expired", la)
	waitLine(t, "the bearer stream after the session expired", lt, "keep-alive")
	waitLine(t, "the bearer stream after the session expired", lt, "keep-alive")
}

// Review item 18: events of conversations outside an agent's audience
// (another team's pilot, shadow) never reach the agent's stream.
func TestEventStreamKeepsToTheAudience(t *testing.T) {
	e := newUIEnvWith(t, "", func(o *inbox.Options) { o.Teams = []string{"support", "sales"} })
	hs := httptest.NewServer(e.srv)
	defer hs.Close()
	a, _ := e.login("alice", alicePW) // team support
	la, ca := stream(t, hs.URL, a.cookie, "")
	defer ca()
	ctx := context.Background()
	for _, ev := range []timeline.Event{
		{Type: timeline.EventPresence, ConversationID: "v-sales", Audience: store.TeamAudience("sales"), Agent: "bob", Status: "viewing"},
		{Type: timeline.EventEntryCreated, ConversationID: "v-sales", Audience: store.TeamAudience("sales"), EntryID: "e-sales"},
		{Type: timeline.EventConversationUpdated, ConversationID: "v-shadow", Audience: store.AudienceShadow},
		{Type: timeline.EventPresence, ConversationID: "v-support", Audience: store.TeamAudience("support"), Agent: "carol", Status: "viewing"},
		{Type: timeline.EventPresence, ConversationID: "v-all", Audience: store.AudienceAll, Agent: "marker", Status: "viewing"},
	} {
		if err := timeline.Publish(ctx, e.st, ev); err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Join(waitLine(t, "alice's stream", la, `"marker"`), "\n")
	for _, bad := range []string{"v-sales", "v-shadow"} {
		if strings.Contains(got, bad) {
			t.Errorf("alice's stream carried %s:\n%s", bad, got)
		}
	}
	if !strings.Contains(got, "v-support") {
		t.Errorf("alice's stream lacks her team's pilot conversation:\n%s", got)
	}
}

// Review item 16: PATCH took any assignee and team, and ignored
// snoozed_until without the snoozed status.
func TestPatchConversationValidates(t *testing.T) {
	e := newUIEnv(t, "")
	conv := e.conversation()
	s, _ := e.login("alice", alicePW)
	path := "/api/v1/conversations/" + conv.ID
	future := e.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"assignee":"mallory"}`, 422},
		{`{"team":"no-such-team"}`, 422},
		{`{"snoozed_until":"` + future + `"}`, 422},
		{`{"status":"open","snoozed_until":"` + future + `"}`, 422},
		{`{"assignee":"root","team":"support"}`, 200},
		{`{"status":"snoozed","snoozed_until":"` + future + `"}`, 200},
		{`{"assignee":"","team":""}`, 200},
	} {
		if rec := e.do("PATCH", path, c.body, s.cookie, inbox.CSRFHeader, s.csrf); rec.Code != c.want {
			t.Errorf("PATCH %s: %d %s (want %d)", c.body, rec.Code, rec.Body, c.want)
		}
	}
	got, _ := e.st.GetConversation(context.Background(), conv.ID)
	if got.Assignee != "" || got.Team != "" || got.Status != store.StatusSnoozed {
		t.Fatalf("conversation after the PATCHes: %+v", got)
	}
}
