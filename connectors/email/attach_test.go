package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/blobs"
)

// sentPart is one leaf part of a sent mail.
type sentPart struct {
	contentType, disposition, filename string
	body                               []byte
}

// leafParts reads every leaf part of a sent mail, with the top-level type.
func leafParts(t *testing.T, raw []byte) (top string, parts []sentPart) {
	t.Helper()
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	top, _, _ = mr.Header.ContentType()
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var sp sentPart
		switch h := p.Header.(type) {
		case *gomail.InlineHeader:
			sp.contentType, _, _ = h.ContentType()
		case *gomail.AttachmentHeader:
			sp.contentType, _, _ = h.ContentType()
			sp.disposition = "attachment"
			sp.filename, _ = h.Filename()
		}
		sp.body, _ = io.ReadAll(p.Body)
		parts = append(parts, sp)
	}
	return top, parts
}

// TestReplyWithAttachmentsReachesSMTP: an agent's reply with attachments
// goes through the hub's outbound queue and dispatcher to the channel's
// Sender and reaches the SMTP server as multipart/mixed: the text+HTML
// alternative, then each file with its name and exact bytes.
func TestReplyWithAttachmentsReachesSMTP(t *testing.T) {
	h := newHub(t)
	srv := startSMTP(t)
	set := map[string]any{
		"imap": map[string]any{"addr": "127.0.0.1:1", "username": "u", "password": "p"},
		"smtp": map[string]any{"addr": srv.addr, "from": "support@hub.example", "tls": "none", "allow_insecure": true,
			"username": srv.user, "password": srv.password},
	}
	h.channel(t, "r1", set) // the Sender only; IMAP is not run

	// The customer's mail, straight into the hub.
	ctx := context.Background()
	id, err := h.in.Deliver(ctx, connectors.Message{Channel: testChannel, ProviderID: "INBOX/<att-1@customer.example>", ThreadKey: "att-1@customer.example",
		Subject: "Invoice", Text: "Please send the invoice.", OccurredAt: time.Now().UTC(),
		Identities: []connectors.Identity{{Type: connectors.Email, Value: "ann@customer.example", Verified: true}}})
	if err != nil {
		t.Fatal(err)
	}
	var in store.Entry
	waitFor(t, "the customer's mail on the timeline", 5*time.Second, func() bool {
		in, err = h.st.GetEntry(ctx, id)
		return err == nil
	})

	pdf := make([]byte, 70_000) // binary, several base64 lines
	_, _ = rand.Read(pdf)
	csv := []byte("order;amount\r\n1;10,00 €\r\n")
	put := func(b []byte) string {
		sum, _, err := h.blobs.Put(ctx, bytes.NewReader(b), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	atts := []connectors.Attachment{
		{Name: "lasku 2026 – äö.pdf", ContentType: "application/pdf", Size: int64(len(pdf)), SHA256: put(pdf)},
		{Name: "orders.csv", ContentType: "text/csv; charset=utf-8", Size: int64(len(csv)), SHA256: put(csv)},
	}
	reply, err := h.out.ReplyWith(ctx, router.ReplyRequest{ConversationID: in.ConversationID, Agent: "alice", Text: "Here it is.", Attachments: atts})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reply at the SMTP server", 10*time.Second, func() bool { return len(srv.received()) == 1 })
	top, parts := leafParts(t, srv.received()[0].Data)
	if top != "multipart/mixed" {
		t.Fatalf("top-level type %q, want multipart/mixed", top)
	}
	if len(parts) != 4 {
		t.Fatalf("%d parts, want text, html and two attachments: %+v", len(parts), parts)
	}
	if parts[0].contentType != "text/plain" || strings.TrimSpace(string(parts[0].body)) != "Here it is." || parts[1].contentType != "text/html" {
		t.Fatalf("alternative parts: %q %q / %q", parts[0].contentType, parts[0].body, parts[1].contentType)
	}
	for i, want := range []struct {
		name, ct string
		body     []byte
	}{{atts[0].Name, "application/pdf", pdf}, {"orders.csv", "text/csv", csv}} {
		p := parts[2+i]
		if p.disposition != "attachment" || p.filename != want.name || p.contentType != want.ct || !bytes.Equal(p.body, want.body) {
			t.Errorf("attachment %d: %s %q %q (%d bytes); want %q %q (%d bytes)", i, p.disposition, p.filename, p.contentType, len(p.body), want.name, want.ct, len(want.body))
		}
	}
	waitFor(t, "the reply marked sent", 5*time.Second, func() bool {
		e, _ := h.st.GetEntry(ctx, reply.ID)
		return e.Status == connectors.StatusSent && len(e.Attachments) == 2
	})
}

// TestSendAttachmentWithoutContentIsPermanent: an attachment the hub's
// blob store does not hold fails the reply at once; nothing is sent
// without it.
func TestSendAttachmentWithoutContentIsPermanent(t *testing.T) {
	srv := startSMTP(t)
	c := senderFor(t, srv.addr, authSet(srv))
	bl, err := blobs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c.env.Blobs = bl // a real store, without the blob
	out := connectors.Outgoing{To: connectors.Identity{Type: connectors.Email, Value: "ann@customer.example"}, Subject: "S", Text: "T",
		Attachments: []connectors.Attachment{{Name: "a.pdf", ContentType: "application/pdf", Size: 3, SHA256: strings.Repeat("ab", 32)}}}
	_, err = c.Send(context.Background(), out)
	if !errors.Is(err, connectors.ErrPermanent) || !strings.Contains(err.Error(), `attachment "a.pdf" has no stored content`) {
		t.Fatalf("err = %v", err)
	}
	if n := len(srv.received()); n != 0 {
		t.Fatalf("%d mails sent", n)
	}
}
