package main_test

// The email channel through the real binary, against the real Dovecot of
// scripts/peers/email.sh: the hub is killed with SIGKILL while it backfills
// a mailbox, restarted, and every mail ends up on a timeline exactly once.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/switchboard-hub/switchboard/internal/testenv"
)

func emailPeer(t *testing.T) (imapAddr, lmtpAddr string) {
	t.Helper()
	imapAddr, lmtpAddr = os.Getenv("SWITCHBOARD_TEST_IMAP"), os.Getenv("SWITCHBOARD_TEST_LMTP")
	if imapAddr == "" || lmtpAddr == "" {
		testenv.Absent(t, "Dovecot (SWITCHBOARD_TEST_IMAP, SWITCHBOARD_TEST_LMTP; scripts/peers/email.sh)", nil)
	}
	c, err := net.DialTimeout("tcp", imapAddr, 2*time.Second)
	if err != nil {
		testenv.Absent(t, "Dovecot at "+imapAddr, err)
	}
	c.Close()
	return imapAddr, lmtpAddr
}

// lmtpDeliver hands mails to Dovecot as an MTA would, on one connection.
func lmtpDeliver(t *testing.T, addr, user string, mails [][]byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		t.Fatal(err)
	}
	for _, m := range mails {
		if err := c.Mail("mta@example.net", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(user, nil); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m)
		if _, err := w.CloseWithLMTPResponse(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEndToEndEmailKilledWhileFetching(t *testing.T) {
	imapAddr, lmtpAddr := emailPeer(t)
	var rb [5]byte
	rand.Read(rb[:])
	user := "t-" + hex.EncodeToString(rb[:]) + "@example.com"
	const n, senders = 600, 6
	mails := make([][]byte, n)
	for i := range mails {
		var b bytes.Buffer
		fmt.Fprintf(&b, "From: Customer %d <c%d-%s@customer.example>\r\nTo: support@hub.example\r\nSubject: Order %d\r\n", i%senders, i%senders, user[2:7], i)
		fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: <kill-%d-%s>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nmail number %d\r\n",
			time.Now().UTC().Format(time.RFC1123Z), i, user, i)
		mails[i] = b.Bytes()
	}
	lmtpDeliver(t, lmtpAddr, user, mails)

	cfg := writeConfig(t, embeddedStore(t), fmt.Sprintf(`  - name: support-mail
    type: email
    phase: live
    email:
      lease_ttl: 2s
      imap: {addr: "%s", username: "%s", password: secret, tls: none, allow_insecure: true, backfill_since: "2000-01-01", batch_size: 25}
      smtp: {addr: "127.0.0.1:1", from: support@hub.example, tls: none, allow_insecure: true}
`, imapAddr, user))
	addr := freeAddr(t)

	count := func(p *proc) (total int, perText map[string]int) {
		perText = map[string]int{}
		for s := 0; s < senders; s++ {
			c, code := p.find(t, fmt.Sprintf("email:c%d-%s@customer.example", s, user[2:7]))
			if code != 200 {
				continue
			}
			for _, e := range p.timeline(t, c.ID) {
				perText[e.Text]++
				total++
			}
		}
		return total, perText
	}

	p := start(t, cfg, addr)
	var seen int
	waitFor(t, "the backfill to start", 30*time.Second, func() bool { seen, _ = count(p); return seen >= 30 })
	p.kill() // SIGKILL, mid-fetch
	if seen >= n {
		t.Fatalf("all %d mails were in before the kill; the test did not kill a fetch in progress", n)
	}
	t.Logf("killed with %d of %d mails on timelines", seen, n)

	p = start(t, cfg, addr)
	waitFor(t, "every mail after the restart", 60*time.Second, func() bool { total, _ := count(p); return total >= n })
	time.Sleep(time.Second)
	total, perText := count(p)
	if total != n {
		t.Fatalf("%d timeline entries, want exactly %d", total, n)
	}
	for i := 0; i < n; i++ {
		if c := perText[fmt.Sprintf("mail number %d", i)]; c != 1 {
			t.Fatalf("mail %d is on the timelines %d times", i, c)
		}
	}

	// `switchboard channels test` logs in to the mailbox.
	var rep map[string]any
	if code := call(t, "POST", p.base+"/api/v1/channels/support-mail/test", adminToken, nil, &rep); code != 200 && code != 502 {
		t.Fatalf("channel test: %d %v", code, rep)
	}
	if s := fmt.Sprint(rep); !strings.Contains(s, "logged in as "+user) || !strings.Contains(s, fmt.Sprintf("folder INBOX: %d messages", n)) {
		t.Fatalf("channel test report: %v", rep)
	}
}
