package inbox

// Sign-in for the web UI: passwords (bcrypt or argon2id hashes from the
// configuration), session cookies and CSRF tokens.
//
// A session is a signed cookie, not a server-side record, so every replica
// accepts it without a shared session table:
//
//	sb_session = base64url(JSON{name, epoch, expiry, session id, credential digest}) "." base64url(HMAC-SHA256(key, JSON))
//
// (named __Host-sb_session when the cookie is Secure). The HMAC key is
// derived from a random key created once per store (the store's
// session-key record, created if absent atomically, so replicas agree) and,
// when http.session_secret is configured, that secret:
// key = HMAC-SHA256(secret, "session-key" + stored key). A copy of the store
// alone then cannot mint cookies; replicas configured with the same secret
// accept each other's. Without the secret the stored key is the key. Logging out increments the agent's session
// epoch (the store's epoch record); a cookie carrying an older epoch is
// refused by every replica,
// so logging out ends all of that agent's sessions, open event streams
// included. The credential digest is HMAC(key, name, password hash): a
// cookie minted before the agent's password hash changed no longer
// validates. The CSRF token
// is HMAC(key, "csrf" + session id): nothing to store, and it is worthless
// without the cookie it belongs to. Every state-changing request made with
// the cookie must carry it in the X-CSRF-Token header (a header a cross-site
// form or image cannot set), and a cross-origin Origin header is refused.
//
// Repeated failures lock the name (and, with a higher threshold, the client
// address) out for an exponentially growing time. An attempt is counted as
// in progress before its password is checked, so parallel guesses cannot
// overtake the lock. The counters are kept per replica. The client address
// is the TCP peer, or, when the peer is a trusted proxy
// (http.trusted_proxies), the rightmost X-Forwarded-For address that is not
// a trusted proxy.

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
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

const (
	// SessionCookie is the name of the session cookie over plain HTTP.
	SessionCookie = "sb_session"
	// SecureSessionCookie is its name when the cookie is Secure (TLS, or an
	// https public URL): the __Host- prefix makes browsers refuse it unless
	// it is Secure, host-only and for Path=/, so no sibling subdomain can
	// plant one.
	SecureSessionCookie = "__Host-" + SessionCookie
	// CSRFHeader carries the CSRF token on state-changing requests.
	CSRFHeader = "X-CSRF-Token"
	// SessionTTL is how long a session lasts (a working day and then some).
	SessionTTL = 12 * time.Hour

	// legacyKeyName and legacyEpochName are the checkpoints under which
	// versions before the store's Sessions records kept the key and the
	// epochs; they are read (never written) so an upgrade keeps every
	// session (see signingKey and epoch).
	legacyKeyName   = "inbox.session-key"
	legacyEpochName = "inbox.session-epoch."

	// Lockout: after lockFreeAttempts failures for one name (lockFreeAttemptsIP
	// for one client address) each further failure locks it for
	// lockBase·2^(n-free-1), at most lockMax. lockForget without failures
	// forgets them.
	lockFreeAttempts   = 5
	lockFreeAttemptsIP = 20
	lockBase           = 2 * time.Second
	lockMax            = 15 * time.Minute
	lockForget         = 15 * time.Minute

	// verifySlots bounds concurrent password checks; at most verifyQueue
	// sign-ins wait for a slot, further ones are answered 503.
	verifySlots = 4
	verifyQueue = 32
)

