package email

import (
	"bytes"
	"context"
	"testing"

	gomail "github.com/emersion/go-message/mail"

	"github.com/switchboard-hub/switchboard/connectors"
)

// TestSendListUnsubscribe: a message for a purpose other than service
// carries RFC 8058 one-click unsubscribe headers; a reply does not.
func TestSendListUnsubscribe(t *testing.T) {
	srv := startSMTP(t)
	c := senderFor(t, srv.addr, authSet(srv))
	to := connectors.Identity{Type: connectors.Email, Value: "ann@customer.example"}
	if _, err := c.Send(context.Background(), connectors.Outgoing{To: to, Subject: "Spring sale", Text: "20% off", Purpose: "marketing",
		Unsubscribe: "https://hub.example/unsubscribe/abc.def\r\nBcc: x@evil.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(context.Background(), connectors.Outgoing{To: to, Subject: "Re: order", Text: "It shipped"}); err != nil {
		t.Fatal(err)
	}
	got := srv.received()
	if len(got) != 2 {
		t.Fatalf("%d mails, want 2", len(got))
	}
	for i, want := range []struct{ list, post string }{
		{"<https://hub.example/unsubscribe/abc.def Bcc: x@evil.example>", "List-Unsubscribe=One-Click"}, {"", ""}} {
		r, err := gomail.CreateReader(bytes.NewReader(got[i].Data))
		if err != nil {
			t.Fatal(err)
		}
		if l, p := r.Header.Get("List-Unsubscribe"), r.Header.Get("List-Unsubscribe-Post"); l != want.list || p != want.post {
			t.Errorf("mail %d: List-Unsubscribe %q, List-Unsubscribe-Post %q; want %q, %q", i, l, p, want.list, want.post)
		}
		if r.Header.Get("Bcc") != "" {
			t.Errorf("mail %d: header injected", i)
		}
	}
}
