package router_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// fullQueue is a store whose outbound queue refuses every item.
type fullQueue struct{ store.Store }

var errQueueFull = errors.New("outbound queue refuses (injected)")

func (q fullQueue) Enqueue(ctx context.Context, queue string, b []byte) (string, error) {
	if queue == store.QueueOutbound {
		return "", errQueueFull
	}
	return q.Store.Enqueue(ctx, queue, b)
}

// TestRefusedReplyLeavesTheConversationOpen: a reply the hub does not
// accept (a channel that is not sending, no address for the customer on
// that channel, a queue that refuses it) never moves its conversation to
// pending; an accepted one does.
func TestRefusedReplyLeavesTheConversationOpen(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive},
			{Name: "text", Type: "sms", Phase: store.PhaseLive}, {Name: "quiet", Type: "email", Phase: store.PhaseShadow}}, store.SystemClock, nil)
		rt := router.New(st, dir, router.Options{})
		e := inbound(t, st, dir, rt, "mail", "p-1", "hi")
		status := func() string {
			c, err := st.GetConversation(ctx, e.ConversationID)
			if err != nil {
				t.Fatal(err)
			}
			return c.Status
		}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		refusing := router.NewOutbound(fullQueue{st}, dir, store.SystemClock, log, nil, rt.Conversations())
		for _, name := range []string{"mail", "text", "quiet"} {
			refusing.SetSender(name, &recordingSender{}) // refused for another reason than no Sender
		}
		for _, r := range []struct {
			name string
			out  *router.Outbound
			ch   string
		}{{"queue refuses", refusing, ""}, {"shadow channel", refusing, "quiet"}, {"no phone for sms", refusing, "text"}} {
			if _, err := r.out.Reply(ctx, e.ConversationID, "alice", r.ch, "on it"); err == nil {
				t.Fatalf("%s: reply accepted", r.name)
			}
			if s := status(); s != store.StatusOpen {
				t.Fatalf("%s: a refused reply moved the conversation to %s", r.name, s)
			}
		}
		ok := router.NewOutbound(st, dir, store.SystemClock, log, nil, rt.Conversations())
		ok.SetSender("mail", &recordingSender{})
		if _, err := ok.Reply(ctx, e.ConversationID, "alice", "", "on it"); err != nil {
			t.Fatal(err)
		}
		if s := status(); s != store.StatusPending {
			t.Fatalf("an accepted reply left the conversation %s", s)
		}
	})
}

