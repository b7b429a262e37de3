package inbox_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

const (
	alicePW = "correct horse battery staple"
	rootPW  = "root-password-42"
)

func bcryptHash(t testing.TB, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func argon2idHash(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, 1, 64, 1, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=1$%s$%s", enc.EncodeToString(salt), enc.EncodeToString(key))
}

type uiEnv struct {
	t     *testing.T
	st    store.Store
	srv   *inbox.Server
	clock *store.FakeClock
}

func newUIEnv(t *testing.T, publicURL string) *uiEnv {
	t.Helper()
	return newUIEnvWith(t, publicURL, nil)
}

// newUIEnvWith is newUIEnv with options changed by mod before the server is built.
func newUIEnvWith(t *testing.T, publicURL string, mod func(*inbox.Options)) *uiEnv {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := store.NewFakeClock(time.Now())
	dir := directory.New(st, []directory.Channel{{Name: "crm", Type: "api", Phase: store.PhaseLive}}, clock.Now, nil)
	out := router.NewOutbound(st, dir, clock.Now, nil, nil, nil)
	o := inbox.Options{Store: st, Directory: dir, Outbound: out, Clock: clock.Now, PublicURL: publicURL, Teams: []string{"support"},
		Logger: slog.New(slog.DiscardHandler),
		Credentials: []inbox.Credential{
			{Principal: inbox.Principal{Name: "alice", Role: "agent", Teams: []string{"support"}}, PasswordHash: bcryptHash(t, alicePW)},
			{Principal: inbox.Principal{Name: "root", Role: "admin"}, PasswordHash: argon2idHash(rootPW), TokenSHA256: inbox.HashToken("root-token")},
			{Principal: inbox.Principal{Name: "bot", Role: "agent"}, TokenSHA256: inbox.HashToken("bot-token")},
		}}
	if mod != nil {
		mod(&o)
	}
	srv := inbox.New(o)
	return &uiEnv{t: t, st: st, srv: srv, clock: clock}
}

// do sends one request; hdr holds header name/value pairs.
func (e *uiEnv) do(method, path, body string, cookie *http.Cookie, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

type signedIn struct {
	cookie *http.Cookie
	csrf   string
	info   map[string]any
}

func (e *uiEnv) login(name, pw string) (signedIn, *httptest.ResponseRecorder) {
	e.t.Helper()
	rec := e.do("POST", "/api/v1/session", fmt.Sprintf(`{"name":%q,"password":%q}`, name, pw), nil)
	var s signedIn
	if rec.Code != 200 {
		return s, rec
	}
	json.Unmarshal(rec.Body.Bytes(), &s.info)
	s.csrf, _ = s.info["csrf_token"].(string)
	for _, c := range rec.Result().Cookies() {
		if c.Name == inbox.SessionCookie || c.Name == inbox.SecureSessionCookie {
			s.cookie = c
		}
	}
	if s.cookie == nil || s.csrf == "" {
		e.t.Fatalf("login %s: no cookie or csrf token: %v", name, rec.Header())
	}
	return s, rec
}

func TestSessionCookieAttributes(t *testing.T) {
	e := newUIEnv(t, "")
	s, _ := e.login("alice", alicePW)
	c := s.cookie
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/" || c.Expires.IsZero() {
		t.Fatalf("cookie over plain HTTP = %+v", c)
	}
	if s.info["name"] != "alice" || s.info["role"] != "agent" {
		t.Fatalf("session info = %v", s.info)
	}
	// Behind TLS, or with an https public URL (a TLS-terminating proxy): Secure.
	req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"name":"alice","password":"`+alicePW+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	if cs := rec.Result().Cookies(); rec.Code != 200 || len(cs) != 1 || !cs[0].Secure {
		t.Fatalf("over TLS: %d %v", rec.Code, rec.Result().Cookies())
	}
	if cs := rec.Result().Cookies(); cs[0].Name != inbox.SecureSessionCookie {
		t.Fatalf("Secure cookie without the __Host- prefix: %v", cs[0])
	}
	if s.cookie.Name != inbox.SessionCookie {
		t.Fatalf("cookie over plain HTTP named %q", s.cookie.Name)
	}
	if rec := e.do("GET", "/", "", nil); rec.Header().Get("Strict-Transport-Security") != "" {
		t.Fatalf("HSTS over plain HTTP: %v", rec.Header())
	}
	e2 := newUIEnv(t, "https://hub.example.com")
	s2, _ := e2.login("root", rootPW) // an argon2id hash
	if c := s2.cookie; !c.Secure || c.Name != "__Host-sb_session" || c.Path != "/" || c.Domain != "" {
		t.Fatalf("with an https public_url: %+v", s2.cookie)
	}
	if rec := e2.do("GET", "/api/v1/session", "", s2.cookie); rec.Code != 200 {
		t.Fatalf("the __Host- cookie: %d", rec.Code)
	}
	// Over https only the __Host- cookie counts: one planted under the
	// plain name (by a sibling subdomain, say) is ignored.
	planted := &http.Cookie{Name: inbox.SessionCookie, Value: s2.cookie.Value}
	if rec := e2.do("GET", "/api/v1/session", "", planted); rec.Code != 401 {
		t.Fatalf("a plain-named cookie over https: %d", rec.Code)
	}
	for _, p := range []string{"/", "/admin", "/ui/app.js"} {
		if hsts := e2.do("GET", p, "", nil).Header().Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
			t.Errorf("GET %s over https: HSTS %q", p, hsts)
		}
	}
}

