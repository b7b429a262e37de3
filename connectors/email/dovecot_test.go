package email

// Integration tests against a real Dovecot (scripts/peers/email.sh) and a
// real hub pipeline below HTTP. Replies go to an in-process go-smtp
// server, because the test must read exactly what was sent.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	gomail "github.com/emersion/go-message/mail"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
)

// waitIdle waits until the connector has written its first checkpoint (it
// has selected the folder) and then briefly for it to enter IDLE.
func waitIdle(t *testing.T, h *hub, folder string) {
	t.Helper()
	waitFor(t, "the first checkpoint", 10*time.Second, func() bool {
		_, err := h.st.GetCheckpoint(context.Background(), CheckpointKey(testChannel, folder))
		return err == nil
	})
	time.Sleep(300 * time.Millisecond)
}

func readCheckpoint(t *testing.T, h *hub, folder string) checkpoint {
	t.Helper()
	b, err := h.st.GetCheckpoint(context.Background(), CheckpointKey(testChannel, folder))
	if err != nil {
		t.Fatal(err)
	}
	var cp checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		t.Fatal(err)
	}
	return cp
}

// TestIdleReplyAndCustomerAnswer is the channel's main story: a mail
// delivered to Dovecot reaches the customer's timeline within 2 s while
// the connector idles; the agent's reply reaches the SMTP server with the
// threading headers; the customer's answer (from a client that drops
// References) lands in the same conversation; a new subject opens a new
// one; and a bounce of the reply marks it failed.
func TestIdleReplyAndCustomerAnswer(t *testing.T) {
	d := testDovecot(t)
	h := newHub(t)
	user := newUser()
	smtpSrv := startSMTP(t)
	set := d.settings(user, nil)
	set["smtp"] = map[string]any{"addr": smtpSrv.addr, "from": "support@hub.example", "from_name": "Example Support",
		"tls": "none", "allow_insecure": true, "username": smtpSrv.user, "password": smtpSrv.password}
	set["trusted_authserv_ids"] = []any{"mx.hub.example"}
	c := h.channel(t, "r1", set)
	run(t, c, h.in)
	waitIdle(t, h, "INBOX")

	first := "first-" + randomHex(4) + "@customer.example"
	start := time.Now()
	d.deliver(t, user, newMail("Ann Customer <ann@customer.example>", "Broken lamp", first, "My lamp arrived broken.",
		"Authentication-Results: mx.hub.example; dmarc=pass header.from=customer.example"))
	var es []store.Entry
	waitFor(t, "the mail on the customer's timeline", 2*time.Second, func() bool {
		es = h.entries(t, "ann@customer.example")
		return len(es) == 1
	})
	t.Logf("LMTP delivery to timeline entry: %s", time.Since(start).Round(time.Millisecond))
	e := es[0]
	if e.Text != "My lamp arrived broken." || e.Subject != "Broken lamp" || e.Sender == nil || !e.Sender.Verified || e.SenderName != "Ann Customer" {
		t.Fatalf("entry = %+v", e)
	}
	if e.ProviderID != "INBOX/<"+first+">" {
		t.Fatalf("provider id = %q", e.ProviderID)
	}
	conv := e.ConversationID

	// The agent answers from the inbox.
	reply, err := h.out.Reply(context.Background(), conv, "alice", "", "Sorry! A new lamp is on its way.")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reply at the SMTP server", 5*time.Second, func() bool { return len(smtpSrv.received()) == 1 })
	sent := smtpSrv.received()[0]
	if sent.From != "support@hub.example" || len(sent.To) != 1 || sent.To[0] != "ann@customer.example" {
		t.Fatalf("envelope = %s -> %v", sent.From, sent.To)
	}
	mr, err := gomail.CreateReader(bytes.NewReader(sent.Data))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := mr.Header.Subject()
	irt, _ := mr.Header.MsgIDList("In-Reply-To")
	refs, _ := mr.Header.MsgIDList("References")
	ownID, _ := mr.Header.MessageID()
	from, _ := mr.Header.AddressList("From")
	if subj != "Re: Broken lamp [#"+connectors.ConversationToken(conv)+"]" || fmt.Sprint(irt) != fmt.Sprint([]string{first}) || len(refs) == 0 || refs[len(refs)-1] != first {
		t.Fatalf("threading headers: subject %q, In-Reply-To %v, References %v", subj, irt, refs)
	}
	if len(from) != 1 || from[0].Name != "Example Support" || from[0].Address != "support@hub.example" {
		t.Fatalf("From = %v", from)
	}
	if key, ok := threadFromHubID(ownID); !ok || key != first {
		t.Fatalf("reply Message-ID %q does not carry the thread (%q)", ownID, key)
	}
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := p.Header.(*gomail.InlineHeader).ContentType()
		b, _ := io.ReadAll(p.Body)
		parts = append(parts, ct+": "+strings.TrimSpace(string(b)))
	}
	if len(parts) != 2 || parts[0] != "text/plain: Sorry! A new lamp is on its way." || !strings.HasPrefix(parts[1], "text/html: ") {
		t.Fatalf("parts = %q", parts)
	}
	waitFor(t, "the reply marked sent", 5*time.Second, func() bool {
		r, _ := h.st.GetEntry(context.Background(), reply.ID)
		return r.Status == connectors.StatusSent && r.ProviderID == "<"+ownID+">"
	})

	// The customer answers from a client that keeps only In-Reply-To (the
	// receiving server authenticates every mail, as it did the first: an
	// unauthenticated one would be a claim, kept off her timeline).
	authRes := "Authentication-Results: mx.hub.example; dmarc=pass header.from=customer.example"
	d.deliver(t, user, newMail("ann@customer.example", "Re: Broken lamp", "answer-"+randomHex(4)+"@customer.example",
		"Thanks, got it.", "In-Reply-To: <"+ownID+">", authRes))
	// ... and then writes about something else.
	d.deliver(t, user, newMail("ann@customer.example", "Invoice question", "other-"+randomHex(4)+"@customer.example", "Where is my invoice?", authRes))
	waitFor(t, "both new mails", 5*time.Second, func() bool { return len(h.entries(t, "ann@customer.example")) == 4 })
	byText := map[string]store.Entry{}
	for _, e := range h.entries(t, "ann@customer.example") {
		byText[e.Text] = e
	}
	if got := byText["Thanks, got it."].ConversationID; got != conv {
		t.Fatalf("the answer went to conversation %q, want %q", got, conv)
	}
	if got := byText["Where is my invoice?"].ConversationID; got == conv || got == "" {
		t.Fatalf("a new subject without references joined conversation %q", got)
	}

	// The reply bounces: the DSN marks it failed and is filed beside the
	// reply in Ann's conversation; the mailer-daemon becomes no customer.
	dsn := strings.ReplaceAll(string(readCorpus(t, "bounce-dsn.eml")), "<sb.inaumplbnzxc2ztjojzxiqdnmfuwyltfpbqw24dmmuxgg33n.k4mzqdt3ab2cd@hub.example>", "<"+ownID+">")
	dsn = strings.ReplaceAll(dsn, "dsn-1@mx.hub.example", "dsn-"+randomHex(4)+"@mx.hub.example")
	d.deliver(t, user, []byte(dsn))
	waitFor(t, "the bounce to mark the reply failed", 8*time.Second, func() bool {
		r, _ := h.st.GetEntry(context.Background(), reply.ID)
		return r.Status == connectors.StatusFailed && strings.Contains(r.StatusDetail, "User unknown")
	})
	var bounces []store.Entry
	waitFor(t, "the bounce on Ann's timeline", 5*time.Second, func() bool {
		bounces = bounces[:0]
		for _, e := range h.entries(t, "ann@customer.example") {
			if contains(e.Flags, FlagBounce) {
				bounces = append(bounces, e)
			}
		}
		return len(bounces) > 0
	})
	if len(bounces) != 1 || !contains(bounces[0].Flags, "no-reply") || bounces[0].ConversationID != conv {
		t.Fatalf("bounce entry = %+v, want one no-reply bounce in conversation %s", bounces, conv)
	}
	if es := h.entries(t, "mailer-daemon@mx.hub.example"); len(es) != 0 {
		t.Fatalf("the mailer-daemon got a timeline: %+v", es)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestUIDValidityChangeNoDuplicates: after the server renumbers the
// folder, the connector reads it again from scratch, and every mail still
// appears once.
func TestUIDValidityChangeNoDuplicates(t *testing.T) {
	d := testDovecot(t)
	if d.conf == "" {
		testenv.Absent(t, "doveadm's config (SWITCHBOARD_TEST_DOVECOT_CONF; scripts/peers/email.sh)", nil)
	}
	h := newHub(t)
	user := newUser()
	for i := 0; i < 5; i++ {
		d.deliver(t, user, newMail("bob@customer.example", fmt.Sprintf("Mail %d", i), fmt.Sprintf("uv-%d-%s@customer.example", i, randomHex(3)), fmt.Sprintf("body %d", i)))
	}
	// One mail without a Message-ID: deduped by its content hash.
	d.deliver(t, user, newMail("bob@customer.example", "No id", "", "no id body"))
	sink := &countingSink{next: h.in}
	c := h.channel(t, "r1", d.settings(user, map[string]any{"backfill_since": "2000-01-01"}))
	run(t, c, sink)
	waitFor(t, "the backfill", 10*time.Second, func() bool { return len(h.entries(t, "bob@customer.example")) == 6 })
	old := readCheckpoint(t, h, "INBOX").UIDValidity

	out, err := exec.Command("doveadm", "-c", d.conf, "mailbox", "update", "-u", user, "--uid-validity", fmt.Sprint(old+1000), "INBOX").CombinedOutput()
	if err != nil {
		t.Fatalf("doveadm mailbox update: %v %s", err, out)
	}
	if got := d.uidValidity(t, user, "INBOX"); got != old+1000 {
		t.Fatalf("UIDVALIDITY is %d after doveadm, want %d", got, old+1000)
	}
	// A new mail wakes the idling connector (or it reconnects after the
	// server closed the session); either way it must notice the change.
	d.deliver(t, user, newMail("bob@customer.example", "After", "uv-after-"+randomHex(3)+"@customer.example", "after the change"))
	waitFor(t, "the resync", 15*time.Second, func() bool {
		return readCheckpoint(t, h, "INBOX").UIDValidity == old+1000 && len(h.entries(t, "bob@customer.example")) >= 7
	})
	time.Sleep(500 * time.Millisecond)
	es := h.entries(t, "bob@customer.example")
	if len(es) != 7 {
		t.Fatalf("timeline has %d entries after the resync, want 7 (6 old + 1 new, no duplicates)", len(es))
	}
	if n := sink.n.Load(); n < 13 {
		t.Fatalf("only %d deliveries: the folder was not read again (want >= 6 + 6 + 1)", n)
	}
}

// TestDovecotRestartReconnects: the server goes away mid-run and comes
// back; the connector reconnects and picks up the mail that arrived.
func TestDovecotRestartReconnects(t *testing.T) {
	p := startPrivateDovecot(t)
	h := newHub(t)
	user := newUser()
	c := h.channel(t, "r1", p.settings(user, nil))
	run(t, c, h.in)
	waitIdle(t, h, "INBOX")
	p.deliver(t, user, newMail("cid@customer.example", "Before", "before-"+randomHex(3)+"@x", "before restart"))
	waitFor(t, "the first mail", 5*time.Second, func() bool { return len(h.entries(t, "cid@customer.example")) == 1 })

	p.stop(t)
	time.Sleep(500 * time.Millisecond)
	bin, _ := exec.LookPath("dovecot")
	p.start(t, bin)
	p.deliver(t, user, newMail("cid@customer.example", "After", "after-"+randomHex(3)+"@x", "after restart"))
	waitFor(t, "the mail delivered after the restart", 20*time.Second, func() bool { return len(h.entries(t, "cid@customer.example")) == 2 })
}

// TestCheckpointOnlyAfterDeliver: when the hub refuses a mail (its store
// is down), the checkpoint does not pass it; after the connector retries,
// every mail is on the timeline exactly once.
func TestCheckpointOnlyAfterDeliver(t *testing.T) {
	d := testDovecot(t)
	h := newHub(t)
	user := newUser()
	for i := 0; i < 6; i++ {
		d.deliver(t, user, newMail("dan@customer.example", fmt.Sprintf("M%d", i), fmt.Sprintf("cp-%d-%s@x", i, randomHex(3)), fmt.Sprintf("mail %d", i)))
	}
	sink := &countingSink{next: h.in}
	sink.failN.Store(4)
	c := h.channel(t, "r1", d.settings(user, map[string]any{"backfill_since": "2000-01-01", "batch_size": 2}))
	run(t, c, sink)
	waitFor(t, "all six mails", 15*time.Second, func() bool { return len(h.entries(t, "dan@customer.example")) == 6 })
	time.Sleep(300 * time.Millisecond)
	texts := map[string]int{}
	for _, e := range h.entries(t, "dan@customer.example") {
		texts[e.Text]++
	}
	for i := 0; i < 6; i++ {
		if texts[fmt.Sprintf("mail %d", i)] != 1 {
			t.Fatalf("timeline texts = %v", texts)
		}
	}
	if n := sink.n.Load(); n < 7 {
		t.Fatalf("%d deliveries; the failed one was not retried", n)
	}
}

// TestMarkSeenAndMoveTo: fetched mail is flagged \Seen and moved once the
// hub holds it.
func TestMarkSeenAndMoveTo(t *testing.T) {
	d := testDovecot(t)
	h := newHub(t)
	user := newUser()
	cl := d.client(t, user)
	if err := cl.Create("Done", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	c := h.channel(t, "r1", d.settings(user, map[string]any{"mark_seen": true, "move_to": "Done"}))
	run(t, c, h.in)
	waitIdle(t, h, "INBOX")
	d.deliver(t, user, newMail("eve@customer.example", "Move me", "mv-"+randomHex(3)+"@x", "move me"))
	waitFor(t, "the mail moved to Done", 5*time.Second, func() bool {
		st, err := cl.Status("Done", &imapStatusMessages).Wait()
		return err == nil && st.NumMessages != nil && *st.NumMessages == 1
	})
	// Moved once durable in the ingest queue; the router writes the entry.
	waitFor(t, "the entry", 5*time.Second, func() bool { return len(h.entries(t, "eve@customer.example")) == 1 })
	st, err := cl.Status("INBOX", &imapStatusMessages).Wait()
	if err != nil || *st.NumMessages != 0 {
		t.Fatalf("INBOX still has %v messages (%v)", st, err)
	}
	sel, err := cl.Select("Done", nil).Wait()
	if err != nil || sel.NumMessages != 1 {
		t.Fatal(err)
	}
	unseen, err := cl.UIDSearch(&imapSearchUnseen, nil).Wait()
	if err != nil || len(unseen.AllUIDs()) != 0 {
		t.Fatalf("moved mail is not \\Seen: %v %v", unseen, err)
	}
}

// TestTesterReportsIMAPAndSMTP: `switchboard channels test` logs in to
// both servers; a wrong SMTP password fails without showing the password.
func TestTesterReportsIMAPAndSMTP(t *testing.T) {
	d := testDovecot(t)
	h := newHub(t)
	user := newUser()
	d.deliver(t, user, newMail("x@customer.example", "Hi", "tester-"+randomHex(3)+"@x", "hi"))
	smtpSrv := startSMTP(t)
	set := d.settings(user, nil)
	set["smtp"] = map[string]any{"addr": smtpSrv.addr, "from": "support@hub.example", "tls": "none", "allow_insecure": true,
		"username": smtpSrv.user, "password": smtpSrv.password}
	c := h.channel(t, "r1", set)
	report, err := c.Test(context.Background())
	if err != nil {
		t.Fatalf("test failed: %v\n%s", err, report)
	}
	for _, want := range []string{"logged in as " + user, "IDLE: true", "folder INBOX: 1 messages", "UIDVALIDITY", "EHLO ok", "AUTH as hub: ok"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	set["smtp"].(map[string]any)["password"] = "wrong-secret-123"
	set["imap"].(map[string]any)["folders"] = []any{"INBOX", "Nope"}
	c2, err := New(config.Channel{Name: testChannel, Type: "email", Email: set}, h.env(t, "r1"))
	if err != nil {
		t.Fatal(err)
	}
	report, err = c2.Test(context.Background())
	if err == nil || !strings.Contains(report, "folder Nope: FAILED") || !strings.Contains(report, "AUTH as hub: FAILED") {
		t.Fatalf("bad credentials passed: %v\n%s", err, report)
	}
	if strings.Contains(err.Error()+report, "secret") {
		t.Fatalf("the report shows a password: %v\n%s", err, report)
	}
}

var (
	imapStatusMessages = imap.StatusOptions{NumMessages: true}
	imapSearchUnseen   = imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}
)

// recordingSink remembers the hub ids of what it delivered.
type recordingSink struct {
	next connectors.Sink
	mu   sync.Mutex
	ids  map[string]connectors.Message
}

func (s *recordingSink) Deliver(ctx context.Context, m connectors.Message) (string, error) {
	id, err := s.next.Deliver(ctx, m)
	if err == nil {
		s.mu.Lock()
		s.ids[id] = m
		s.mu.Unlock()
	}
	return id, err
}

// entryOf finds the entry of delivered message m (hub id id): a mail with a
// Message-ID is stored under an id derived from its customer and that
// Message-ID (router.MailEntryID), found through the Message-ID index.
func entryOf(st store.Store, id string, m connectors.Message) (store.Entry, error) {
	ctx := context.Background()
	e, err := st.GetEntry(ctx, id)
	if !errors.Is(err, store.ErrNotFound) || m.Thread == nil || m.Thread.MessageID == "" {
		return e, err
	}
	mid, err := st.GetProviderID(ctx, store.MessageIDIndex, "<"+m.Thread.MessageID+">")
	if err != nil {
		return store.Entry{}, err
	}
	return st.GetEntry(ctx, mid)
}

// TestCorpusReachesTimelines: every corpus mail, delivered to Dovecot,
// becomes exactly one timeline entry (broken ones flagged and kept raw).
func TestCorpusReachesTimelines(t *testing.T) {
	d := testDovecot(t)
	h := newHub(t)
	user := newUser()
	files, _ := filepath.Glob("testdata/corpus/*.eml")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d.deliver(t, user, raw)
	}
	sink := &recordingSink{next: h.in, ids: map[string]connectors.Message{}}
	c := h.channel(t, "r1", d.settings(user, map[string]any{"backfill_since": "2000-01-01"}))
	run(t, c, sink)
	waitFor(t, "every corpus mail delivered", 10*time.Second, func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return len(sink.ids) == len(files)
	})
	waitFor(t, "every corpus mail on a timeline", 10*time.Second, func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		for id := range sink.ids {
			if _, err := entryOf(h.st, id, sink.ids[id]); err != nil {
				return false
			}
		}
		return true
	})
	malformed := 0
	for id, m := range sink.ids {
		e, _ := entryOf(h.st, id, m)
		if contains(e.Flags, FlagMalformed) {
			malformed++
			var orig *connectors.Attachment
			for i := range e.Attachments {
				if e.Attachments[i].Name == OriginalName {
					orig = &e.Attachments[i]
				}
			}
			if orig == nil || orig.SHA256 == "" {
				t.Errorf("%s: malformed without its stored original: %+v", m.ProviderID, e.Attachments)
				continue
			}
			rc, err := h.blobs.Get(context.Background(), orig.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Contains(b, []byte("Subject:")) {
				t.Errorf("%s: stored original is not the mail", m.ProviderID)
			}
		}
	}
	if malformed < 4 {
		t.Errorf("%d malformed entries; the corpus has at least 4 broken mails", malformed)
	}
}
