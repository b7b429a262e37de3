package main_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/switchboard-hub/switchboard/internal/testenv"
)

// mailText is the text/plain part of a mail the hub sent.
func mailText(t *testing.T, raw []byte) string {
	t.Helper()
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		if h, ok := part.Header.(*gomail.InlineHeader); ok {
			if ct, _, _ := h.ContentType(); ct == "text/plain" {
				b, _ := io.ReadAll(part.Body)
				return string(b)
			}
		}
	}
}

var surveyLinkRe = regexp.MustCompile(`4 – satisfied: (http://\S+/csat/\S+)`)

// TestEndToEndEmailSurvey: mail through Dovecot and an SMTP server. After
// the resolution the customer gets one survey mail with a link per score;
// an auto-reply "5" is an ordinary message; a reply by mail "4" above the
// quoted survey is the answer (csat entry, conversation still resolved);
// the survey's links are spent after it (410), a forged one is 404.
func TestEndToEndEmailSurvey(t *testing.T) {
	_, lmtpAddr := emailPeer(t)
	imaps, ca := os.Getenv("SWITCHBOARD_TEST_IMAPS"), os.Getenv("SWITCHBOARD_TEST_EMAIL_CA")
	if imaps == "" || ca == "" {
		testenv.Absent(t, "Dovecot's TLS port (SWITCHBOARD_TEST_IMAPS, SWITCHBOARD_TEST_EMAIL_CA; scripts/peers/email.sh)", nil)
	}
	var rb [5]byte
	rand.Read(rb[:])
	user := "t-" + hex.EncodeToString(rb[:]) + "@example.com"
	cust := "cara-" + hex.EncodeToString(rb[:3]) + "@customer.example"
	mail := func(id, extra, body string) []byte {
		return []byte(fmt.Sprintf("From: Cara <%s>\r\nTo: support@hub.example\r\nSubject: Re: Broken login\r\nDate: %s\r\nMessage-ID: <%s-%s>\r\n%s"+
			"Content-Type: text/plain; charset=utf-8\r\n\r\n%s", cust, time.Now().UTC().Format(time.RFC1123Z), id, user, extra, body))
	}
	lmtpDeliver(t, lmtpAddr, user, [][]byte{mail("first", "", "I cannot log in.\r\n")})

	rec := &smtpRecorder{}
	srv := smtp.NewServer(rec)
	srv.Domain = "localhost"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	addr := freeAddr(t)
	t.Setenv("SWITCHBOARD_HTTP_PUBLIC_URL", "http://"+addr)
	cfg := writeConfig(t, embeddedStore(t), fmt.Sprintf(`  - name: support-mail
    type: email
    phase: live
    email:
      lease_ttl: 2s
      imap: {addr: "%s", username: "%s", password: secret, tls: tls, tls_ca_file: "%s", backfill_since: "2000-01-01"}
      smtp: {addr: "%s", from: support@hub.example, tls: none, allow_insecure: true}
    csat:
      enabled: true
      delay: 0s
`, imaps, user, ca, l.Addr().String()))
	p := start(t, cfg, addr)
	waitFor(t, "the customer's mail", 20*time.Second, func() bool {
		_, code := p.find(t, "email:"+cust)
		return code == 200
	})
	var es []csatEntry
	waitFor(t, "the mail on the timeline", 10*time.Second, func() bool { es = p.csatTimeline(t, "email:"+cust); return len(es) == 1 })
	conv := es[0].ConversationID
	if code := call(t, "POST", p.base+"/api/v1/conversations/"+conv+"/messages", agentToken, map[string]string{"text": "Try now."}, nil); code != 202 {
		t.Fatalf("reply: %d", code)
	}
	waitFor(t, "the reply at the SMTP server", 15*time.Second, func() bool { return len(rec.received()) == 1 })
	if code := call(t, "PATCH", p.base+"/api/v1/conversations/"+conv, agentToken, map[string]string{"status": "resolved"}, nil); code != 200 {
		t.Fatalf("resolve: %d", code)
	}
	waitFor(t, "the survey at the SMTP server", 20*time.Second, func() bool { return len(rec.received()) == 2 })
	text := mailText(t, rec.received()[1])
	m := surveyLinkRe.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("survey mail without a link for 4:\n%s", text)
	}
	link := m[1]

	// An auto-reply that says "5" is no answer; Cara's reply "4" is.
	lmtpDeliver(t, lmtpAddr, user, [][]byte{
		mail("auto", "Auto-Submitted: auto-replied\r\n", "5\r\n"),
		mail("answer", "", "4 works again, thanks\r\n\r\nOn Mon, the hub wrote:\r\n> How satisfied were you with our help?\r\n"),
	})
	var answer csatEntry
	waitFor(t, "the answer by mail", 20*time.Second, func() bool {
		es = p.csatTimeline(t, "email:"+cust)
		for _, e := range es {
			if e.Kind == "csat" {
				answer = e
			}
		}
		return answer.ID != "" && len(es) >= 5
	})
	if answer.CSAT == nil || answer.CSAT.Score != 4 || answer.CSAT.Comment != "works again, thanks" || answer.ConversationID != conv {
		t.Fatalf("answer %+v", answer)
	}
	for _, e := range es {
		if e.Kind == "message" && strings.TrimSpace(e.Text) == "5" && e.ConversationID == conv {
			t.Fatalf("the auto-reply joined the rated conversation: %+v", e)
		}
	}
	var cv struct{ Status string }
	call(t, "GET", p.base+"/api/v1/conversations/"+conv, agentToken, nil, &cv)
	if cv.Status != "resolved" {
		t.Fatalf("the answer reopened the conversation: %s", cv.Status)
	}
	resp, err := http.PostForm(link, url.Values{"comment": {"again"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 410 {
		t.Fatalf("the link after the mail answer: %d, want 410", resp.StatusCode)
	}
	resp, err = http.Get(link[:len(link)-4] + "AAAA")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("a forged link: %d, want 404", resp.StatusCode)
	}
	n := 0
	for _, e := range p.csatTimeline(t, "email:"+cust) {
		if e.Kind == "csat" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d answers, want 1", n)
	}
}