func TestSessionAuthAndCSRF(t *testing.T) {
	e := newUIEnv(t, "")
	s, _ := e.login("alice", alicePW)
	conv := e.conversation()

	if rec := e.do("GET", "/api/v1/session", "", s.cookie); rec.Code != 200 || !strings.Contains(rec.Body.String(), s.csrf) {
		t.Fatalf("whoami: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do("GET", "/api/v1/conversations/"+conv.ID, "", s.cookie); rec.Code != 200 {
		t.Fatalf("GET with the cookie: %d %s", rec.Code, rec.Body)
	}
	note := `{"text":"a private note"}`
	path := "/api/v1/conversations/" + conv.ID + "/notes"
	for name, hdr := range map[string][]string{
		"no token":      nil,
		"wrong token":   {inbox.CSRFHeader, "x" + s.csrf},
		"empty token":   {inbox.CSRFHeader, ""},
		"cross origin":  {inbox.CSRFHeader, s.csrf, "Origin", "https://evil.example"},
		"token in form": {"X-Csrf", s.csrf},
	} {
		if rec := e.do("POST", path, note, s.cookie, hdr...); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "csrf") {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	if es, _ := e.st.PageEntries(context.Background(), conv.CustomerID, "", 10); len(es) != 0 {
		t.Fatalf("a refused request wrote %d entries", len(es))
	}
	if rec := e.do("POST", path, note, s.cookie, inbox.CSRFHeader, s.csrf, "Origin", "http://example.com"); rec.Code != http.StatusCreated {
		t.Fatalf("with the token (same origin): %d %s", rec.Code, rec.Body)
	}
	// A session's token does not fit another session.
	s2, _ := e.login("alice", alicePW)
	if s2.csrf == s.csrf {
		t.Fatal("two sessions share a CSRF token")
	}
	if rec := e.do("POST", path, note, s.cookie, inbox.CSRFHeader, s2.csrf); rec.Code != http.StatusForbidden {
		t.Fatalf("another session's token: %d", rec.Code)
	}
	// Bearer tokens need no CSRF token (browsers never send them by themselves).
	if rec := e.do("POST", path, note, nil, "Authorization", "Bearer bot-token"); rec.Code != http.StatusCreated {
		t.Fatalf("bearer: %d %s", rec.Code, rec.Body)
	}
	// A forged or altered cookie is refused.
	bad := *s.cookie
	bad.Value = strings.Replace(bad.Value, ".", ".A", 1)
	if rec := e.do("GET", "/api/v1/session", "", &bad); rec.Code != 401 {
		t.Fatalf("tampered cookie: %d", rec.Code)
	}
	forged := *s.cookie
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"n":"root","e":0,"x":9999999999,"s":"abc"}`))
	_, sig, _ := strings.Cut(s.cookie.Value, ".")
	forged.Value = payload + "." + sig
	if rec := e.do("GET", "/api/v1/session", "", &forged); rec.Code != 401 {
		t.Fatalf("forged cookie: %d", rec.Code)
	}
	// Sessions expire.
	e.clock.Advance(inbox.SessionTTL + time.Second)
	if rec := e.do("GET", "/api/v1/session", "", s.cookie); rec.Code != 401 {
		t.Fatalf("expired session: %d", rec.Code)
	}
}

func TestLoginRefusals(t *testing.T) {
	e := newUIEnv(t, "")
	for name, c := range map[string]struct {
		body, ct string
		want     int
	}{
		"wrong password":   {`{"name":"alice","password":"nope"}`, "application/json", 401},
		"unknown agent":    {`{"name":"mallory","password":"x"}`, "application/json", 401},
		"token-only agent": {`{"name":"bot","password":"bot-token"}`, "application/json", 401},
		"form post":        {`name=alice&password=x`, "application/x-www-form-urlencoded", 415},
		"empty":            {`{"name":"","password":""}`, "application/json", 422},
		"unknown field":    {`{"name":"alice","password":"x","admin":true}`, "application/json", 400},
	} {
		req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.ct)
		// All cases come from one address (3 failures, far below its
		// threshold) and no name fails more than once.
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code != c.want || len(rec.Result().Cookies()) != 0 {
			t.Errorf("%s: %d (want %d), cookies %v", name, rec.Code, c.want, rec.Result().Cookies())
		}
	}
	// Cross-site sign-in (login CSRF) is refused even with the right password.
	if rec := e.do("POST", "/api/v1/session", `{"name":"alice","password":"`+alicePW+`"}`, nil, "Origin", "https://evil.example"); rec.Code != 403 {
		t.Fatalf("cross-origin login: %d", rec.Code)
	}
	if rec := e.do("GET", "/api/v1/session", "", nil); rec.Code != 401 {
		t.Fatalf("whoami without credentials: %d", rec.Code)
	}
}

func TestLockoutAfterRepeatedFailures(t *testing.T) {
	e := newUIEnv(t, "")
	for i := 0; i < 5; i++ {
		if _, rec := e.login("alice", "guess"); rec.Code != 401 {
			t.Fatalf("failure %d: %d", i+1, rec.Code)
		}
	}
	// The sixth failure locks the name: even the right password is refused.
	e.login("alice", "guess")
	_, rec := e.login("alice", alicePW)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("while locked: %d %v", rec.Code, rec.Header())
	}
	// Another agent is not locked out by alice's failures.
	if _, rec := e.login("root", rootPW); rec.Code != 200 {
		t.Fatalf("root while alice is locked: %d", rec.Code)
	}
	// The lock ends; each further failure doubles it.
	e.clock.Advance(3 * time.Second)
	e.login("alice", "guess")
	e.clock.Advance(3 * time.Second)
	if _, rec := e.login("alice", alicePW); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("after a second lock of 4 s, 3 s later: %d", rec.Code)
	}
	e.clock.Advance(2 * time.Second)
	if _, rec := e.login("alice", alicePW); rec.Code != 200 {
		t.Fatalf("after the lock: %d %s", rec.Code, rec.Body)
	}
	// Success forgets the failures.
	for i := 0; i < 5; i++ {
		e.login("alice", "guess")
	}
	if _, rec := e.login("alice", alicePW); rec.Code != 200 {
		t.Fatalf("five failures after a success lock: %d", rec.Code)
	}
	// One address guessing many names is locked out too.
	for i := 0; i < 21; i++ {
		e.login(fmt.Sprintf("agent%d", i), "guess")
	}
	if _, rec := e.login("root", rootPW); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("address after 21 failures: %d", rec.Code)
	}
}

func TestLogoutEndsSessions(t *testing.T) {
	e := newUIEnv(t, "")
	a, _ := e.login("alice", alicePW)
	b, _ := e.login("alice", alicePW) // another browser
	r, _ := e.login("root", rootPW)
	if rec := e.do("DELETE", "/api/v1/session", "", a.cookie); rec.Code != 403 {
		t.Fatalf("logout without CSRF token: %d", rec.Code)
	}
	rec := e.do("DELETE", "/api/v1/session", "", a.cookie, inbox.CSRFHeader, a.csrf)
	if rec.Code != 204 {
		t.Fatalf("logout: %d %s", rec.Code, rec.Body)
	}
	if cs := rec.Result().Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Fatalf("logout cookie = %v", cs)
	}
	for name, c := range map[string]*http.Cookie{"same browser": a.cookie, "other browser": b.cookie} {
		if rec := e.do("GET", "/api/v1/session", "", c); rec.Code != 401 {
			t.Errorf("%s after logout: %d", name, rec.Code)
		}
	}
	if rec := e.do("GET", "/api/v1/session", "", r.cookie); rec.Code != 200 {
		t.Fatalf("another agent's session after alice logged out: %d", rec.Code)
	}
	if _, rec := e.login("alice", alicePW); rec.Code != 200 {
		t.Fatalf("sign in again: %d", rec.Code)
	}
}

func TestAgentsCannotUseAdminPages(t *testing.T) {
	e := newUIEnv(t, "")
	a, _ := e.login("alice", alicePW)
	r, _ := e.login("root", rootPW)
	if rec := e.do("GET", "/admin", "", a.cookie); rec.Code != 403 || !strings.Contains(rec.Body.String(), "Admins only") {
		t.Fatalf("agent /admin: %d", rec.Code)
	}
	if rec := e.do("GET", "/admin", "", r.cookie); rec.Code != 200 || !strings.Contains(rec.Body.String(), "/ui/app.js") {
		t.Fatalf("admin /admin: %d", rec.Code)
	}
	for _, rt := range []struct{ method, path, body string }{
		{"PUT", "/api/v1/channels/crm/phase", `{"phase":"off"}`},
		{"POST", "/api/v1/channels/crm/test", ""},
		{"GET", "/api/v1/queues/ingest", ""},
		{"GET", "/api/v1/audit", ""},
	} {
		if rec := e.do(rt.method, rt.path, rt.body, a.cookie, inbox.CSRFHeader, a.csrf); rec.Code != 403 {
			t.Errorf("agent %s %s: %d", rt.method, rt.path, rec.Code)
		}
	}
	if rec := e.do("PUT", "/api/v1/channels/crm/phase", `{"phase":"shadow"}`, r.cookie, inbox.CSRFHeader, r.csrf); rec.Code != 200 {
		t.Fatalf("admin phase change: %d %s", rec.Code, rec.Body)
	}
}

func TestPasswordHashes(t *testing.T) {
	for _, c := range []struct {
		hash, pw string
		ok       bool
	}{
		{bcryptHash(t, "s3cret"), "s3cret", true},
		{bcryptHash(t, "s3cret"), "S3cret", false},
		{argon2idHash("s3cret"), "s3cret", true},
		{argon2idHash("s3cret"), "s3cre", false},
	} {
		ok, err := inbox.VerifyPassword(c.hash, c.pw)
		if err != nil || ok != c.ok {
			t.Errorf("VerifyPassword(%s, %q) = %v, %v", c.hash[:10], c.pw, ok, err)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=65536$abc$def", "$argon2id$v=19$m=0,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$2a$10$short", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"} {
		if ok, err := inbox.VerifyPassword(bad, "x"); ok || err == nil {
			t.Errorf("VerifyPassword(%q) = %v, %v; want an error", bad, ok, err)
		}
	}
}

// conversation stores a customer and an open conversation directly.
func (e *uiEnv) conversation() store.Conversation {
	e.t.Helper()
	ctx := context.Background()
	now := e.clock.Now()
	if err := e.st.CreateCustomer(ctx, store.Customer{ID: "c1", Name: "Mia <b>Example</b>", CreatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
	c, _, err := e.st.OpenConversation(ctx, store.Conversation{ID: "v1", CustomerID: "c1", Channel: "crm", ThreadKey: "crm|t1",
		Status: store.StatusOpen, CreatedAt: now, LastActivity: now, Preview: "hello"})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// legacyCookie builds a session cookie the way every version signs them,
// with key: what a browser holds from before an upgrade.
func legacyCookie(key []byte, name, pwHash string, epoch int64, expiry time.Time) (cookie *http.Cookie, csrf string) {
	mac := func(parts ...string) []byte {
		m := hmac.New(sha256.New, key)
		for _, p := range parts {
			m.Write([]byte(p))
			m.Write([]byte{0})
		}
		return m.Sum(nil)
	}
	enc := base64.RawURLEncoding
	sid := fmt.Sprintf("sid-%d", epoch)
	payload, _ := json.Marshal(map[string]any{"n": name, "e": epoch, "x": expiry.Unix(), "s": sid,
		"c": enc.EncodeToString(mac("credential", name, pwHash)[:12])})
	value := enc.EncodeToString(payload) + "." + enc.EncodeToString(mac("session", string(payload)))
	return &http.Cookie{Name: inbox.SessionCookie, Value: value}, enc.EncodeToString(mac("csrf", sid))
}

// TestSessionsSurviveUpgrade: a deployment whose key and epochs were kept
// as checkpoints (before the store's session records) keeps its sessions,
// and those ended by a logout stay ended.
func TestSessionsSurviveUpgrade(t *testing.T) {
	var aliceHash string
	e := newUIEnvWith(t, "", func(o *inbox.Options) { aliceHash = o.Credentials[0].PasswordHash })
	ctx := context.Background()
	key := []byte("0123456789abcdef0123456789abcdef")
	if err := e.st.PutCheckpoint(ctx, "inbox.session-key", key); err != nil {
		t.Fatal(err)
	}
	if err := e.st.PutCheckpoint(ctx, "inbox.session-epoch.alice", []byte("2")); err != nil {
		t.Fatal(err)
	}
	exp := e.clock.Now().Add(time.Hour)
	live, csrf := legacyCookie(key, "alice", aliceHash, 2, exp)
	ended, _ := legacyCookie(key, "alice", aliceHash, 1, exp)
	if rec := e.do("GET", "/api/v1/session", "", live); rec.Code != 200 {
		t.Fatalf("a session from before the upgrade: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do("GET", "/api/v1/session", "", ended); rec.Code != 401 {
		t.Fatalf("a session ended by a logout before the upgrade: %d", rec.Code)
	}
	if got, err := e.st.GetOrCreateSessionKey(ctx, []byte("another key, not the one in force")); err != nil || string(got) != string(key) {
		t.Fatalf("session key record = %q, %v; want the checkpoint's key", got, err)
	}
	if rec := e.do("DELETE", "/api/v1/session", "", live, inbox.CSRFHeader, csrf); rec.Code != 204 {
		t.Fatalf("logout: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do("GET", "/api/v1/session", "", live); rec.Code != 401 {
		t.Fatalf("the session after logging out: %d", rec.Code)
	}
	s, rec := e.login("alice", alicePW)
	if rec.Code != 200 {
		t.Fatalf("sign in after the logout: %d", rec.Code)
	}
	if rec := e.do("GET", "/api/v1/session", "", s.cookie); rec.Code != 200 {
		t.Fatalf("a new session: %d", rec.Code)
	}
	if n, err := e.st.SessionEpoch(ctx, "alice"); err != nil || n != 1 {
		t.Fatalf("epoch record after one logout = %d, %v; want 1", n, err)
	}
}

// auditOutage is a store whose audit log can be made to fail.
type auditOutage struct {
	store.Store
	down atomic.Bool
}

func (a *auditOutage) AppendAudit(ctx context.Context, r store.AuditRecord) error {
	if a.down.Load() {
		return errors.New("audit log unavailable")
	}
	return a.Store.AppendAudit(ctx, r)
}

func auditFailures(t *testing.T, reg *prometheus.Registry, action string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "switchboard_audit_failures_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "action" && l.GetValue() == action {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestAuditFailures: an audit record that cannot be written fails its
// action (the one rule, audit.go): a sign-in, a quarantine deletion or a
// sign-out fails (5xx) and does not happen.
func TestAuditFailures(t *testing.T) {
	var outage *auditOutage
	reg := prometheus.NewRegistry()
	e := newUIEnvWith(t, "", func(o *inbox.Options) {
		outage = &auditOutage{Store: o.Store}
		o.Store, o.Gatherer = outage, reg
	})
	ctx := context.Background()
	a, _ := e.login("alice", alicePW)
	r, _ := e.login("root", rootPW)

	outage.down.Store(true)
	if _, rec := e.login("alice", alicePW); rec.Code/100 != 5 || len(rec.Result().Cookies()) != 0 {
		t.Errorf("sign-in without audit = %d with cookies %v, want 5xx and no cookie", rec.Code, rec.Result().Cookies())
	}

	q := store.QuarantineItem{ID: "q1", Channel: "web", Reason: "honeypot", Payload: []byte(`{"channel":"web","text":"spam?"}`)}
	if err := e.st.PutQuarantine(ctx, q); err != nil {
		t.Fatal(err)
	}
	if rec := e.do("DELETE", "/api/v1/quarantine/q1", "", r.cookie, inbox.CSRFHeader, r.csrf); rec.Code/100 != 5 {
		t.Errorf("quarantine deletion without audit = %d, want 5xx", rec.Code)
	}
	if qs, err := e.st.ListQuarantine(ctx, "", 10); err != nil || len(qs) != 1 || qs[0].ID != "q1" {
		t.Errorf("quarantine after an unaudited deletion = %v, %v; want q1 still there", qs, err)
	}

	if rec := e.do("DELETE", "/api/v1/session", "", a.cookie, inbox.CSRFHeader, a.csrf); rec.Code != 503 {
		t.Fatalf("logout without audit: %d %s, want 503 (not done)", rec.Code, rec.Body)
	}
	if rec := e.do("GET", "/api/v1/session", "", a.cookie); rec.Code != 200 {
		t.Errorf("session after a refused logout: %d, want 200 (still signed in)", rec.Code)
	}

	outage.down.Store(false)
	if rec := e.do("DELETE", "/api/v1/quarantine/q1", "", r.cookie, inbox.CSRFHeader, r.csrf); rec.Code != 204 {
		t.Errorf("quarantine deletion with audit: %d %s", rec.Code, rec.Body)
	}
	recs, err := e.st.ListAudit(ctx, 1)
	if err != nil || len(recs) != 1 || recs[0].Action != "quarantine.delete" {
		t.Errorf("newest audit record = %v, %v; want the quarantine deletion", recs, err)
	}
}