// sessions signs and checks session cookies and rate-limits sign-in.
type sessions struct {
	st    store.Store
	clock store.Clock
	https bool // public_url is https: cookies are Secure even behind a TLS-terminating proxy
	// origins accepted on state-changing requests besides the request's own host.
	publicOrigin string

	// trusted proxies: X-Forwarded-For is believed only from these peers.
	trusted []netip.Prefix
	// auth holds the credentials; a session is bound to its agent's
	// password hash (credDigest).
	auth *authenticator

	keyMu sync.Mutex // held while the key is loaded or created
	key   atomic.Pointer[[]byte]
	// secret (http.session_secret), when set, is mixed into the key.
	secret []byte
	// legacyEpochs caches each agent's legacy epoch (name → int64), read
	// once per process: nothing writes those checkpoints any more.
	legacyEpochs sync.Map

	// auditFailures counts audit records lost after their action happened.
	auditFailures *prometheus.CounterVec

	failMu    sync.Mutex
	fails     map[string]*failures
	lastSweep time.Time

	// verify bounds concurrent password checks (each is ~50 ms of CPU by
	// design); waiting counts sign-ins holding or waiting for a slot.
	verify  chan struct{}
	waiting atomic.Int64

	// dummy is checked for unknown names: a hash with the costliest
	// configured parameters, made on first use.
	dummyOnce sync.Once
	dummy     string
	hashes    []string // every configured password hash
}

type failures struct {
	n       int       // failures counted
	pending int       // attempts whose password is being checked
	until   time.Time // locked until
	last    time.Time // last failure
}

func newSessions(o Options, auth *authenticator) *sessions {
	ss := &sessions{st: o.Store, clock: o.Clock, fails: map[string]*failures{}, verify: make(chan struct{}, verifySlots),
		trusted: o.TrustedProxies, auth: auth, auditFailures: auditFailureCounter(o.Gatherer)}
	if o.SessionSecret != "" {
		ss.secret = []byte(o.SessionSecret)
	}
	for _, c := range auth.creds {
		if c.PasswordHash != "" {
			ss.hashes = append(ss.hashes, c.PasswordHash)
		}
	}
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
	Cred   string `json:"c"` // digest of the password hash it was issued under
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) (session, bool) {
	s, ok := ctx.Value(sessionKey{}).(session)
	return s, ok
}

// signingKey returns the session signing key: the store's session key
// (created once), or with a configured secret the key derived from both. The store
// creates it if absent atomically, so concurrent first starts of several
// replicas agree on one key. A key kept as a checkpoint by an earlier
// version is the one proposed, so an upgrade keeps every session.
func (ss *sessions) signingKey(ctx context.Context) ([]byte, error) {
	if k := ss.key.Load(); k != nil {
		return *k, nil
	}
	ss.keyMu.Lock()
	defer ss.keyMu.Unlock()
	if k := ss.key.Load(); k != nil {
		return *k, nil
	}
	candidate, err := ss.st.GetCheckpoint(ctx, legacyKeyName)
	if errors.Is(err, store.ErrNotFound) {
		candidate = make([]byte, 32)
		rand.Read(candidate)
	} else if err != nil {
		return nil, fmt.Errorf("session key: read the legacy key: %w", err)
	}
	b, err := ss.st.GetOrCreateSessionKey(ctx, candidate)
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	if len(b) < 32 {
		return nil, fmt.Errorf("session key: stored key is %d bytes, want 32", len(b))
	}
	if len(ss.secret) > 0 {
		b = mac(ss.secret, "session-key", string(b))
	}
	ss.key.Store(&b)
	return b, nil
}

// epoch is the agent's session epoch: the epoch an earlier version kept as
// a checkpoint (0 when none) plus the store's epoch record. The sum keeps
// the cookies of an upgraded deployment valid and those ended by a logout
// ended, and only grows.
func (ss *sessions) epoch(ctx context.Context, name string) (int64, error) {
	legacy, err := ss.legacyEpoch(ctx, name)
	if err != nil {
		return 0, err
	}
	n, err := ss.st.SessionEpoch(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("session epoch: %w", err)
	}
	return legacy + n, nil
}

