package inbox

// Sign-in for the web UI: passwords (bcrypt or argon2id hashes from the
// configuration), session cookies and CSRF tokens.
//
// A session is a signed cookie, not a server-side record, so every replica
// accepts it without a shared session table:
//
//	sb_session = base64url(JSON{name, epoch, expiry, session id}) "." base64url(HMAC-SHA256(key, JSON))
//
// The HMAC key is created once per store (under a lease, so replicas agree)
// and kept as a checkpoint. Logging out increments the agent's session epoch
// (another checkpoint); a cookie carrying an older epoch is refused by every
// replica, so logging out ends all of that agent's sessions. The CSRF token
// is HMAC(key, "csrf" + session id): nothing to store, and it is worthless
// without the cookie it belongs to. Every state-changing request made with
// the cookie must carry it in the X-CSRF-Token header (a header a cross-site
// form or image cannot set), and a cross-origin Origin header is refused.
//
// Repeated failures lock the name (and, with a higher threshold, the client
// address) out for an exponentially growing time. The counters are kept per
// replica.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-hub/switchboard/store"
)

const (
	// SessionCookie is the name of the session cookie.
	SessionCookie = "sb_session"
	// CSRFHeader carries the CSRF token on state-changing requests.
	CSRFHeader = "X-CSRF-Token"
	// SessionTTL is how long a session lasts (a working day and then some).
	SessionTTL = 12 * time.Hour

	sessionKeyName   = "inbox.session-key"
	sessionEpochName = "inbox.session-epoch."

	// Lockout: after lockFreeAttempts failures for one name (lockFreeAttemptsIP
	// for one client address) each further failure locks it for
	// lockBase·2^(n-free-1), at most lockMax. lockForget without failures
	// forgets them.
	lockFreeAttempts   = 5
	lockFreeAttemptsIP = 20
	lockBase           = 2 * time.Second
	lockMax            = 15 * time.Minute
	lockForget         = 15 * time.Minute
)

// sessions signs and checks session cookies and rate-limits sign-in.
type sessions struct {
	st    store.Store
	clock store.Clock
	https bool // public_url is https: cookies are Secure even behind a TLS-terminating proxy
	// origins accepted on state-changing requests besides the request's own host.
	publicOrigin string

	mu    sync.Mutex
	key   []byte
	fails map[string]*failures

	// verify bounds concurrent password checks (each is ~50 ms of CPU by design).
	verify chan struct{}
}

type failures struct {
	n     int
	until time.Time // locked until
	last  time.Time
}

func newSessions(o Options) *sessions {
	ss := &sessions{st: o.Store, clock: o.Clock, fails: map[string]*failures{}, verify: make(chan struct{}, 4)}
	if u, err := url.Parse(o.PublicURL); err == nil && u.Host != "" {
		ss.https = u.Scheme == "https"
		ss.publicOrigin = u.Scheme + "://" + u.Host
	}
	return ss
}

// session is a verified cookie.
type session struct {
	Name   string `json:"n"`
	Epoch  int64  `json:"e"`
	Expiry int64  `json:"x"` // unix seconds
	ID     string `json:"s"`
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) (session, bool) {
	s, ok := ctx.Value(sessionKey{}).(session)
	return s, ok
}

