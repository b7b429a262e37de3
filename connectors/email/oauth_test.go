package email

// XOAUTH2 / OAUTHBEARER logins (Gmail, Microsoft 365). IMAP is tested
// against a real Dovecot with its oauth2 passdb, which validates each
// token at a tokeninfo URL served by the test. SMTP is tested against an
// in-process go-smtp server that checks the XOAUTH2 payload itself: the
// Dovecot 2.3 of the peer has no SMTP submission service without a relay
// MTA behind it, and the test must see exactly what the client sent.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
)

// tokenInfo is an OAuth 2.0 tokeninfo endpoint: one valid token per user.
type tokenInfo struct {
	mu    sync.Mutex
	valid map[string]string // token -> user
	calls int
}

func (ti *tokenInfo) set(token, user string) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.valid = map[string]string{token: user}
}

func (ti *tokenInfo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.calls++
	tok := r.URL.Query().Get("access_token")
	if tok == "" {
		tok = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	user, ok := ti.valid[tok]
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_token"})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"email": user, "active": "true", "expires_in": 3600})
}

func writeToken(t *testing.T, path, tok string) {
	t.Helper()
	// Written aside and renamed, as a token refresher would.
	if err := os.WriteFile(path+".new", []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

func TestIMAPOAuth2AgainstDovecot(t *testing.T) {
	ti := &tokenInfo{}
	web := httptest.NewServer(ti)
	t.Cleanup(web.Close)
	p := startPrivateDovecotWith(t, func(conf, dir string) string {
		ext := filepath.Join(dir, "oauth2.conf.ext")
		if err := os.WriteFile(ext, []byte("tokeninfo_url = "+web.URL+"/tokeninfo?access_token=\nusername_attribute = email\nactive_attribute = active\nactive_value = true\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		conf = strings.Replace(conf, "auth_mechanisms = plain login", "auth_mechanisms = xoauth2 oauthbearer", 1)
		// LMTP looks users up in the userdb only; without this the static
		// userdb asks the (token-only) passdb whether the user exists.
		conf = strings.Replace(conf, "args = uid=nobody gid=nogroup", "args = allow_all_users=yes uid=nobody gid=nogroup", 1)
		return strings.Replace(conf, "passdb {\n  driver = static\n  args = password=secret\n}", "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = "+ext+"\n}", 1)
	})
	h := newHub(t)
	user := newUser()
	tokFile := filepath.Join(t.TempDir(), "token")
	ti.set("ya29.first-token", user)
	writeToken(t, tokFile, "ya29.first-token")

	for _, mech := range []string{MechXOAUTH2, MechOAUTHBEARER} {
		set := p.settings(user, map[string]any{"password": "", "oauth2_token_file": tokFile, "oauth2_mechanism": mech})
		c, err := New(config.Channel{Name: testChannel, Type: "email", Email: set}, h.env(t, "r1"))
		if err != nil {
			t.Fatal(err)
		}
		cl, err := c.dial(nil)
		if err != nil {
			t.Fatalf("%s login: %v", mech, err)
		}
		cl.Close()
	}
	ti.mu.Lock()
	calls := ti.calls
	ti.mu.Unlock()
	if calls < 2 {
		t.Fatalf("Dovecot asked the tokeninfo endpoint %d times for two logins", calls)
	}

	// The channel runs with XOAUTH2; the token is rotated while it runs,
	// and the next login (after Dovecot restarts) uses the new one.
	set := p.settings(user, map[string]any{"password": "", "oauth2_token_file": tokFile})
	c := h.channel(t, "r1", set)
	run(t, c, h.in)
	waitIdle(t, h, "INBOX")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(p.dir, "dovecot.log"))
			t.Logf("dovecot.log:\n%s", b)
		}
	})
	p.deliver(t, user, newMail("gus@customer.example", "One", "oa-1-"+randomHex(3)+"@x", "first"))
	waitFor(t, "the first mail", 5*time.Second, func() bool { return len(h.entries(t, "gus@customer.example")) == 1 })

	ti.set("ya29.second-token", user) // the first token expired
	writeToken(t, tokFile, "ya29.second-token")
	p.stop(t)
	bin := "dovecot"
	p.start(t, bin)
	p.deliver(t, user, newMail("gus@customer.example", "Two", "oa-2-"+randomHex(3)+"@x", "second"))
	waitFor(t, "the mail after the token rotation", 20*time.Second, func() bool { return len(h.entries(t, "gus@customer.example")) == 2 })

	// A token the server refuses: a clear login error, no token in it.
	writeToken(t, tokFile, "ya29.revoked-token")
	c2, err := New(config.Channel{Name: testChannel, Type: "email", Email: set}, h.env(t, "r1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c2.dial(nil)
	if err == nil || !strings.Contains(err.Error(), "xoauth2 login as "+user) || strings.Contains(err.Error(), "revoked-token") {
		t.Fatalf("refused token: %v", err)
	}
}

func TestSMTPOAuth2Payload(t *testing.T) {
	srv := startSMTP(t)
	srv.token = "ya29.smtp-token"
	tokFile := filepath.Join(t.TempDir(), "token")
	writeToken(t, tokFile, "ya29.smtp-token")
	out := connectors.Outgoing{To: connectors.Identity{Type: connectors.Email, Value: "ann@customer.example"}, Subject: "S", Text: "sent with a token"}
	for _, mech := range []string{MechXOAUTH2, MechOAUTHBEARER} {
		c := senderFor(t, srv.addr, map[string]any{"username": srv.user, "oauth2_token_file": tokFile, "oauth2_mechanism": mech})
		if _, err := c.Send(context.Background(), out); err != nil {
			t.Fatalf("%s: %v", mech, err)
		}
	}
	if n := len(srv.received()); n != 2 {
		t.Fatalf("%d mails received", n)
	}
	// The file is read at every login: a rotated token is used at once,
	// a stale one is refused permanently (535) without echoing it.
	c := senderFor(t, srv.addr, map[string]any{"username": srv.user, "oauth2_token_file": tokFile})
	srv.mu.Lock()
	srv.token = "ya29.rotated"
	srv.mu.Unlock()
	if _, err := c.Send(context.Background(), out); err == nil || !strings.Contains(err.Error(), "535") || strings.Contains(err.Error(), "smtp-token") {
		t.Fatalf("stale token: %v", err)
	}
	writeToken(t, tokFile, "ya29.rotated")
	if _, err := c.Send(context.Background(), out); err != nil {
		t.Fatalf("rotated token: %v", err)
	}
	if n := len(srv.received()); n != 3 {
		t.Fatalf("%d mails received", n)
	}
}

func TestOAuth2Settings(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	writeToken(t, tok, "abc")
	base := func(imap map[string]any) config.Channel {
		i := map[string]any{"addr": "imap.example.com:993", "username": "u"}
		for k, v := range imap {
			i[k] = v
		}
		return config.Channel{Name: "m", Type: "email", Email: map[string]any{"imap": i,
			"smtp": map[string]any{"addr": "smtp.example.com:587", "from": "support@example.com", "oauth2_token_file": tok}}}
	}
	if _, err := LoadSettings(base(map[string]any{"oauth2_token_file": tok})); err == nil || !strings.Contains(err.Error(), "smtp.username") {
		t.Fatalf("smtp token without username: %v", err)
	}
	for _, tc := range []struct {
		imap map[string]any
		want string
	}{
		{map[string]any{"oauth2_token_file": tok, "password": "p"}, "imap.oauth2_token_file: set either"},
		{map[string]any{"oauth2_token_file": "/nonexistent/token"}, "imap.oauth2_token_file: cannot read"},
		{map[string]any{"oauth2_token_file": tok, "oauth2_mechanism": "plain"}, "imap.oauth2_mechanism"},
		{map[string]any{"password": "p", "tls_ca_file": "/nonexistent/ca.pem"}, "imap.tls_ca_file"},
		{map[string]any{"password": "p", "tls_ca_file": tok}, "holds no PEM certificate"},
		{map[string]any{}, "imap.password: is required"},
	} {
		_, err := LoadSettings(base(tc.imap))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want %q", tc.imap, err, tc.want)
		}
	}
}
