package email

// Test helpers: a real hub pipeline below HTTP (embedded store, ingest,
// router workers, outbound dispatcher, blob directory), the real Dovecot
// started by scripts/peers/email.sh (SWITCHBOARD_TEST_IMAP/_LMTP/
// _DOVECOT_CONF), and an in-process go-smtp server where a test must see
// exactly what was sent (PEERS.md allows it).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/lease"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/blobs"
	"github.com/switchboard-hub/switchboard/store/embedded"
	"github.com/switchboard-hub/switchboard/timeline"
)

const testChannel = "support-mail"

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// testLogger shows warnings and errors in the test log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// hub is a real pipeline below HTTP.
type hub struct {
	st     store.Store
	dir    *directory.Directory
	in     *router.Ingest
	out    *router.Outbound
	blobs  *blobs.Dir
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newHub(t testing.TB) *hub {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return newHubOn(t, st)
}

func newHubOn(t testing.TB, st store.Store) *hub {
	t.Helper()
	dir := directory.New(st, []directory.Channel{{Name: testChannel, Type: "email", Phase: store.PhaseLive}}, store.SystemClock, nil)
	rt := router.New(st, dir, router.Options{Workers: 4, Consumer: "test-" + randomHex(3), Logger: testLogger(t),
		Routing: router.Routing{Teams: []string{"support"}, Agents: []router.Agent{{Name: "alice", Teams: []string{"support"}}}}})
	bl, err := blobs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := &hub{st: st, dir: dir, in: router.NewIngest(st, dir, "FI", store.SystemClock, nil),
		out: router.NewOutbound(st, dir, store.SystemClock, testLogger(t), nil, rt.Conversations()), blobs: bl}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.wg.Add(2)
	go func() { defer h.wg.Done(); rt.Run(ctx) }()
	go func() { defer h.wg.Done(); h.out.Run(ctx, 2, "test-out") }()
	t.Cleanup(func() {
		cancel()
		h.wg.Wait()
		st.Close()
	})
	return h
}

func (h *hub) env(t testing.TB, replica string) connectors.Env {
	return withStore(connectors.Env{Name: testChannel, Sink: h.in, Status: h.out, Blobs: h.blobs, Logger: testLogger(t),
		Clock: time.Now, Replica: replica, Phase: func() string { return store.PhaseLive }}, h.st)
}

// withStore completes env as the hub does: the replica's leases and the
// checkpoint state, on st.
func withStore(env connectors.Env, st store.Store) connectors.Env {
	env.Leases = lease.New(st, env.Replica, nil, env.Logger)
	env.State = lease.NewState(st)
	env.Budgets = st
	return env
}

// leasedRun is c's Source as the hub runs it: under its lease, taken from
// the replica's leases in c's env.
func leasedRun(c *Channel) connectors.Source { return c.env.Leases.(*lease.Leases).Source(c) }

// channel builds the email channel from YAML-shaped settings.
func (h *hub) channel(t testing.TB, replica string, settings map[string]any) *Channel {
	t.Helper()
	c, err := New(config.Channel{Name: testChannel, Type: "email", Email: settings}, h.env(t, replica))
	if err != nil {
		t.Fatal(err)
	}
	h.out.SetSender(testChannel, c)
	return c
}

// run runs the channel's Source until the test ends; the returned func
// stops it early and waits.
func run(t testing.TB, c *Channel, sink connectors.Sink) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- leasedRun(c).Run(ctx, sink) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v after cancel; want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return within 10s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// entries returns every timeline entry of the customer owning email
// address addr, oldest first.
func (h *hub) entries(t testing.TB, addr string) []store.Entry {
	t.Helper()
	ctx := context.Background()
	b, err := h.st.LookupIdentity(ctx, connectors.Email, strings.ToLower(addr))
	if errors.Is(err, store.ErrNotFound) {
		b, err = h.st.LookupClaim(ctx, connectors.Email, strings.ToLower(addr))
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	v, err := timeline.Load(ctx, h.st, b.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	es, _, err := timeline.Page(ctx, h.st, v, "", 10000)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// countingSink counts Deliver calls and can be made to fail.
type countingSink struct {
	next  connectors.Sink
	n     atomic.Int64
	failN atomic.Int64 // fail the Nth call (1-based) once
}

func (s *countingSink) Deliver(ctx context.Context, m connectors.Message) (string, error) {
	n := s.n.Add(1)
	if f := s.failN.Load(); f > 0 && n == f {
		return "", errors.New("injected: store unavailable")
	}
	return s.next.Deliver(ctx, m)
}

// ---- Dovecot --------------------------------------------------------------

type dovecot struct {
	imap, lmtp, conf string
}

func testDovecot(t testing.TB) dovecot {
	t.Helper()
	d := dovecot{imap: os.Getenv("SWITCHBOARD_TEST_IMAP"), lmtp: os.Getenv("SWITCHBOARD_TEST_LMTP"), conf: os.Getenv("SWITCHBOARD_TEST_DOVECOT_CONF")}
	if d.imap == "" || d.lmtp == "" {
		testenv.Absent(t, "Dovecot (SWITCHBOARD_TEST_IMAP, SWITCHBOARD_TEST_LMTP; scripts/peers/email.sh)", nil)
	}
	conn, err := net.DialTimeout("tcp", d.imap, 2*time.Second)
	if err != nil {
		testenv.Absent(t, "Dovecot at "+d.imap, err)
	}
	conn.Close()
	return d
}

// newUser names a mailbox of the test's own (the peer's passdb accepts any
// user with password "secret").
func newUser() string { return "t-" + randomHex(5) + "@example.com" }

func (d dovecot) settings(user string, extra map[string]any) map[string]any {
	imapS := map[string]any{"addr": d.imap, "username": user, "password": "secret", "tls": "none", "allow_insecure": true}
	for k, v := range extra {
		imapS[k] = v
	}
	return map[string]any{"imap": imapS,
		"smtp":      map[string]any{"addr": "127.0.0.1:1", "from": "support@hub.example", "tls": "none", "allow_insecure": true},
		"lease_ttl": "2s"}
}

// deliver hands raw mails to Dovecot over LMTP, as an MTA would.
func (d dovecot) deliver(t testing.TB, user string, raws ...[]byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", d.lmtp, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		t.Fatal(err)
	}
	for _, raw := range raws {
		if err := c.Mail("sender@example.net", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(user, nil); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(raw); err != nil {
			t.Fatal(err)
		}
		if _, err := w.CloseWithLMTPResponse(); err != nil {
			t.Fatalf("lmtp delivery to %s: %v", user, err)
		}
	}
	_ = c.Quit()
}

// client logs in as user.
func (d dovecot) client(t testing.TB, user string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(d.imap, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(user, "secret").Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (d dovecot) uidValidity(t testing.TB, user, folder string) uint32 {
	t.Helper()
	c := d.client(t, user)
	st, err := c.Status(folder, &imap.StatusOptions{UIDValidity: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	return st.UIDValidity
}

// newMail builds a small RFC 5322 message.
func newMail(from, subject, msgID, body string, headers ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: support@hub.example\r\nSubject: %s\r\nDate: %s\r\n", from, subject, time.Now().UTC().Format(time.RFC1123Z))
	if msgID != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", msgID)
	}
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
	return b.Bytes()
}

// privateDovecot starts a Dovecot of the test's own (for tests that stop
// and restart the server). It needs the dovecot binary the peer script
// installs.
type privateDovecot struct {
	dovecot
	dir string
}

func startPrivateDovecot(t testing.TB) *privateDovecot { return startPrivateDovecotWith(t, nil) }

// startPrivateDovecotWith lets the test rewrite the config (given the
// instance's directory) before the server starts.
func startPrivateDovecotWith(t testing.TB, edit func(conf, dir string) string) *privateDovecot {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		testenv.Absent(t, "the dovecot binary (scripts/peers/email.sh installs it)", err)
	}
	dir, err := os.MkdirTemp("", "sb-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, sub := range []string{"run", "state", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.Chmod(dir, 0o755)
	_ = os.Chown(filepath.Join(dir, "mail"), 65534, 65534) // nobody:nogroup
	imapAddr, lmtpAddr := freeAddr(t), freeAddr(t)
	_, ip, _ := net.SplitHostPort(imapAddr)
	_, lp, _ := net.SplitHostPort(lmtpAddr)
	conf := filepath.Join(dir, "dovecot.conf")
	cfg := fmt.Sprintf(`protocols = imap lmtp
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = sb-test-%[4]s
log_path = %[1]s/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:%[1]s/mail/%%u/Maildir
passdb {
  driver = static
  args = password=secret
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=%[1]s/mail/%%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[2]s
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = %[3]s
  }
}
`, dir, ip, lp, randomHex(4))
	if edit != nil {
		cfg = edit(cfg, dir)
	}
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &privateDovecot{dovecot: dovecot{imap: imapAddr, lmtp: lmtpAddr, conf: conf}, dir: dir}
	p.start(t, bin)
	t.Cleanup(func() { p.stop(t) })
	return p
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (p *privateDovecot) start(t testing.TB, bin string) {
	t.Helper()
	cmd := exec.Command(bin, "-c", p.conf)
	// The master keeps the caller's stdio open: hand it /dev/null, never a
	// pipe (Wait would block until the master exits).
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	if err := cmd.Run(); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "dovecot.log"))
		t.Fatalf("dovecot: %v\n%s", err, log)
	}
	waitFor(t, "dovecot to listen", 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", p.imap, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func (p *privateDovecot) pid() int {
	b, err := os.ReadFile(filepath.Join(p.dir, "run", "master.pid"))
	if err != nil {
		return 0
	}
	var pid int
	fmt.Sscan(string(b), &pid)
	return pid
}

// stop ends the master (and with it every imap process) and waits.
func (p *privateDovecot) stop(t testing.TB) {
	pid := p.pid()
	if pid == 0 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for time.Now().Before(deadline) { // the port is free again
		c, err := net.DialTimeout("tcp", p.imap, 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

// ---- SMTP ----------------------------------------------------------------

// smtpSink is an in-process go-smtp server that records what it receives
// and can answer with an error.
type smtpSink struct {
	addr     string
	mu       sync.Mutex
	msgs     []sentMail
	fail     *smtp.SMTPError // answered to DATA when set
	user     string
	password string
	srv      *smtp.Server
	auths    int  // AUTH attempts
	tls      bool // a mail arrived over TLS
	// token, when set, is the XOAUTH2/OAUTHBEARER access token accepted
	// for user (the server then offers those mechanisms, not PLAIN).
	token string
}

type sentMail struct {
	From string
	To   []string
	Data []byte
}

func startSMTP(t testing.TB) *smtpSink {
	t.Helper()
	s := &smtpSink{user: "hub", password: "smtp-pa55word-xyz"}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{s: s, conn: c}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr, s.srv = l.Addr().String(), srv
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpSink) received() []sentMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sentMail(nil), s.msgs...)
}

func (s *smtpSink) authAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auths
}

func (s *smtpSink) wasTLS() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tls
}

func (s *smtpSink) setFail(e *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = e
}

type smtpSession struct {
	s    *smtpSink
	conn *smtp.Conn
	from string
	to   []string
	auth bool
}

func (ss *smtpSession) AuthMechanisms() []string {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.token != "" {
		return []string{XOAUTH2, sasl.OAuthBearer}
	}
	return []string{sasl.Plain}
}

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	ss.s.mu.Lock()
	ss.s.auths++
	ss.s.mu.Unlock()
	switch mech {
	case XOAUTH2:
		return &xoauth2Server{check: ss.checkToken}, nil
	case sasl.OAuthBearer:
		return sasl.NewOAuthBearerServer(func(o sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
			if ss.checkToken(o.Username, o.Token) != nil {
				return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
			}
			return nil
		}), nil
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.user || password != ss.s.password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		ss.auth = true
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.auth {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	ss.from = from
	return nil
}
func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}
func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.fail != nil {
		return ss.s.fail
	}
	if ss.conn != nil {
		if _, ok := ss.conn.TLSConnectionState(); ok {
			ss.s.tls = true
		}
	}
	ss.s.msgs = append(ss.s.msgs, sentMail{From: ss.from, To: ss.to, Data: b})
	return nil
}
func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }

// checkToken accepts the sink's token for its user.
func (ss *smtpSession) checkToken(user, token string) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if user != ss.s.user || token == "" || token != ss.s.token {
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
	}
	ss.auth = true
	return nil
}

// xoauth2Server checks an XOAUTH2 initial response the way Gmail does:
// "user=USER^Aauth=Bearer TOKEN^A^A"; a bad token gets a JSON error
// challenge, then the failure.
type xoauth2Server struct {
	check  func(user, token string) error
	failed error
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.failed != nil {
		return nil, true, x.failed // the client's empty answer to the error challenge
	}
	if resp == nil {
		return []byte{}, false, nil // ask for the initial response
	}
	var user, token string
	for _, f := range strings.Split(string(resp), "\x01") {
		if v, ok := strings.CutPrefix(f, "user="); ok {
			user = v
		}
		if v, ok := strings.CutPrefix(f, "auth=Bearer "); ok {
			token = v
		}
	}
	if !strings.HasSuffix(string(resp), "\x01\x01") || user == "" || token == "" {
		return nil, true, &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "malformed XOAUTH2 response"}
	}
	if err := x.check(user, token); err != nil {
		x.failed = err
		return []byte(`{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}`), false, nil
	}
	return nil, true, nil
}