// signingKey returns the store's session key, creating it once. The lease
// makes concurrent first starts of several replicas agree on one key.
func (ss *sessions) signingKey(ctx context.Context) ([]byte, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.key != nil {
		return ss.key, nil
	}
	b, err := ss.st.GetCheckpoint(ctx, sessionKeyName)
	if errors.Is(err, store.ErrNotFound) {
		b, err = ss.createKey(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	if len(b) < 32 {
		return nil, fmt.Errorf("session key: stored key is %d bytes, want 32", len(b))
	}
	ss.key = b
	return b, nil
}

func (ss *sessions) createKey(ctx context.Context) ([]byte, error) {
	holder := randomHex(8)
	var l store.Lease
	var err error
	for i := 0; ; i++ {
		l, err = ss.st.AcquireLease(ctx, sessionKeyName, holder, 10*time.Second)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrLeaseHeld) || i >= 100 {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	defer ss.st.ReleaseLease(context.WithoutCancel(ctx), sessionKeyName, holder, l.Token)
	b, err := ss.st.GetCheckpoint(ctx, sessionKeyName)
	if !errors.Is(err, store.ErrNotFound) {
		return b, err // another replica made it first
	}
	b = make([]byte, 32)
	rand.Read(b)
	return b, ss.st.PutCheckpoint(ctx, sessionKeyName, b)
}

func (ss *sessions) epoch(ctx context.Context, name string) (int64, error) {
	b, err := ss.st.GetCheckpoint(ctx, sessionEpochName+name)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(b), 10, 64)
}

// endAll ends every session of name (log out).
func (ss *sessions) endAll(ctx context.Context, name string) error {
	e, err := ss.epoch(ctx, name)
	if err != nil {
		return err
	}
	return ss.st.PutCheckpoint(ctx, sessionEpochName+name, []byte(strconv.FormatInt(e+1, 10)))
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// issue returns a cookie value for name.
func (ss *sessions) issue(ctx context.Context, name string) (string, session, error) {
	key, err := ss.signingKey(ctx)
	if err != nil {
		return "", session{}, err
	}
	ep, err := ss.epoch(ctx, name)
	if err != nil {
		return "", session{}, err
	}
	s := session{Name: name, Epoch: ep, Expiry: ss.clock().Add(SessionTTL).Unix(), ID: randomHex(16)}
	payload, _ := json.Marshal(s)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(mac(key, "session", string(payload))), s, nil
}

// check verifies a cookie value: signature, expiry, and that the agent has
// not logged out since.
func (ss *sessions) check(ctx context.Context, value string) (session, error) {
	key, err := ss.signingKey(ctx)
	if err != nil {
		return session{}, err
	}
	p64, m64, ok := strings.Cut(value, ".")
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p64)
	sig, err2 := enc.DecodeString(m64)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(sig, mac(key, "session", string(payload))) {
		return session{}, errBadSession
	}
	var s session
	if json.Unmarshal(payload, &s) != nil || s.Name == "" || s.ID == "" {
		return session{}, errBadSession
	}
	if ss.clock().Unix() >= s.Expiry {
		return session{}, errBadSession
	}
	ep, err := ss.epoch(ctx, s.Name)
	if err != nil {
		return session{}, err
	}
	if ep != s.Epoch {
		return session{}, errBadSession
	}
	return s, nil
}

var errBadSession = errors.New("session is invalid or has ended")

// csrfToken is the CSRF token of session s.
func (ss *sessions) csrfToken(ctx context.Context, s session) (string, error) {
	key, err := ss.signingKey(ctx)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(mac(key, "csrf", s.ID)), nil
}

func (ss *sessions) cookie(r *http.Request, value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: SessionCookie, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || ss.https}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	return c
}

// sameOrigin reports whether a browser's Origin header (when sent) names
// this hub. Requests without Origin (non-browser clients, old browsers on
// same-origin GETs) pass: the CSRF token is the main defence.
func (ss *sessions) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	if ss.publicOrigin != "" && strings.EqualFold(o, ss.publicOrigin) {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// ---- lockout ---------------------------------------------------------------

// locked reports how long sign-in stays refused for these keys (0: not locked).
func (ss *sessions) locked(keys ...string) time.Duration {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.clock()
	var wait time.Duration
	for _, k := range keys {
		if f := ss.fails[k]; f != nil && f.until.After(now) {
			wait = max(wait, f.until.Sub(now))
		}
	}
	return wait
}

// failed records a failed sign-in for each key (with its free attempts).
func (ss *sessions) failed(keys map[string]int) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.clock()
	if len(ss.fails) > 10000 {
		for k, f := range ss.fails {
			if now.Sub(f.last) > lockForget && !f.until.After(now) {
				delete(ss.fails, k)
			}
		}
	}
	for k, free := range keys {
		f := ss.fails[k]
		if f == nil || now.Sub(f.last) > lockForget {
			f = &failures{}
			ss.fails[k] = f
		}
		f.n++
		f.last = now
		if f.n > free {
			d := lockBase << min(f.n-free-1, 20)
			f.until = now.Add(min(d, lockMax))
		}
	}
}

func (ss *sessions) succeeded(keys ...string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, k := range keys {
		delete(ss.fails, k)
	}
}

// ---- passwords -------------------------------------------------------------

// VerifyPassword reports whether password matches hash: bcrypt ($2a$, $2b$,
// $2y$) or argon2id in the PHC string format
// ($argon2id$v=19$m=65536,t=3,p=4$SALT$HASH, unpadded base64).
func VerifyPassword(hash, password string) (bool, error) {
	switch {
	case strings.HasPrefix(hash, "$2"):
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		return err == nil, err
	case strings.HasPrefix(hash, "$argon2id$"):
		p, err := ParseArgon2id(hash)
		if err != nil {
			return false, err
		}
		got := argon2.IDKey([]byte(password), p.Salt, p.Time, p.Memory, p.Threads, uint32(len(p.Key)))
		return subtle.ConstantTimeCompare(got, p.Key) == 1, nil
	}
	return false, errors.New("password hash is neither bcrypt nor argon2id")
}

// Argon2id is a parsed argon2id PHC string.
type Argon2id struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	Salt    []byte
	Key     []byte
}