func (ss *sessions) legacyEpoch(ctx context.Context, name string) (int64, error) {
	if v, ok := ss.legacyEpochs.Load(name); ok {
		return v.(int64), nil
	}
	var n int64
	b, err := ss.st.GetCheckpoint(ctx, legacyEpochName+name)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return 0, fmt.Errorf("session epoch: read the legacy epoch: %w", err)
	default:
		if n, err = strconv.ParseInt(string(b), 10, 64); err != nil {
			return 0, fmt.Errorf("session epoch: legacy epoch of %s: %w", name, err)
		}
	}
	ss.legacyEpochs.Store(name, n)
	return n, nil
}

// endAll ends every session of name (log out).
func (ss *sessions) endAll(ctx context.Context, name string) error {
	if _, err := ss.st.BumpSessionEpoch(ctx, name); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}

// auditFailureCounter is switchboard_audit_failures_total, registered on
// the metrics registry when the server has one.
func auditFailureCounter(g prometheus.Gatherer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_audit_failures_total",
		Help: "Audit records that could not be written after their action had happened."}, []string{"action"})
	if reg, ok := g.(prometheus.Registerer); ok {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
					return existing
				}
			}
		}
	}
	return c
}

// auditLost reports an audit record that could not be written although
// its action already happened and cannot be undone: never silently, but
// at error level and in switchboard_audit_failures_total.
func (s *Server) auditLost(rec store.AuditRecord, err error) {
	s.o.Logger.Error("audit record could not be written", "action", rec.Action, "actor", rec.Actor, "target", rec.Target, "err", err)
	s.sess.auditFailures.WithLabelValues(rec.Action).Inc()
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
	s := session{Name: name, Epoch: ep, Expiry: ss.clock().Add(SessionTTL).Unix(), ID: randomHex(16), Cred: ss.credDigest(key, name)}
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
	if !hmac.Equal([]byte(s.Cred), []byte(ss.credDigest(key, s.Name))) {
		return session{}, errBadSession // the password hash changed since
	}
	return s, ss.still(ctx, s)
}

// still reports whether verified session s is still valid: not expired,
// and the agent has not logged out since (errBadSession otherwise).
func (ss *sessions) still(ctx context.Context, s session) error {
	if ss.clock().Unix() >= s.Expiry {
		return errBadSession
	}
	ep, err := ss.epoch(ctx, s.Name)
	if err != nil {
		return err
	}
	if ep != s.Epoch {
		return errBadSession
	}
	return nil
}

