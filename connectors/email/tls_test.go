package email

// TLS: IMAP over implicit TLS and STARTTLS against the real Dovecot of
// scripts/peers/email.sh (its certificate is signed by a CA made at setup,
// trusted here through tls_ca_file), SMTP over implicit TLS and STARTTLS
// against an in-process go-smtp server with a certificate made by the
// test, and plaintext logins refused unless explicitly allowed.

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
)

// tlsPeer is the TLS side of the Dovecot peer.
func tlsPeer(t *testing.T) (d dovecot, imaps, ca string) {
	t.Helper()
	d = testDovecot(t)
	imaps, ca = os.Getenv("SWITCHBOARD_TEST_IMAPS"), os.Getenv("SWITCHBOARD_TEST_EMAIL_CA")
	if imaps == "" || ca == "" {
		testenv.Absent(t, "Dovecot's TLS port (SWITCHBOARD_TEST_IMAPS, SWITCHBOARD_TEST_EMAIL_CA; scripts/peers/email.sh)", nil)
	}
	return d, imaps, ca
}

func TestIMAPOverTLSAndSTARTTLS(t *testing.T) {
	d, imaps, ca := tlsPeer(t)
	h := newHub(t)
	user := newUser()
	d.deliver(t, user, newMail("tls@customer.example", "Over TLS", "tls-"+randomHex(3)+"@x", "encrypted all the way"))
	for _, tc := range []struct{ mode, addr string }{{TLSImplicit, imaps}, {TLSStart, d.imap}} {
		set := d.settings(user, map[string]any{"addr": tc.addr, "tls": tc.mode, "allow_insecure": false, "tls_ca_file": ca})
		c, err := New(config.Channel{Name: testChannel, Type: "email", Email: set}, h.env(t, "r1"))
		if err != nil {
			t.Fatal(err)
		}
		report, err := c.Test(context.Background())
		if !strings.Contains(report, "logged in as "+user) || !strings.Contains(report, "folder INBOX: 1 messages") {
			t.Fatalf("%s: %v\n%s", tc.mode, err, report)
		}
		// Without the CA the server's certificate is not trusted (which
		// also shows that the session above was TLS) ...
		set["imap"].(map[string]any)["tls_ca_file"] = ""
		c, _ = New(config.Channel{Name: testChannel, Type: "email", Email: set}, h.env(t, "r1"))
		if _, err := c.dial(nil); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("%s without the CA: %v; want a certificate error", tc.mode, err)
		}
		// ... unless verification is explicitly switched off.
		set["imap"].(map[string]any)["insecure_skip_verify"] = true
		c, _ = New(config.Channel{Name: testChannel, Type: "email", Email: set}, h.env(t, "r1"))
		cl, err := c.dial(nil)
		if err != nil {
			t.Fatalf("%s with insecure_skip_verify: %v", tc.mode, err)
		}
		cl.Close()
	}
	// The whole channel runs over implicit TLS.
	c := h.channel(t, "r1", d.settings(user, map[string]any{"addr": imaps, "tls": TLSImplicit, "allow_insecure": false, "tls_ca_file": ca, "backfill_since": "2000-01-01"}))
	run(t, c, h.in)
	waitFor(t, "the mail read over TLS", 10*time.Second, func() bool { return len(h.entries(t, "tls@customer.example")) == 1 })
}

// TestPlaintextLoginRefused: tls: none needs allow_insecure, and a server
// without STARTTLS never sees the password of a starttls channel.
func TestPlaintextLoginRefused(t *testing.T) {
	base := map[string]any{
		"imap": map[string]any{"addr": "127.0.0.1:143", "username": "u", "password": "p", "tls": "none"},
		"smtp": map[string]any{"addr": "127.0.0.1:25", "from": "support@hub.example", "tls": "none"},
	}
	_, err := LoadSettings(config.Channel{Name: "m", Type: "email", Email: base})
	for _, key := range []string{"imap.tls", "smtp.tls"} {
		if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "allow_insecure") {
			t.Fatalf("tls: none without allow_insecure: %v (want an error on %s)", err, key)
		}
	}

	// IMAP: a server that offers no STARTTLS (it records every line).
	srv := newPlainIMAP(t)
	st := newHub(t).st
	c, err := New(config.Channel{Name: testChannel, Type: "email", Email: map[string]any{
		"imap": map[string]any{"addr": srv.addr, "username": "u", "password": "imap-S3cret-pw", "tls": "starttls"},
		"smtp": map[string]any{"addr": "127.0.0.1:1", "from": "support@hub.example"}}}, withStore(connectors.Env{Name: testChannel, Logger: testLogger(t)}, st))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.dial(nil); err == nil {
		t.Fatal("starttls against a server without STARTTLS logged in")
	}
	if lines := srv.lines(); strings.Contains(strings.Join(lines, "\n"), "imap-S3cret-pw") || containsPrefix(lines, "LOGIN") {
		t.Fatalf("the password went out in plaintext: %q", lines)
	}

	// SMTP: a go-smtp server without TLS offers no STARTTLS.
	sink := startSMTP(t)
	sc := senderFor(t, sink.addr, map[string]any{"tls": "starttls", "allow_insecure": false, "username": sink.user, "password": sink.password})
	_, err = sc.Send(context.Background(), connectors.Outgoing{To: connectors.Identity{Type: connectors.Email, Value: "ann@customer.example"}, Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "starttls") {
		t.Fatalf("smtp starttls without server support: %v", err)
	}
	if sink.authAttempts() != 0 || len(sink.received()) != 0 {
		t.Fatalf("%d AUTH attempts, %d mails over plaintext", sink.authAttempts(), len(sink.received()))
	}
}