// ParseArgon2id parses $argon2id$v=19$m=M,t=T,p=P$SALT$HASH.
func ParseArgon2id(s string) (Argon2id, error) {
	var p Argon2id
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" {
		return p, errors.New("argon2id hash must look like $argon2id$v=19$m=65536,t=3,p=4$SALT$HASH")
	}
	var m, t, th uint64
	var err error
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		var n uint64
		n, err = strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, fmt.Errorf("argon2id parameter %q: %w", kv, err)
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			th = n
		default:
			return p, fmt.Errorf("argon2id: unknown parameter %q", k)
		}
	}
	if m < 8 || t < 1 || th < 1 || th > 255 {
		return p, errors.New("argon2id parameters m, t and p are required (m ≥ 8, t ≥ 1, 1 ≤ p ≤ 255)")
	}
	dec := base64.RawStdEncoding
	salt, err1 := dec.DecodeString(parts[4])
	key, err2 := dec.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, errors.New("argon2id salt and hash must be unpadded base64 (salt ≥ 8 bytes, hash ≥ 16 bytes)")
	}
	return Argon2id{Memory: uint32(m), Time: uint32(t), Threads: uint8(th), Salt: salt, Key: key}, nil
}

// ---- HTTP --------------------------------------------------------------------

// authenticate finds the caller: a bearer token, or a session cookie (then a
// state-changing request also needs the CSRF token and, when the browser
// sends one, a same-origin Origin). It writes the error answer itself.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	tok := bearer(r)
	if tok == "" && r.URL.Path == "/api/v1/events" {
		tok = r.URL.Query().Get("access_token")
	}
	if tok != "" {
		p, ok := s.auth.lookup(tok)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required")
			return r, false
		}
		return r.WithContext(context.WithValue(r.Context(), principalKey{}, p)), true
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "sign in, or send a valid bearer token")
		return r, false
	}
	sess, err := s.sess.check(r.Context(), c.Value)
	var p Principal
	ok := err == nil
	if ok {
		p, ok = s.auth.byName(sess.Name)
	}
	if !ok {
		if err != nil && !errors.Is(err, errBadSession) {
			s.o.Logger.Warn("session check failed", "err", err)
			writeError(w, http.StatusServiceUnavailable, "unavailable", "sessions cannot be checked right now")
			return r, false
		}
		http.SetCookie(w, s.sess.cookie(r, "", time.Time{}))
		writeError(w, http.StatusUnauthorized, "unauthorized", "the session has ended; sign in again")
		return r, false
	}
	if !safeMethod(r.Method) {
		want, err := s.sess.csrfToken(r.Context(), sess)
		got := r.Header.Get(CSRFHeader)
		if err != nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			writeError(w, http.StatusForbidden, "csrf", "this request needs the session's CSRF token in the "+CSRFHeader+" header")
			return r, false
		}
		if !s.sess.sameOrigin(r) {
			writeError(w, http.StatusForbidden, "csrf", "cross-origin request refused")
			return r, false
		}
	}
	ctx := context.WithValue(r.Context(), principalKey{}, p)
	return r.WithContext(context.WithValue(ctx, sessionKey{}, sess)), true
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// byName finds the principal of an agent by name.
func (a *authenticator) byName(name string) (Principal, bool) {
	for _, c := range a.creds {
		if c.Principal.Name == name {
			return c.Principal, true
		}
	}
	return Principal{}, false
}

// passwordHash returns the password hash of agent name ("" when the agent
// does not exist or has no password).
func (a *authenticator) passwordHash(name string) string {
	for _, c := range a.creds {
		if c.Principal.Name == name {
			return c.PasswordHash
		}
	}
	return ""
}

func (a *authenticator) anyPasswordHash() string {
	for _, c := range a.creds {
		if c.PasswordHash != "" {
			return c.PasswordHash
		}
	}
	return ""
}