// credDigest binds a session to the password hash it was issued under.
func (ss *sessions) credDigest(key []byte, name string) string {
	h := ss.auth.passwordHash(name)
	return base64.RawURLEncoding.EncodeToString(mac(key, "credential", name, h)[:12])
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

// secure reports whether r reached the hub over TLS (directly, or through
// a TLS-terminating proxy named by an https public URL).
func (ss *sessions) secure(r *http.Request) bool { return r.TLS != nil || ss.https }

func (ss *sessions) cookieName(r *http.Request) string {
	if ss.secure(r) {
		return SecureSessionCookie
	}
	return SessionCookie
}

// readCookie returns the session cookie's value ("" when there is none).
// Over TLS only the __Host- cookie counts.
func (ss *sessions) readCookie(r *http.Request) string {
	c, err := r.Cookie(ss.cookieName(r))
	if err != nil {
		return ""
	}
	return c.Value
}

func (ss *sessions) cookie(r *http.Request, value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: ss.cookieName(r), Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: ss.secure(r)}
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

// outcome of a sign-in attempt.
type outcome int

const (
	attemptFailed    outcome = iota
	attemptSucceeded         // clears the name's failures, never the address's
	attemptAbandoned         // not checked (busy, client gone): not counted
)

// entry returns the failures of k (nil when none are remembered).
func (ss *sessions) entry(k string, now time.Time) *failures {
	f := ss.fails[k]
	if f != nil && f.pending == 0 && !f.until.After(now) && now.Sub(f.last) > lockForget {
		delete(ss.fails, k)
		return nil
	}
	return f
}

// begin reserves a sign-in attempt for keys (each with its free attempts):
// it answers how long sign-in stays refused (0: go ahead, the attempt is
// now in progress and finish must follow). While attempts are in
// progress, another may start only if it could not be the one that locks
// the key, so parallel guesses get no more checks than serial ones.
func (ss *sessions) begin(keys map[string]int) time.Duration {
	ss.failMu.Lock()
	defer ss.failMu.Unlock()
	now := ss.clock()
	var wait time.Duration
	for k, free := range keys {
		f := ss.entry(k, now)
		switch {
		case f == nil:
		case f.until.After(now):
			wait = max(wait, f.until.Sub(now))
		case f.pending > 0 && f.n+f.pending >= free:
			wait = max(wait, time.Second) // the attempts in progress may lock it
		}
	}
	if wait > 0 {
		return wait
	}
	for k := range keys {
		f := ss.fails[k]
		if f == nil {
			f = &failures{}
			ss.fails[k] = f
		}
		f.pending++
	}
	return 0
}

// finish records the outcome of an attempt begun with keys; clear names
// the keys a success clears.
func (ss *sessions) finish(keys map[string]int, o outcome, clear ...string) {
	ss.failMu.Lock()
	defer ss.failMu.Unlock()
	now := ss.clock()
	for k, free := range keys {
		f := ss.fails[k]
		if f == nil {
			continue
		}
		f.pending--
		switch o {
		case attemptFailed:
			f.n++
			f.last = now
			if f.n > free {
				d := lockBase << min(f.n-free-1, 20)
				f.until = now.Add(min(d, lockMax))
			}
		case attemptSucceeded:
			for _, c := range clear {
				if c == k {
					f.n, f.until = 0, time.Time{}
				}
			}
		}
		if f.n == 0 && f.pending == 0 {
			delete(ss.fails, k)
		}
	}
	// Forget old failures now and then (not on every failure: the map may
	// be large while someone sprays names).
	if len(ss.fails) > 10000 && now.Sub(ss.lastSweep) > time.Minute {
		ss.lastSweep = now
		for k := range ss.fails {
			ss.entry(k, now)
		}
	}
}

// clientIP is the address sign-in failures are counted against: the TCP
// peer, or, when the peer is a trusted proxy, the rightmost address of
// X-Forwarded-For that is not a trusted proxy (the leftmost when all are).
func (ss *sessions) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !ss.trustedProxy(peer) {
		return host
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, p := range strings.Split(h, ",") {
			hops = append(hops, strings.TrimSpace(p))
		}
	}
	client := peer.Unmap()
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			ap, err2 := netip.ParseAddrPort(hops[i])
			if err2 != nil {
				break // garbage: believe nothing further left
			}
			a = ap.Addr()
		}
		client = a.Unmap()
		if !ss.trustedProxy(client) {
			break
		}
	}
	return client.String()
}

