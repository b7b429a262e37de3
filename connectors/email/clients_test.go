package email

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/store"
)

// clientMail renders testdata/clients/NAME with the thread's values
// (placeholders {{KEY}}), with CRLF line ends as on the wire.
func clientMail(t testing.TB, name string, vals map[string]string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "clients", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range vals {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	if i := strings.Index(s, "{{"); i >= 0 {
		t.Fatalf("%s: placeholder left: %.30s", name, s[i:])
	}
	return []byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n"))
}

// sentHeader is the header of the n-th mail the SMTP server received.
func sentHeader(t testing.TB, srv *smtpSink, n int) gomail.Header {
	t.Helper()
	mr, err := gomail.CreateReader(bytes.NewReader(srv.received()[n].Data))
	if err != nil {
		t.Fatal(err)
	}
	return mr.Header
}

// threadedHub is a hub with the email channel on a fresh Dovecot mailbox
// and an SMTP server, a verified customer's first mail, and the agent's
// reply as the customer's client received it.
type threadedHub struct {
	h       *hub
	d       dovecot
	user    string
	smtp    *smtpSink
	conv    string
	vals    map[string]string // FIRST, HUBID, HUBSUBJECT, TOKEN, THREADINDEX
	replyID string
}

func newThreadedHub(t *testing.T) *threadedHub {
	d := testDovecot(t)
	h := newHub(t)
	user := newUser()
	srv := startSMTP(t)
	set := d.settings(user, nil)
	set["smtp"] = map[string]any{"addr": srv.addr, "from": "support@hub.example", "from_name": "Example Support",
		"tls": "none", "allow_insecure": true, "username": srv.user, "password": srv.password}
	set["trusted_authserv_ids"] = []any{"mx.hub.example"}
	c := h.channel(t, "r1", set)
	run(t, c, h.in)
	waitIdle(t, h, "INBOX")
	first := "first-" + randomHex(4) + "@customer.example"
	d.deliver(t, user, newMail("Ann Customer <ann@customer.example>", "Broken lamp", first, "My lamp arrived broken.",
		"Authentication-Results: mx.hub.example; dmarc=pass header.from=customer.example"))
	var es []store.Entry
	waitFor(t, "the first mail", 5*time.Second, func() bool { es = h.entries(t, "ann@customer.example"); return len(es) == 1 })
	conv := es[0].ConversationID
	reply, err := h.out.Reply(context.Background(), conv, "alice", "", "Sorry! A new lamp is on its way.")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reply at the SMTP server", 5*time.Second, func() bool { return len(srv.received()) == 1 })
	hdr := sentHeader(t, srv, 0)
	hubID, _ := hdr.MessageID()
	subj, _ := hdr.Subject()
	ti := hdr.Get("Thread-Index")
	raw, err := base64.StdEncoding.DecodeString(ti)
	if err != nil || len(raw) != 22 {
		t.Fatalf("reply Thread-Index %q: %v", ti, err)
	}
	// Outlook appends 5 bytes per answer and keeps the 22-byte root.
	child := base64.StdEncoding.EncodeToString(append(raw, 0x00, 0x01, 0x02, 0x03, 0x04))
	tok := connectors.ConversationToken(conv)
	if !strings.HasSuffix(subj, "[#"+tok+"]") || hdr.Get("Thread-Topic") != "Broken lamp" {
		t.Fatalf("reply subject %q, Thread-Topic %q: want the token [#%s] and the topic", subj, hdr.Get("Thread-Topic"), tok)
	}
	waitFor(t, "the reply marked sent", 5*time.Second, func() bool {
		r, _ := h.st.GetEntry(context.Background(), reply.ID)
		return r.Status == connectors.StatusSent
	})
	return &threadedHub{h: h, d: d, user: user, smtp: srv, conv: conv, replyID: reply.ID, vals: map[string]string{
		"FIRST": first, "HUBID": hubID, "HUBSUBJECT": subj, "TOKEN": tok, "THREADINDEX": child}}
}

// deliver renders and delivers a client mail with a fresh Message-ID and
// returns that mail's entry once it is on a timeline.
func (th *threadedHub) deliver(t *testing.T, name string) store.Entry {
	t.Helper()
	vals := map[string]string{"DATE": time.Now().UTC().Format(time.RFC1123Z), "MSGID": strings.TrimSuffix(name, ".eml") + "-" + randomHex(4) + "@customer.example",
		"BASE64BODY": base64.StdEncoding.EncodeToString([]byte("Lähetetty iPhonesta: the lamp again. (translated prefixes, no thread headers)"))}
	for k, v := range th.vals {
		vals[k] = v
	}
	th.d.deliver(t, th.user, clientMail(t, name, vals))
	// A mail's entry is found through its Message-ID (router.MailEntryID).
	var e store.Entry
	waitFor(t, name+" on a timeline", 8*time.Second, func() bool {
		id, err := th.h.st.GetProviderID(context.Background(), store.MessageIDIndex, "<"+vals["MSGID"]+">")
		if err != nil {
			return false
		}
		e, err = th.h.st.GetEntry(context.Background(), id)
		return err == nil
	})
	return e
}

// TestClientAnswersThread: answers from Outlook, Gmail, Apple Mail and a
// mobile client to the hub's reply, with and without thread headers, with
// translated prefixes and rewritten subjects, each land in the
// conversation through the step of the threading chain that case needs;
// a new topic from the same customer opens a new one.
func TestClientAnswersThread(t *testing.T) {
	th := newThreadedHub(t)
	for _, tc := range []struct {
		name, why string
		same      bool
	}{
		{"gmail-references.eml", "References and In-Reply-To name the hub's reply", true},
		{"applemail-rewritten-subject.eml", "rewritten subject, References intact", true},
		{"gmail-truncated-references.eml", "names only her own first mail (a Message-ID the hub has seen)", true},
		{"mobile-token-only.eml", "no thread headers, a rewritten subject keeping [#token]", true},
		{"outlook-no-references.eml", "Outlook dropped In-Reply-To/References; Thread-Index kept", true},
		{"outlook-mobile-translated-prefixes.eml", "no headers, no token: VS: SV: AW: Fwd: VL: RE: and the same subject within the window", true},
		{"new-topic.eml", "a new subject without any clue", false},
	} {
		e := th.deliver(t, tc.name)
		if got := e.ConversationID == th.conv; got != tc.same {
			t.Errorf("%s (%s): conversation %s, the thread's is %s; same = %v, want %v", tc.name, tc.why, e.ConversationID, th.conv, got, tc.same)
		}
		if e.Sender == nil || !e.Sender.Verified || e.Sender.Value != "ann@customer.example" {
			t.Errorf("%s: sender %+v, want ann verified", tc.name, e.Sender)
		}
	}
	// The answers joined one conversation: the agent's next reply goes out
	// from its mailbox, in the thread.
	if _, err := th.h.out.Reply(context.Background(), th.conv, "alice", "", "Glad it works."); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second reply", 5*time.Second, func() bool { return len(th.smtp.received()) == 2 })
	if s := th.smtp.received()[1]; s.From != "support@hub.example" {
		t.Fatalf("second reply from %s", s.From)
	}
}

// TestAutoResponderLoopStops: an automatic message (a survey) carries
// Auto-Submitted: auto-generated; an auto-responder answers it; the next
// automatic message is not sent, and nothing goes out in answer.
func TestAutoResponderLoopStops(t *testing.T) {
	th := newThreadedHub(t)
	ctx := context.Background()
	survey := queueAutomatic(t, th, "How did we do? Answer 1-5.")
	waitFor(t, "the survey sent", 5*time.Second, func() bool { return len(th.smtp.received()) == 2 })
	hdr := sentHeader(t, th.smtp, 1)
	if hdr.Get("Auto-Submitted") != "auto-generated" {
		t.Fatalf("survey Auto-Submitted = %q, want auto-generated", hdr.Get("Auto-Submitted"))
	}
	waitFor(t, "the survey marked sent", 5*time.Second, func() bool {
		e, _ := th.h.st.GetEntry(ctx, survey)
		return e.Status == connectors.StatusSent
	})
	// The customer's out-of-office answers the survey.
	th.vals["HUBID"], _ = hdr.MessageID()
	// Its clock is ten minutes slow: the latest message is the latest to
	// arrive, whatever its Date says.
	th.vals["DATE"] = time.Now().Add(-10 * time.Minute).UTC().Format(time.RFC1123Z)
	ooo := th.deliver(t, "autoresponder.eml")
	delete(th.vals, "DATE")
	if !contains(ooo.Flags, store.FlagNoReply) || ooo.ConversationID != th.conv {
		t.Fatalf("auto-reply entry flags %v conversation %s, want no-reply in %s", ooo.Flags, ooo.ConversationID, th.conv)
	}
	// Whatever automation answers it next is refused, and nothing is sent.
	again := queueAutomatic(t, th, "How did we do? (reminder)")
	var e store.Entry
	deadline := time.Now().Add(5 * time.Second)
	for {
		e, _ = th.h.st.GetEntry(ctx, again)
		if e.Status == connectors.StatusFailed {
			break
		}
		if time.Now().After(deadline) {
			es, _ := th.h.st.PageEntries(ctx, e.CustomerID, "", 50)
			for _, x := range es {
				t.Logf("%s %s %s %v %s", x.OccurredAt.Format(time.RFC3339Nano), x.Direction, x.ConversationID, x.Flags, x.Text)
			}
			t.Fatalf("the automatic answer is %s (%s), want failed; %d mails sent", e.Status, e.StatusDetail, len(th.smtp.received()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(e.StatusDetail, "no-reply") {
		t.Fatalf("status detail %q", e.StatusDetail)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(th.smtp.received()); n != 2 {
		t.Fatalf("%d mails sent, want 2 (the reply and the survey): the loop went on", n)
	}
	// An agent may still answer by hand.
	if _, err := th.h.out.Reply(ctx, th.conv, "alice", "", "We will call you on Monday."); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the agent's reply", 5*time.Second, func() bool { return len(th.smtp.received()) == 3 })
}

// queueAutomatic queues an automatic message (store.FlagAutomatic) in the
// thread's conversation as an automation does, through the outbound queue.
func queueAutomatic(t *testing.T, th *threadedHub, text string) string {
	t.Helper()
	ctx := context.Background()
	conv, err := th.h.st.GetConversation(ctx, th.conv)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	to := connectors.Identity{Type: connectors.Email, Value: "ann@customer.example", Verified: true}
	e := store.Entry{ID: ids.Random("o_", now), CustomerID: conv.CustomerID, ConversationID: conv.ID, Channel: testChannel,
		Direction: connectors.Outbound, Kind: store.KindMessage, Sender: &to, Text: text, Subject: conv.Subject,
		Flags: []string{store.FlagAutomatic}, Status: connectors.StatusQueued, OccurredAt: now, CreatedAt: now, UpdatedAt: now}
	if _, _, err := th.h.st.AppendEntry(ctx, e); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{"entry_id": e.ID})
	if _, err := th.h.st.Enqueue(ctx, store.QueueOutbound, b); err != nil {
		t.Fatal(err)
	}
	return e.ID
}

// TestSpoofedFromStaysClaimed: a mail with Ann's From, answering the
// hub's reply, whose topmost Authentication-Results of the trusted server
// says dmarc=fail (a forged "pass" header below it): claimed, on a
// customer of its own, never in Ann's conversation.
func TestSpoofedFromStaysClaimed(t *testing.T) {
	th := newThreadedHub(t)
	e := th.deliver(t, "spoofed.eml")
	if e.Sender == nil || e.Sender.Verified {
		t.Fatalf("spoofed sender %+v, want claimed", e.Sender)
	}
	conv, err := th.h.st.GetConversation(context.Background(), th.conv)
	if err != nil {
		t.Fatal(err)
	}
	if e.CustomerID == conv.CustomerID || e.ConversationID == th.conv {
		t.Fatalf("the spoofed mail joined Ann (customer %s, conversation %s)", e.CustomerID, e.ConversationID)
	}
	for _, x := range th.h.entries(t, "ann@customer.example") {
		if strings.Contains(x.Text, "refund") {
			t.Fatalf("the spoofed mail is on Ann's timeline: %+v", x)
		}
	}
	if !contains(e.Flags, FlagDMARCFail) {
		t.Fatalf("flags %v, want %s", e.Flags, FlagDMARCFail)
	}
}

// TestOwnMailComesBack: the hub's reply coming back into its mailbox (a
// Bcc, a list reflecting it) is filed beside the reply, flagged own-mail;
// a new mail from the hub's own address carrying a conversation token is
// held in the quarantine. Neither becomes a customer of the hub's address.
func TestOwnMailComesBack(t *testing.T) {
	th := newThreadedHub(t)
	ctx := context.Background()
	copyOfReply := strings.Replace(string(th.smtp.received()[0].Data), "\r\n", "\r\nAuthentication-Results: mx.hub.example; dmarc=pass header.from=hub.example\r\n", 1)
	th.d.deliver(t, th.user, []byte(copyOfReply))
	th.d.deliver(t, th.user, newMail("Example Support <support@hub.example>", "Re: Broken lamp [#"+th.vals["TOKEN"]+"]", "own-"+randomHex(4)+"@hub.example",
		"Forwarded by the list.", "Authentication-Results: mx.hub.example; dmarc=pass header.from=hub.example"))
	var own []store.Entry
	waitFor(t, "the returned reply beside it", 8*time.Second, func() bool {
		own = own[:0]
		for _, e := range th.h.entries(t, "ann@customer.example") {
			if contains(e.Flags, FlagOwnMail) {
				own = append(own, e)
			}
		}
		return len(own) == 1
	})
	if own[0].ConversationID != th.conv || !contains(own[0].Flags, store.FlagNoReply) {
		t.Fatalf("returned reply %+v", own[0])
	}
	waitFor(t, "the token mail quarantined", 8*time.Second, func() bool {
		q, err := th.h.st.ListQuarantine(ctx, testChannel, 10)
		return err == nil && len(q) == 1 && strings.Contains(q[0].Reason, "own mail")
	})
	time.Sleep(300 * time.Millisecond)
	if es := th.h.entries(t, "support@hub.example"); len(es) != 0 {
		t.Fatalf("the hub's own address became a customer: %+v", es)
	}
}