// sessionInfo is what the UI learns about who it is signed in as.
type sessionInfo struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Teams     []string  `json:"teams"`
	CSRFToken string    `json:"csrf_token,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Agents and AllTeams let the UI offer assignment and team filters.
	Agents   []string `json:"agents"`
	AllTeams []string `json:"all_teams"`
}

func (s *Server) sessionInfo(ctx context.Context, p Principal, sess *session) (sessionInfo, error) {
	in := sessionInfo{Name: p.Name, Role: p.Role, Teams: p.Teams, AllTeams: s.o.Teams, Agents: []string{}}
	if in.Teams == nil {
		in.Teams = []string{}
	}
	if in.AllTeams == nil {
		in.AllTeams = []string{}
	}
	for _, c := range s.auth.creds {
		in.Agents = append(in.Agents, c.Principal.Name)
	}
	if sess != nil {
		tok, err := s.sess.csrfToken(ctx, *sess)
		if err != nil {
			return in, err
		}
		in.CSRFToken, in.ExpiresAt = tok, time.Unix(sess.Expiry, 0).UTC()
	}
	return in, nil
}

// login signs an agent in with name and password (POST /api/v1/session).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	// A cross-site HTML form cannot send JSON, and a script needs CORS: no
	// other site can sign a browser in to an account of its choosing.
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "bad_content_type", "sign in with a JSON body {\"name\":…,\"password\":…}")
		return
	}
	if !s.sess.sameOrigin(r) {
		writeError(w, http.StatusForbidden, "csrf", "cross-origin sign-in refused")
		return
	}
	var in struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if !s.decodeBody(w, r, &in) {
		return
	}
	if in.Name == "" || in.Password == "" || len(in.Name) > 200 || len(in.Password) > 1024 {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "name and password are required")
		return
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	nameKey, ipKey := "name:"+strings.ToLower(in.Name), "ip:"+ip
	if wait := s.sess.locked(nameKey, ipKey); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusTooManyRequests, "locked", fmt.Sprintf("too many failed sign-ins; try again in %d s", secs))
		return
	}
	hash := s.auth.passwordHash(in.Name)
	select {
	case s.sess.verify <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	var ok bool
	if hash == "" {
		// An unknown name costs as much time as a wrong password: check
		// against some agent's hash and ignore the result.
		if h := s.auth.anyPasswordHash(); h != "" {
			VerifyPassword(h, in.Password)
		}
	} else if ok, err = VerifyPassword(hash, in.Password); err != nil {
		s.o.Logger.Warn("password hash of agent cannot be checked", "agent", in.Name, "err", err)
	}
	<-s.sess.verify
	if !ok {
		s.sess.failed(map[string]int{nameKey: lockFreeAttempts, ipKey: lockFreeAttemptsIP})
		s.o.Logger.Info("sign-in failed", "agent", in.Name, "remote", ip)
		writeError(w, http.StatusUnauthorized, "unauthorized", "wrong name or password")
		return
	}
	s.sess.succeeded(nameKey, ipKey)
	value, sess, err := s.sess.issue(r.Context(), in.Name)
	if err != nil {
		storeError(w, err)
		return
	}
	p, _ := s.auth.byName(in.Name)
	info, err := s.sessionInfo(r.Context(), p, &sess)
	if err != nil {
		storeError(w, err)
		return
	}
	_ = s.o.Store.AppendAudit(r.Context(), store.AuditRecord{At: s.o.Clock().UTC(), Actor: p.Name, Action: "session.login", Target: p.Name, Detail: "from " + ip})
	http.SetCookie(w, s.sess.cookie(r, value, time.Unix(sess.Expiry, 0)))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, info)
}

// whoami answers GET /api/v1/session: the caller, and with a session its CSRF token.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	var sp *session
	if sess, ok := sessionFrom(r.Context()); ok {
		sp = &sess
	}
	info, err := s.sessionInfo(r.Context(), principalFrom(r.Context()), sp)
	if err != nil {
		storeError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, info)
}

// logout ends every session of the caller (DELETE /api/v1/session).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	if _, ok := sessionFrom(r.Context()); ok {
		if err := s.sess.endAll(r.Context(), p.Name); err != nil {
			storeError(w, err)
			return
		}
		_ = s.o.Store.AppendAudit(r.Context(), store.AuditRecord{At: s.o.Clock().UTC(), Actor: p.Name, Action: "session.logout", Target: p.Name})
	}
	http.SetCookie(w, s.sess.cookie(r, "", time.Time{}))
	w.WriteHeader(http.StatusNoContent)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
