package main_test

// The email channel through the real binary, against the real Dovecot of
// scripts/peers/email.sh: the hub is killed with SIGKILL while it backfills
// a mailbox, restarted, and every mail ends up on a timeline exactly once.

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"
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

// smtpRecorder is an in-process SMTP server that keeps what it receives:
// the test must read the exact bytes the hub sent.
type smtpRecorder struct {
	mu   sync.Mutex
	msgs [][]byte
}

func (r *smtpRecorder) NewSession(*smtp.Conn) (smtp.Session, error) { return &recSession{r: r}, nil }

type recSession struct{ r *smtpRecorder }

func (s *recSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *recSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *recSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.msgs = append(s.r.msgs, b)
	return nil
}
func (s *recSession) Reset()        {}
func (s *recSession) Logout() error { return nil }

func (r *smtpRecorder) received() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.msgs...)
}

// TestEndToEndEmailReplyWithAttachment: the binary reads a customer's
// mail from Dovecot over implicit TLS (the peer's CA in tls_ca_file), an
// agent answers through the API with a file attached, and the reply
// reaches the SMTP server as multipart/mixed with the file's name and
// exact bytes; the reply's entry lists the attachment and ends up sent.
func TestEndToEndEmailReplyWithAttachment(t *testing.T) {
	_, lmtpAddr := emailPeer(t)
	imaps, ca := os.Getenv("SWITCHBOARD_TEST_IMAPS"), os.Getenv("SWITCHBOARD_TEST_EMAIL_CA")
	if imaps == "" || ca == "" {
		testenv.Absent(t, "Dovecot's TLS port (SWITCHBOARD_TEST_IMAPS, SWITCHBOARD_TEST_EMAIL_CA; scripts/peers/email.sh)", nil)
	}
	var rb [5]byte
	rand.Read(rb[:])
	user := "t-" + hex.EncodeToString(rb[:]) + "@example.com"
	cust := "ann-" + hex.EncodeToString(rb[:3]) + "@customer.example"
	lmtpDeliver(t, lmtpAddr, user, [][]byte{[]byte(fmt.Sprintf("From: Ann <%s>\r\nTo: support@hub.example\r\nSubject: Invoice please\r\n"+
		"Date: %s\r\nMessage-ID: <att-%s>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCould you send the invoice?\r\n",
		cust, time.Now().UTC().Format(time.RFC1123Z), user))})

	rec := &smtpRecorder{}
	srv := smtp.NewServer(rec)
	srv.Domain = "localhost"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	cfg := writeConfig(t, embeddedStore(t), fmt.Sprintf(`  - name: support-mail
    type: email
    phase: live
    email:
      lease_ttl: 2s
      imap: {addr: "%s", username: "%s", password: secret, tls: tls, tls_ca_file: "%s", backfill_since: "2000-01-01"}
      smtp: {addr: "%s", from: support@hub.example, tls: none, allow_insecure: true}
`, imaps, user, ca, l.Addr().String()))
	p := start(t, cfg, freeAddr(t))
	var c customer
	waitFor(t, "the customer's mail", 20*time.Second, func() bool {
		var code int
		c, code = p.find(t, "email:"+cust)
		return code == 200
	})
	var page struct {
		Entries []struct {
			ID             string `json:"id"`
			ConversationID string `json:"conversation_id"`
			Status         string `json:"status"`
			Attachments    []struct {
				Name, SHA256 string
				Size         int64
			} `json:"attachments"`
		} `json:"entries"`
	}
	waitFor(t, "the mail on the timeline", 10*time.Second, func() bool {
		call(t, "GET", p.base+"/api/v1/customers/"+c.ID+"/timeline", adminToken, nil, &page)
		return len(page.Entries) == 1
	})

	pdf := make([]byte, 50_000)
	rand.Read(pdf)
	var reply struct {
		ID          string `json:"id"`
		Attachments []struct {
			Name   string `json:"name"`
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
		} `json:"attachments"`
	}
	body := map[string]any{"text": "Here is the invoice.", "attachments": []any{map[string]any{"name": "invoice-2026.pdf", "content_type": "application/pdf",
		"data": base64.StdEncoding.EncodeToString(pdf)}}}
	if code := call(t, "POST", p.base+"/api/v1/conversations/"+page.Entries[0].ConversationID+"/messages", agentToken, body, &reply); code != 202 {
		t.Fatalf("reply: %d", code)
	}
	if len(reply.Attachments) != 1 || reply.Attachments[0].Size != int64(len(pdf)) || reply.Attachments[0].SHA256 == "" {
		t.Fatalf("reply entry attachments = %+v", reply.Attachments)
	}
	waitFor(t, "the reply at the SMTP server", 15*time.Second, func() bool { return len(rec.received()) == 1 })
	mr, err := gomail.CreateReader(bytes.NewReader(rec.received()[0]))
	if err != nil {
		t.Fatal(err)
	}
	if ct, _, _ := mr.Header.ContentType(); ct != "multipart/mixed" {
		t.Fatalf("reply is %s", ct)
	}
	var files, text int
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(part.Body)
		switch h := part.Header.(type) {
		case *gomail.AttachmentHeader:
			name, _ := h.Filename()
			if name != "invoice-2026.pdf" || !bytes.Equal(b, pdf) {
				t.Fatalf("attachment %q, %d bytes (equal: %v)", name, len(b), bytes.Equal(b, pdf))
			}
			files++
		case *gomail.InlineHeader:
			if ct, _, _ := h.ContentType(); ct == "text/plain" && strings.TrimSpace(string(b)) == "Here is the invoice." {
				text++
			}
		}
	}
	if files != 1 || text != 1 {
		t.Fatalf("%d attachments and %d text parts", files, text)
	}
	waitFor(t, "the reply marked sent", 10*time.Second, func() bool {
		call(t, "GET", p.base+"/api/v1/customers/"+c.ID+"/timeline", adminToken, nil, &page)
		for _, e := range page.Entries {
			if e.ID == reply.ID {
				return e.Status == "sent" && len(e.Attachments) == 1
			}
		}
		return false
	})
}