func (ss *sessions) trustedProxy(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ss.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies parses http.trusted_proxies: IP addresses and CIDR
// prefixes.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an IP address nor a CIDR prefix", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ---- passwords -------------------------------------------------------------

// VerifyPassword reports whether password matches hash: bcrypt ($2a$, $2b$,
// $2y$) or argon2id in the PHC string format
// ($argon2id$v=19$m=65536,t=3,p=4$SALT$HASH, unpadded base64).
//
// Hashes costlier than MaxBcryptCost or MaxArgon2idMemory/MaxArgon2idTime
// are refused rather than computed.
func VerifyPassword(hash, password string) (bool, error) {
	switch {
	case strings.HasPrefix(hash, "$2"):
		if c, err := bcrypt.Cost([]byte(hash)); err == nil && c > MaxBcryptCost {
			return false, fmt.Errorf("bcrypt cost %d is above %d", c, MaxBcryptCost)
		}
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

// Upper bounds of password-hash parameters (config validation refuses
// more): a sign-in must not cost seconds of CPU or gigabytes of memory.
const (
	MaxBcryptCost     = 16
	MaxArgon2idMemory = 1 << 20 // KiB (1 GiB)
	MaxArgon2idTime   = 10
)

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
	if m < 8 || t < 1 || th < 1 || th > 255 || m > MaxArgon2idMemory || t > MaxArgon2idTime {
		return p, fmt.Errorf("argon2id parameters m, t and p are required (8 ≤ m ≤ %d, 1 ≤ t ≤ %d, 1 ≤ p ≤ 255)", MaxArgon2idMemory, MaxArgon2idTime)
	}
	dec := base64.RawStdEncoding
	salt, err1 := dec.DecodeString(parts[4])
	key, err2 := dec.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, errors.New("argon2id salt and hash must be unpadded base64 (salt ≥ 8 bytes, hash ≥ 16 bytes)")
	}
	return Argon2id{Memory: uint32(m), Time: uint32(t), Threads: uint8(th), Salt: salt, Key: key}, nil
}

// hashCost estimates the work of checking a password against hash, in
// units of about one bcrypt cost-0 round (bcrypt cost 10 ≈ argon2id with
// m=64 MiB, t=3); 0 when the hash cannot be read.
func hashCost(hash string) float64 {
	if c, err := bcrypt.Cost([]byte(hash)); err == nil {
		return float64(uint64(1) << c)
	}
	if p, err := ParseArgon2id(hash); err == nil {
		return float64(p.Memory) * float64(p.Time) / 192
	}
	return 0
}

// costliestHash returns the configured hash whose check costs the most.
func costliestHash(hashes []string) string {
	best, bestCost := "", 0.0
	for _, h := range hashes {
		if c := hashCost(h); c > bestCost {
			best, bestCost = h, c
		}
	}
	return best
}

// dummyHash returns a hash of a random password with the parameters of the
// costliest configured hash: an unknown name is checked against it, so it
// costs at least as much time as any agent's wrong password.
func (ss *sessions) dummyHash() string {
	ss.dummyOnce.Do(func() {
		h := costliestHash(ss.hashes)
		pw := []byte(randomHex(16))
		if c, err := bcrypt.Cost([]byte(h)); err == nil {
			b, err := bcrypt.GenerateFromPassword(pw, c)
			if err == nil {
				ss.dummy = string(b)
			}
			return
		}
		if p, err := ParseArgon2id(h); err == nil {
			salt := make([]byte, len(p.Salt))
			rand.Read(salt)
			key := argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, uint32(len(p.Key)))
			enc := base64.RawStdEncoding
			ss.dummy = fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.Memory, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key))
		}
	})
	return ss.dummy
}

// ---- HTTP --------------------------------------------------------------------

// authenticate finds the caller: a bearer token, or a session cookie (then a
// state-changing request also needs the CSRF token and, when the browser
// sends one, a same-origin Origin). It writes the error answer itself.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	tok := bearer(r)
	if tok != "" {
		p, ok := s.auth.lookup(tok)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required")
			return r, false
		}
		return r.WithContext(context.WithValue(r.Context(), principalKey{}, p)), true
	}
	cv := s.sess.readCookie(r)
	if cv == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "sign in, or send a valid bearer token")
		return r, false
	}
	sess, err := s.sess.check(r.Context(), cv)
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

// credential finds the credential of an agent by name.
func (a *authenticator) credential(name string) (Credential, bool) {
	for _, c := range a.creds {
		if c.Principal.Name == name {
			return c, true
		}
	}
	return Credential{}, false
}

// byName finds the principal of an agent by name.
func (a *authenticator) byName(name string) (Principal, bool) {
	c, ok := a.credential(name)
	return c.Principal, ok
}

// passwordHash returns the password hash of agent name ("" when the agent
// does not exist or has no password).
func (a *authenticator) passwordHash(name string) string {
	c, _ := a.credential(name)
	return c.PasswordHash
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
	// Leads are the teams the agent leads (their service reports).
	Leads []string `json:"leads,omitempty"`
}

