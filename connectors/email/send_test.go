package email

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

// senderFor builds a channel whose SMTP side points at addr (IMAP is not
// used by these tests).
func senderFor(t *testing.T, addr string, smtpSet map[string]any) *Channel {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := map[string]any{"addr": addr, "from": "support@hub.example", "tls": "none", "allow_insecure": true}
	for k, v := range smtpSet {
		s[k] = v
	}
	c, err := New(config.Channel{Name: testChannel, Type: "email", Email: map[string]any{
		"imap": map[string]any{"addr": "127.0.0.1:1", "username": "u", "password": "p"}, "smtp": s}},
		withStore(connectors.Env{Name: testChannel, Logger: testLogger(t)}, st))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func authSet(s *smtpSink) map[string]any {
	return map[string]any{"username": s.user, "password": s.password}
}

func TestSendHeaderInjectionIsImpossible(t *testing.T) {
	srv := startSMTP(t)
	set := authSet(srv)
	// from_name with CR/LF is refused by LoadSettings; a name needing
	// encoding goes through go-message's encoder.
	set["from_name"] = `Tuki "Äö", Support`
	c := senderFor(t, srv.addr, set)
	res, err := c.Send(context.Background(), connectors.Outgoing{
		To: connectors.Identity{Type: connectors.Email, Value: "ann@customer.example"}, ThreadKey: "root@customer.example",
		Subject: "Hello\r\nBcc: victim@evil.example\r\nX-Injected: yes", Text: "Body\r\n.\r\nQUIT", Agent: "alice\r\nX-Evil: 1",
		InReplyTo: "INBOX/<last@customer.example>"})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.received()
	if len(got) != 1 || len(got[0].To) != 1 || got[0].To[0] != "ann@customer.example" {
		t.Fatalf("envelope recipients = %+v", got)
	}
	raw := got[0].Data
	head := string(raw[:bytes.Index(raw, []byte("\r\n\r\n"))])
	for _, bad := range []string{"\r\nBcc:", "\r\nX-Injected:", "\r\nX-Evil:"} {
		if strings.Contains("\r\n"+head, bad) {
			t.Fatalf("header injected (%q):\n%s", bad, head)
		}
	}
	r, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if from, err := r.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Name != `Tuki "Äö", Support` {
		t.Fatalf("From = %v, %v", from, err)
	}
	subj, _ := r.Header.Subject()
	if subj != "Re: Hello Bcc: victim@evil.example X-Injected: yes" {
		t.Fatalf("subject = %q", subj)
	}
	refs, _ := r.Header.MsgIDList("References")
	irt, _ := r.Header.MsgIDList("In-Reply-To")
	if strings.Join(refs, " ") != "root@customer.example last@customer.example" || strings.Join(irt, " ") != "last@customer.example" {
		t.Fatalf("References %v In-Reply-To %v", refs, irt)
	}
	if id, _ := r.Header.MessageID(); "<"+id+">" != res.ProviderID || !strings.HasSuffix(id, "@hub.example") {
		t.Fatalf("provider id %q, Message-ID %q", res.ProviderID, id)
	}
	// The body's lone "." line did not end the DATA phase early.
	if !bytes.Contains(raw, []byte("QUIT")) {
		t.Fatal("body cut at the dot line")
	}
}

func TestSendSubjectIsNotDoubled(t *testing.T) {
	for in, want := range map[string]string{"Re: Order": "Re: Order", "RE: Order": "RE: Order", "AW: Bestellung": "AW: Bestellung", "Order": "Re: Order", "": "Re: your message"} {
		if got := replySubject(in); got != want {
			t.Errorf("replySubject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSendErrorsArePermanentOnlyFor5xx(t *testing.T) {
	srv := startSMTP(t)
	out := connectors.Outgoing{To: connectors.Identity{Type: connectors.Email, Value: "ann@customer.example"}, Subject: "S", Text: "T"}

	srv.setFail(&smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full, try later"})
	_, err := senderFor(t, srv.addr, authSet(srv)).Send(context.Background(), out)
	if err == nil || errors.Is(err, connectors.ErrPermanent) || !strings.Contains(err.Error(), "452") {
		t.Fatalf("4xx: %v; want a retryable error with the reply", err)
	}
	srv.setFail(&smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message rejected as spam"})
	_, err = senderFor(t, srv.addr, authSet(srv)).Send(context.Background(), out)
	if !errors.Is(err, connectors.ErrPermanent) || !strings.Contains(err.Error(), "554 5.7.1 Message rejected as spam") {
		t.Fatalf("5xx: %v; want ErrPermanent with the server's reply", err)
	}
	// Nothing listens: a network error is retried.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	_, err = senderFor(t, dead, nil).Send(context.Background(), out)
	if err == nil || errors.Is(err, connectors.ErrPermanent) {
		t.Fatalf("refused connection: %v; want retryable", err)
	}
	// A wrong password is refused with 535 and never echoed.
	srv.setFail(nil)
	_, err = senderFor(t, srv.addr, map[string]any{"username": srv.user, "password": "Wr0ng-PassPhrase"}).Send(context.Background(), out)
	if !errors.Is(err, connectors.ErrPermanent) || strings.Contains(err.Error(), "Wr0ng-PassPhrase") {
		t.Fatalf("bad auth: %v", err)
	}
	// Not an email identity: permanent, nothing sent.
	_, err = senderFor(t, srv.addr, authSet(srv)).Send(context.Background(), connectors.Outgoing{To: connectors.Identity{Type: connectors.Phone, Value: "+358401234567"}, Text: "x"})
	if !errors.Is(err, connectors.ErrPermanent) || len(srv.received()) != 0 {
		t.Fatalf("phone recipient: %v, %d sent", err, len(srv.received()))
	}
}

func TestThreadKeys(t *testing.T) {
	id := newMessageID("root@customer.example", "hub.example")
	if k, ok := threadFromHubID("<" + id + ">"); !ok || k != "root@customer.example" {
		t.Fatalf("round trip: %q %v", k, ok)
	}
	for _, tc := range []struct {
		name      string
		own       string
		irt, refs []string
		want      string
	}{
		{"new mail", "m1@x", nil, nil, "m1@x"},
		{"reply with references", "m3@x", []string{"m2@x"}, []string{"m1@x", "m2@x"}, "m1@x"},
		{"client stripped references", "m3@x", []string{id}, nil, "root@customer.example"},
		{"hub id deep in references", "m4@x", []string{"m3@x"}, []string{"other-root@x", id, "m3@x"}, "root@customer.example"},
		{"in-reply-to only", "m2@x", []string{"m1@x"}, nil, "m1@x"},
		{"no ids at all", "", nil, nil, "fallback"},
	} {
		if got := threadKey(tc.own, tc.irt, tc.refs, "fallback"); got != tc.want {
			t.Errorf("%s: threadKey = %q, want %q", tc.name, got, tc.want)
		}
	}
	if _, ok := threadFromHubID("sb.x.abc@hub.example"); ok {
		t.Error("an id without a thread decoded")
	}
	if _, ok := threadFromHubID("someone-else@x"); ok {
		t.Error("a foreign id decoded")
	}
}
