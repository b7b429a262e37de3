package email

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
)

// FuzzThreadHeaders: the threading chain's header parsing (Message-ID,
// In-Reply-To, References, Thread-Index, Thread-Topic, Subject) never
// panics, and what it hands the router is bounded and clean: at most
// MaxThreadRefs ids, none with brackets, white space or control
// characters; an index root of 32 hex digits or none; a token of six
// Crockford characters or none. Seeds: testdata/fuzz/FuzzThreadHeaders.
func FuzzThreadHeaders(f *testing.F) {
	f.Add([]byte("Message-ID: <a@b>\r\nIn-Reply-To: <sb.mfrgg.abc@hub.example>\r\nReferences: <r1@x> <r2@x>\r\nThread-Index: AQHZ3q0xAAECAwQFBgcICQoLDA0ODw==\r\nThread-Topic: lamp\r\nSubject: RE: AW: lamp [#4F2KQX]\r\n\r\nbody"))
	f.Add([]byte("References: <" + strings.Repeat("x", 300) + "> <<a@b>> <a b@c>\r\nThread-Index: ====\r\n\r\n"))
	ch := &Channel{name: "support-mail", set: Settings{ThreadWindow: config.Duration(DefaultThreadWindow)}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := Parse(raw, Limits{MaxMessageBytes: 64 << 10, MaxAttachmentBytes: 8 << 10}, false)
		h := ch.threadHints("INBOX", p)
		if len(h.Refs) > connectors.MaxThreadRefs {
			t.Fatalf("%d refs", len(h.Refs))
		}
		for _, id := range append([]string{h.MessageID}, h.Refs...) {
			if strings.ContainsAny(id, "<> \t\r\n\x00") || len(id) > 250 {
				t.Fatalf("unclean id %q", id)
			}
		}
		if h.IndexRoot != "" {
			if b, err := hex.DecodeString(h.IndexRoot); err != nil || len(b) != 16 {
				t.Fatalf("index root %q", h.IndexRoot)
			}
		}
		if h.Token != "" && (len(h.Token) != 6 || connectors.SubjectToken("[#"+h.Token+"]") != h.Token) {
			t.Fatalf("token %q", h.Token)
		}
		if h.Window != DefaultThreadWindow || h.Mailbox != "support-mail/INBOX" {
			t.Fatalf("window %s mailbox %q", h.Window, h.Mailbox)
		}
		_ = threadIndex("v_x", time.Unix(0, 0))
	})
}

func TestThreadIndexRoundTrip(t *testing.T) {
	ti := threadIndex("v_abc", time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC))
	if got := threadIndexRoot(ti); got != connectors.ThreadIndexRoot("v_abc") {
		t.Fatalf("root of the hub's Thread-Index = %q, want %q", got, connectors.ThreadIndexRoot("v_abc"))
	}
	// A real Outlook value (root and one answer block).
	if r := threadIndexRoot("AQHZ3q0xAAECAwQFBgcICQoLDA0ODwABAgME"); r != "000102030405060708090a0b0c0d0e0f" {
		t.Fatalf("root = %q", r)
	}
	for _, bad := range []string{"", "AQID", "not base64!", strings.Repeat("A", 5000)} {
		if r := threadIndexRoot(bad); r != "" {
			t.Fatalf("root of %q = %q", bad, r)
		}
	}
}

func TestNoReplyAddress(t *testing.T) {
	for addr, want := range map[string]bool{
		"noreply@x.example": true, "no-reply@x.example": true, "NoReply+abc@x.example": true, "MAILER-DAEMON@x": true,
		"postmaster@x": true, "do-not-reply@x": true, "billing-noreply@x": true, "ann@x.example": false, "reply@x": false,
		"norah@x": false,
	} {
		if got := NoReplyAddress(addr); got != want {
			t.Errorf("NoReplyAddress(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestAutomaticLimit(t *testing.T) {
	var a autoLimit
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		if !a.allowed("Ann@x.example", now, 3) {
			t.Fatalf("mail %d refused", i+1)
		}
		a.record("ann@x.example", now)
	}
	if a.allowed("ann@X.example", now.Add(time.Hour), 3) {
		t.Fatal("a fourth automatic mail within 24 h allowed")
	}
	if !a.allowed("bob@x.example", now, 3) || !a.allowed("ann@x.example", now, -1) {
		t.Fatal("the limit is per address; -1 means none")
	}
	if !a.allowed("ann@x.example", now.Add(AutomaticLimitWindow), 3) {
		t.Fatal("still refused after the window")
	}
}

func TestThreadSettings(t *testing.T) {
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{"imap": map[string]any{"addr": "imap.example.com:993", "username": "support", "password": "x"},
			"smtp": map[string]any{"addr": "smtp.example.com:587", "from": "support@example.com"}}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	s, err := load(base(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.ThreadWindow.D() != 14*24*time.Hour || s.AutomaticLimit != 5 {
		t.Fatalf("defaults: thread_window %s, automatic_limit %d", s.ThreadWindow, s.AutomaticLimit)
	}
	s, err = load(base(map[string]any{"thread_window": "72h", "automatic_limit": 2}))
	if err != nil {
		t.Fatal(err)
	}
	if s.ThreadWindow.D() != 72*time.Hour || s.AutomaticLimit != 2 {
		t.Fatalf("thread_window %s, automatic_limit %d", s.ThreadWindow, s.AutomaticLimit)
	}
	if _, err := load(base(map[string]any{"thread_window": "14 days"})); err == nil {
		t.Fatal("a thread_window without a unit Go knows was accepted")
	}
}

func TestWithToken(t *testing.T) {
	tok := connectors.ConversationToken("v_new")
	old := connectors.ConversationToken("v_old")
	for in, want := range map[string]string{
		"Re: Broken lamp":                       "Re: Broken lamp [#" + tok + "]",
		"Re: Broken lamp [#" + tok + "]":        "Re: Broken lamp [#" + tok + "]",
		"Re: Broken lamp [#" + old + "]":        "Re: Broken lamp [#" + tok + "]",
		"Re: [#" + strings.ToLower(old) + "] x": "Re: x [#" + tok + "]",
	} {
		if got := withToken(in, "v_new"); got != want {
			t.Errorf("withToken(%q) = %q, want %q", in, got, want)
		}
	}
}