func (s *Server) sessionInfo(ctx context.Context, p Principal, sess *session) (sessionInfo, error) {
	in := sessionInfo{Name: p.Name, Role: p.Role, Teams: p.Teams, AllTeams: s.o.Teams, Agents: []string{}}
	in.Leads = s.o.TeamLeads[p.Name]
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
	ip := s.sess.clientIP(r)
	nameKey, ipKey := "name:"+strings.ToLower(in.Name), "ip:"+ip
	keys := map[string]int{nameKey: lockFreeAttempts, ipKey: lockFreeAttemptsIP}
	// The attempt is in progress (and counts against the lock) from here,
	// before the password is checked: parallel guesses cannot overtake it.
	if wait := s.sess.begin(keys); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusTooManyRequests, "locked", fmt.Sprintf("too many failed sign-ins; try again in %d s", secs))
		return
	}
	ok, busy := s.checkPassword(r.Context(), in.Name, in.Password)
	switch {
	case busy:
		s.sess.finish(keys, attemptAbandoned)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "busy", "too many sign-ins at once; try again in a second")
		return
	case !ok:
		s.sess.finish(keys, attemptFailed)
		s.o.Logger.Info("sign-in failed", "agent", in.Name, "remote", ip)
		writeError(w, http.StatusUnauthorized, "unauthorized", "wrong name or password")
		return
	}
	// A success forgets the name's failures, not the address's: whoever
	// knows one password could otherwise reset the count between guesses.
	s.sess.finish(keys, attemptSucceeded, nameKey)
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
	// Audited before the cookie is handed out: when the record cannot be
	// written the sign-in fails (5xx) and no session exists for anyone.
	if err := s.o.Store.AppendAudit(r.Context(), store.AuditRecord{At: s.o.Clock().UTC(), Actor: p.Name, Action: "session.login", Target: p.Name, Detail: "from " + ip}); err != nil {
		s.o.Logger.Error("sign-in refused: audit record could not be written", "agent", p.Name, "err", err)
		storeError(w, fmt.Errorf("audit sign-in: %w", err))
		return
	}
	http.SetCookie(w, s.sess.cookie(r, value, time.Unix(sess.Expiry, 0)))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, info)
}

// checkPassword checks a sign-in in one of the bounded verification
// slots; busy: too many sign-ins wait already (or the client left).
func (s *Server) checkPassword(ctx context.Context, name, password string) (ok, busy bool) {
	if s.sess.waiting.Add(1) > verifySlots+verifyQueue {
		s.sess.waiting.Add(-1)
		return false, true
	}
	defer s.sess.waiting.Add(-1)
	select {
	case s.sess.verify <- struct{}{}:
	case <-ctx.Done():
		return false, true
	}
	defer func() { <-s.sess.verify }()
	hash := s.auth.passwordHash(name)
	if hash == "" {
		// An unknown name costs as much time as a wrong password: check a
		// dummy with the costliest configured parameters.
		if h := s.sess.dummyHash(); h != "" {
			VerifyPassword(h, password)
		}
		return false, false
	}
	ok, err := VerifyPassword(hash, password)
	if err != nil {
		s.o.Logger.Warn("password hash of agent cannot be checked", "agent", name, "err", err)
	}
	return ok, false
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
		// Audited before the sessions end (audit.go): a sign-out that
		// cannot be audited does not happen (503; the agent tries again).
		if !s.auditBefore(w, r, "session.logout", p.Name, "", "") {
			return
		}
		if err := s.sess.endAll(r.Context(), p.Name); err != nil {
			storeError(w, err)
			return
		}
		// Open event streams of the agent's sessions (on every replica) end.
		_ = timeline.Publish(r.Context(), s.o.Store, timeline.Event{Type: eventSessionEnded, Agent: p.Name})
	}
	http.SetCookie(w, s.sess.cookie(r, "", time.Time{}))
	w.WriteHeader(http.StatusNoContent)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
