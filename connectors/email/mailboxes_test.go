package email

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/blobs"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

// newHubNamed is newHub with several email channels.
func newHubNamed(t *testing.T, names ...string) *hub {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var chs []directory.Channel
	for _, n := range names {
		chs = append(chs, directory.Channel{Name: n, Type: "email", Phase: store.PhaseLive})
	}
	dir := directory.New(st, chs, store.SystemClock, nil)
	rt := router.New(st, dir, router.Options{Workers: 4, Consumer: "test-" + randomHex(3), Logger: testLogger(t),
		Routing: router.Routing{Teams: []string{"support"}, Agents: []router.Agent{{Name: "alice", Teams: []string{"support"}}}}})
	bl, err := blobs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := &hub{st: st, dir: dir, in: router.NewIngest(st, dir, "FI", store.SystemClock, nil),
		out: router.NewOutbound(st, dir, store.SystemClock, testLogger(t), nil, rt.Conversations()), blobs: bl}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); rt.Run(ctx) }()
	go func() { defer wg.Done(); h.out.Run(ctx, 2, "test-out") }()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		st.Close()
	})
	return h
}

// TestOneMailTwoMailboxes: one mail sent to two of the hub's mailboxes
// (two email channels on two Dovecot accounts) is one entry listing both
// mailboxes, and the agent's reply goes out from the mailbox of the
// conversation.
func TestOneMailTwoMailboxes(t *testing.T) {
	d := testDovecot(t)
	h := newHubNamed(t, "support-mail", "sales-mail")
	srv := startSMTP(t)
	users := map[string]string{"support-mail": newUser(), "sales-mail": newUser()}
	from := map[string]string{"support-mail": "support@hub.example", "sales-mail": "sales@hub.example"}
	for _, name := range []string{"support-mail", "sales-mail"} {
		set := d.settings(users[name], nil)
		set["smtp"] = map[string]any{"addr": srv.addr, "from": from[name], "tls": "none", "allow_insecure": true,
			"username": srv.user, "password": srv.password}
		set["trusted_authserv_ids"] = []any{"mx.hub.example"}
		env := h.env(t, "r1")
		env.Name = name
		c, err := New(config.Channel{Name: name, Type: "email", Email: set}, env)
		if err != nil {
			t.Fatal(err)
		}
		h.out.SetSender(name, c)
		run(t, c, h.in)
	}
	time.Sleep(500 * time.Millisecond) // both in IDLE
	id := "both-" + randomHex(4) + "@customer.example"
	raw := newMail("Ann Customer <ann@customer.example>", "Quote for 40 lamps", id, "Please send a quote to both of you.",
		"Authentication-Results: mx.hub.example; dmarc=pass header.from=customer.example", "Cc: sales@hub.example")
	d.deliver(t, users["support-mail"], raw)
	waitFor(t, "the mail from the first mailbox", 5*time.Second, func() bool { return len(h.entries(t, "ann@customer.example")) == 1 })
	d.deliver(t, users["sales-mail"], raw)
	var es []store.Entry
	waitFor(t, "both mailboxes listed on the one entry", 8*time.Second, func() bool {
		es = h.entries(t, "ann@customer.example")
		for _, f := range es[0].Fields {
			if f.Name == router.MailboxesField && f.Value == "support-mail/INBOX, sales-mail/INBOX" {
				return true
			}
		}
		return false
	})
	time.Sleep(300 * time.Millisecond)
	if es = h.entries(t, "ann@customer.example"); len(es) != 1 {
		t.Fatalf("%d entries, want 1: %+v", len(es), es)
	}
	// The same mail again through the second mailbox (a resync): still one.
	if _, err := h.st.GetEntry(context.Background(), connectors.MessageID("sales-mail", "INBOX/<"+id+">")); err == nil {
		t.Fatal("the second mailbox's copy has an entry of its own")
	}
	conv, err := h.st.GetConversation(context.Background(), es[0].ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if conv.Channel != "support-mail" {
		t.Fatalf("conversation channel %s", conv.Channel)
	}
	if _, err := h.out.Reply(context.Background(), conv.ID, "alice", "", "Quote attached tomorrow."); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reply", 5*time.Second, func() bool { return len(srv.received()) == 1 })
	if got := srv.received()[0].From; got != "support@hub.example" {
		t.Fatalf("reply sent from %s, want the conversation's mailbox support@hub.example", got)
	}
}

// TestOneMailTwoFolders: the same mail in two watched folders of one
// mailbox (a server-side filter copied it) is one entry listing both.
func TestOneMailTwoFolders(t *testing.T) {
	d := testDovecot(t)
	h := newHub(t)
	user := newUser()
	admin := d.client(t, user)
	if err := admin.Create("Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	id := "copied-" + randomHex(4) + "@customer.example"
	raw := newMail("Ann Customer <ann@customer.example>", "Copied by a filter", id, "One mail, two folders.",
		"Authentication-Results: mx.hub.example; dmarc=pass header.from=customer.example")
	d.deliver(t, user, raw)
	d.appendMail(t, user, "Support", raw)
	set := d.settings(user, map[string]any{"folders": []any{"INBOX", "Support"}, "backfill_since": "2000-01-01"})
	set["trusted_authserv_ids"] = []any{"mx.hub.example"}
	run(t, h.channel(t, "r1", set), h.in)
	waitFor(t, "both folders listed on one entry", 10*time.Second, func() bool {
		es := h.entries(t, "ann@customer.example")
		if len(es) != 1 {
			return false
		}
		for _, f := range es[0].Fields {
			if f.Name == router.MailboxesField && strings.Contains(f.Value, testChannel+"/INBOX") && strings.Contains(f.Value, testChannel+"/Support") {
				return true
			}
		}
		return false
	})
	time.Sleep(300 * time.Millisecond)
	if es := h.entries(t, "ann@customer.example"); len(es) != 1 {
		t.Fatalf("%d entries, want 1", len(es))
	}
	if _, err := h.st.GetEntry(context.Background(), connectors.MessageID(testChannel, "Support/<"+id+">")); err == nil {
		if _, err := h.st.GetEntry(context.Background(), connectors.MessageID(testChannel, "INBOX/<"+id+">")); err == nil {
			t.Fatal("both folders' copies have an entry")
		}
	}
}
