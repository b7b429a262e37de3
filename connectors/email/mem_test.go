package email

// Fast tests on go-imap's own in-memory server (imapmemserver): a real
// IMAP conversation on loopback. The Dovecot tests prove the connector
// against a server nobody here wrote; these cover what is awkward to
// arrange there (a server without IDLE, two replicas sharing a mailbox).

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/switchboard-hub/switchboard/connectors"
)

type memIMAP struct{ addr string }

// startMem serves one user (mem@example.com / pw) with INBOX.
func startMem(t *testing.T, caps imap.CapSet) memIMAP {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("mem@example.com", "pw")
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return memIMAP{addr: l.Addr().String()}
}

func (m memIMAP) settings(extra map[string]any) map[string]any {
	s := map[string]any{"addr": m.addr, "username": "mem@example.com", "password": "pw", "tls": "none", "allow_insecure": true, "poll_interval": "1s"}
	for k, v := range extra {
		s[k] = v
	}
	return map[string]any{"imap": s, "smtp": map[string]any{"addr": "127.0.0.1:1", "from": "support@hub.example"}, "lease_ttl": "1s"}
}

func (m memIMAP) append(t *testing.T, raws ...[]byte) {
	t.Helper()
	c, err := imapclient.DialInsecure(m.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("mem@example.com", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	for _, raw := range raws {
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		cmd.Write(raw)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPollingWithoutIdle: with IDLE off (go-imap's server always offers
// it, so disable_idle stands in for a server without it) new mail is
// found by polling every poll_interval.
func TestPollingWithoutIdle(t *testing.T) {
	m := startMem(t, nil)
	h := newHub(t)
	c := h.channel(t, "r1", m.settings(map[string]any{"disable_idle": true}))
	run(t, c, h.in)
	waitIdle(t, h, "INBOX")
	m.append(t, newMail("poll@customer.example", "Polled", "poll-1@x", "found by polling"))
	start := time.Now()
	waitFor(t, "the polled mail", 4*time.Second, func() bool { return len(h.entries(t, "poll@customer.example")) == 1 })
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("found after %s: that was not polling", d)
	}
}

// replicaSink records which replica delivered.
type replicaSink struct {
	next connectors.Sink
	n    atomic.Int64
}

func (s *replicaSink) Deliver(ctx context.Context, m connectors.Message) (string, error) {
	s.n.Add(1)
	return s.next.Deliver(ctx, m)
}

// TestOneReplicaReadsTheMailbox: two replicas share one store; only the
// lease holder reads; when it stops, the other takes over, and every mail
// is on the timeline exactly once.
func TestOneReplicaReadsTheMailbox(t *testing.T) {
	m := startMem(t, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIdle: {}})
	h := newHub(t)
	backfill := map[string]any{"backfill_since": "2000-01-01"}
	a, b := &replicaSink{next: h.in}, &replicaSink{next: h.in}
	m.append(t, newMail("lease@customer.example", "one", "lease-0@x", "mail 0"))
	stopA := run(t, h.channel(t, "replica-a", m.settings(backfill)), a)
	waitFor(t, "replica a to read", 5*time.Second, func() bool { return a.n.Load() == 1 })
	run(t, h.channel(t, "replica-b", m.settings(backfill)), b)
	for i := 1; i <= 3; i++ {
		m.append(t, newMail("lease@customer.example", "more", fmt.Sprintf("lease-%d@x", i), fmt.Sprintf("mail %d", i)))
	}
	waitFor(t, "mails 1-3 via replica a", 5*time.Second, func() bool { return a.n.Load() == 4 })
	if b.n.Load() != 0 {
		t.Fatalf("replica b delivered %d mails while a held the lease", b.n.Load())
	}
	stopA()
	for i := 4; i <= 5; i++ {
		m.append(t, newMail("lease@customer.example", "more", fmt.Sprintf("lease-%d@x", i), fmt.Sprintf("mail %d", i)))
	}
	waitFor(t, "replica b to take over", 10*time.Second, func() bool { return b.n.Load() >= 2 })
	waitFor(t, "six entries", 5*time.Second, func() bool { return len(h.entries(t, "lease@customer.example")) == 6 })
	time.Sleep(300 * time.Millisecond)
	if n := len(h.entries(t, "lease@customer.example")); n != 6 {
		t.Fatalf("%d entries, want 6", n)
	}
}