// inbound stores one message from ann@example.com on channel through rt
// and returns its entry (with its conversation).
func inbound(t *testing.T, st store.Store, dir *directory.Directory, rt *router.Router, channel, providerID, text string) store.Entry {
	t.Helper()
	ctx := context.Background()
	in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
	m, err := in.Prepare(connectors.Message{Channel: channel, ProviderID: providerID, Text: text, OccurredAt: time.Now().UTC(),
		Identities: []connectors.Identity{{Type: connectors.Email, Value: "ann@example.com", Verified: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Process(ctx, m); err != nil {
		t.Fatal(err)
	}
	e, err := st.GetEntry(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestReplyOnAPIChannelRefusedUpFront: an api channel only receives
// (another system pushes its messages; nothing goes back through it), and
// so does a web form (its answers go by the customer's email or phone), and
// so does any channel whose connector is not a Sender (a made-up type here). A reply
// there, a conversation started there or an automatic message there is
// refused with ErrCannotReply before anything is stored: no entry on the
// timeline, nothing queued, the conversation still open. The same
// conversation is answered on a channel that reaches the customer.
func TestReplyOnAPIChannelRefusedUpFront(t *testing.T) {
	for _, src := range []struct{ name, typ, says string }{{"crm", "api", "crm is an api channel"}, {"form", "webform", "form is a webform channel"},
		{"pigeon", "carrierpigeon", "pigeon is a carrierpigeon channel"}} {
		t.Run(src.typ, func(t *testing.T) { replyRefusedUpFront(t, src.name, src.typ, src.says) })
	}
}

func replyRefusedUpFront(t *testing.T, name, typ, says string) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dir := directory.New(st, []directory.Channel{{Name: name, Type: typ, Phase: store.PhaseLive, Trusted: true},
			{Name: "mail", Type: "email", Phase: store.PhaseLive}}, store.SystemClock, nil)
		rt := router.New(st, dir, router.Options{})
		e := inbound(t, st, dir, rt, name, name+"-1", "order 4711 is late")
		out := router.NewOutbound(st, dir, store.SystemClock, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, rt.Conversations())
		out.SetSender("mail", &recordingSender{}) // as cmd/switchboard: every channel but api and webform has one
		check := func(what string, wantEntries int) {
			t.Helper()
			c, err := st.GetConversation(ctx, e.ConversationID)
			if err != nil {
				t.Fatal(err)
			}
			es, err := st.PageEntries(ctx, e.CustomerID, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			q, err := st.QueueStats(ctx, store.QueueOutbound)
			if err != nil {
				t.Fatal(err)
			}
			if c.Status != store.StatusOpen || len(es) != wantEntries || q.Length != 0 {
				t.Fatalf("%s: conversation %s, %d entries (want %d), %d queued", what, c.Status, len(es), wantEntries, q.Length)
			}
		}
		_, err := out.Reply(ctx, e.ConversationID, "alice", "", "on it")
		if !errors.Is(err, router.ErrCannotReply) || !strings.Contains(err.Error(), says) {
			t.Fatalf("reply on the %s channel: %v, want ErrCannotReply naming the channel", typ, err)
		}
		check("reply", 1)
		if err := out.CheckReply(ctx, router.ReplyRequest{ConversationID: e.ConversationID, Agent: "alice", Text: "x"}); !errors.Is(err, router.ErrCannotReply) {
			t.Fatalf("CheckReply: %v", err)
		}
		if _, _, err := out.Start(ctx, router.StartRequest{CustomerID: e.CustomerID, Channel: name, Agent: "alice", Text: "news", Purpose: "service"}); !errors.Is(err, router.ErrCannotReply) {
			t.Fatalf("start on the %s channel: %v", typ, err)
		}
		check("start", 1)
		if _, _, err := out.SendAutomatic(ctx, router.AutomaticRequest{ConversationID: e.ConversationID, EntryID: "auto-1", Text: "thanks", Agent: "automation"}); !errors.Is(err, router.ErrCannotReply) {
			t.Fatalf("automatic message on the %s channel: %v", typ, err)
		}
		check("automatic message", 1)
		if _, err := out.Reply(ctx, e.ConversationID, "alice", "mail", "on it"); err != nil {
			t.Fatalf("reply by email: %v", err)
		}
	})
}

// TestReplyOnAnOffReceiveOnlyChannel: the phase is checked first, as for
// every channel: a reply on an off or shadow api channel or web form is
// ErrNotSending (the channel is not sending), not ErrCannotReply; CanReply
// (the inbox's up-front check) answers the same.
func TestReplyOnAnOffReceiveOnlyChannel(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dir := directory.New(st, []directory.Channel{{Name: "crm", Type: "api", Phase: store.PhaseLive, Trusted: true},
			{Name: "form", Type: "webform", Phase: store.PhaseLive, Trusted: true}}, store.SystemClock, nil)
		rt := router.New(st, dir, router.Options{})
		out := router.NewOutbound(st, dir, store.SystemClock, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, rt.Conversations())
		for _, name := range []string{"crm", "form"} {
			e := inbound(t, st, dir, rt, name, name+"-1", "hello")
			for _, phase := range []string{store.PhaseOff, store.PhaseShadow} {
				if _, err := dir.SetPhase(ctx, name, phase, "root"); err != nil {
					t.Fatal(err)
				}
				if _, err := out.Reply(ctx, e.ConversationID, "alice", "", "on it"); !errors.Is(err, router.ErrNotSending) || errors.Is(err, router.ErrCannotReply) {
					t.Fatalf("reply on %s %s: %v, want ErrNotSending", phase, name, err)
				}
				if err := out.CanReply(name); !errors.Is(err, router.ErrNotSending) {
					t.Fatalf("CanReply(%s) %s: %v, want ErrNotSending", name, phase, err)
				}
			}
		}
	})
}