func containsPrefix(lines []string, word string) bool {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) > 1 && strings.EqualFold(f[1], word) {
			return true
		}
	}
	return false
}

// plainIMAP is a minimal IMAP server without STARTTLS: it records what the
// client sends and refuses everything but CAPABILITY and LOGOUT.
type plainIMAP struct {
	addr string
	mu   sync.Mutex
	got  []string
}

func newPlainIMAP(t *testing.T) *plainIMAP {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s := &plainIMAP{addr: l.Addr().String()}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				conn.Write([]byte("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN LOGIN] plaintext only\r\n"))
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					s.mu.Lock()
					s.got = append(s.got, strings.TrimSpace(line))
					s.mu.Unlock()
					f := strings.Fields(line)
					if len(f) < 2 {
						continue
					}
					switch strings.ToUpper(f[1]) {
					case "CAPABILITY":
						conn.Write([]byte("* CAPABILITY IMAP4rev1 AUTH=PLAIN LOGIN\r\n" + f[0] + " OK done\r\n"))
					case "LOGOUT":
						conn.Write([]byte("* BYE\r\n" + f[0] + " OK bye\r\n"))
						return
					default:
						conn.Write([]byte(f[0] + " BAD not here\r\n"))
					}
				}
			}()
		}
	}()
	return s
}

func (s *plainIMAP) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// testCert makes a CA and a server certificate for 127.0.0.1; it returns
// the server's TLS config and the path of the CA's PEM.
func testCert(t *testing.T) (*tls.Config, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, path
}

// TestSMTPOverTLSAndSTARTTLS: replies go out over implicit TLS and over
// STARTTLS, the server's certificate checked against tls_ca_file.
func TestSMTPOverTLSAndSTARTTLS(t *testing.T) {
	serverTLS, ca := testCert(t)
	out := connectors.Outgoing{To: connectors.Identity{Type: connectors.Email, Value: "ann@customer.example"}, Subject: "S", Text: "over TLS"}
	for _, mode := range []string{TLSImplicit, TLSStart} {
		sink := startSMTPTLS(t, serverTLS, mode == TLSImplicit)
		set := authSet(sink)
		set["tls"], set["allow_insecure"], set["tls_ca_file"] = mode, false, ca
		if _, err := senderFor(t, sink.addr, set).Send(context.Background(), out); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if got := sink.received(); len(got) != 1 || !sink.wasTLS() {
			t.Fatalf("%s: %d mails, TLS %v", mode, len(got), sink.wasTLS())
		}
		// Without the CA: refused before AUTH, retried later (not permanent).
		delete(set, "tls_ca_file")
		_, err := senderFor(t, sink.addr, set).Send(context.Background(), out)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("%s without the CA: %v", mode, err)
		}
		if n := len(sink.received()); n != 1 {
			t.Fatalf("%s: sent without a trusted certificate", mode)
		}
	}
}

// startSMTPTLS is startSMTP with TLS: implicit, or offered as STARTTLS.
func startSMTPTLS(t *testing.T, cfg *tls.Config, implicit bool) *smtpSink {
	t.Helper()
	s := &smtpSink{user: "hub", password: "smtp-pa55word-xyz"}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{s: s, conn: c}, nil }))
	srv.Domain = "localhost"
	srv.TLSConfig = cfg
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	var l net.Listener
	var err error
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", cfg)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	s.addr, s.srv = l.Addr().String(), srv
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}
