package main_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/testenv"
)

// TestGracefulStop: SIGTERM makes /readyz answer 503 at once while the
// replica still accepts messages for http.drain_delay; then the listener
// closes, the process exits cleanly, and the email lease it held is
// released (not left to expire), so another replica takes it at once.
func TestGracefulStop(t *testing.T) {
	imap, _ := emailPeer(t)
	c, prefix := testenv.Redis(t)
	sc := fmt.Sprintf("http:\n  drain_delay: 2s\nstore:\n  blobs_path: %s\n  redis:\n    addrs: [%s]\n    prefix: %s\n",
		filepath.Join(t.TempDir(), "blobs"), testenv.RedisAddr(), prefix)
	mailbox := "t-" + testenv.RandomID() + "@example.com"
	extra := fmt.Sprintf(`  - name: mail
    type: email
    phase: live
    email:
      lease_ttl: 30s
      imap: {addr: "%s", username: "%s", password: secret, tls: none, allow_insecure: true}
      smtp: {addr: "127.0.0.1:1", from: support@hub.example, tls: none, allow_insecure: true}
`, imap, mailbox)
	p := start(t, writeConfig(t, sc, extra), freeAddr(t))
	leaseKey := prefix + ":{l:email%3Amail}:lease"
	holder := func() string {
		v, _ := c.HMGet(context.Background(), leaseKey, "holder", "exp").Result()
		if len(v) < 2 || v[0] == nil {
			return ""
		}
		if exp, _ := strconv.ParseInt(fmt.Sprint(v[1]), 10, 64); exp < time.Now().UnixNano() {
			return ""
		}
		return fmt.Sprint(v[0])
	}
	waitFor(t, "the email lease held", 20*time.Second, func() bool { return holder() != "" })

	p.cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, "/readyz 503 after SIGTERM", 2*time.Second, func() bool {
		resp, err := http.Get(p.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 503
	})
	// Still serving while draining: a message is accepted.
	if code, _ := p.post(t, "crm", map[string]any{"external_id": "drain-1", "sender": map[string]string{"email": "drain@example.com"}, "text": "while draining"}); code != 202 {
		t.Fatalf("post while draining: %d", code)
	}
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the hub did not exit within 20s of SIGTERM")
	}
	if !p.cmd.ProcessState.Success() {
		p.mu.Lock()
		defer p.mu.Unlock()
		t.Fatalf("exit after SIGTERM: %v\n%s", p.cmd.ProcessState, p.logs.String())
	}
	if _, err := http.Get(p.base + "/readyz"); err == nil {
		t.Fatal("the listener still answers after the exit")
	}
	if h := holder(); h != "" {
		t.Fatalf("the email lease (ttl 30s) is still held by %s after a graceful stop", h)
	}
	// The message accepted while draining is processed by the next replica.
	q := start(t, writeConfig(t, sc, ""), freeAddr(t))
	waitFor(t, "the message accepted while draining on its timeline", 20*time.Second, func() bool {
		cu, code := q.find(t, "email:drain@example.com")
		return code == 200 && len(q.timeline(t, cu.ID)) == 1
	})
}
