package router_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// recordingSender remembers what the dispatcher handed it.
type recordingSender struct {
	mu   sync.Mutex
	outs []connectors.Outgoing
}

func (s *recordingSender) Send(_ context.Context, out connectors.Outgoing) (connectors.SendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outs = append(s.outs, out)
	return connectors.SendResult{ProviderID: "p-out", Status: connectors.StatusSent}, nil
}

func (s *recordingSender) sent() []connectors.Outgoing {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]connectors.Outgoing(nil), s.outs...)
}

// TestReplyAttachmentsTravelToTheSender: attachments are on the queued
// entry and reach the Sender; channels that cannot send them refuse the
// reply up front, and an attachment without stored content is invalid.
func TestReplyAttachmentsTravelToTheSender(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive},
			{Name: "text", Type: "sms", Phase: store.PhaseLive}}, store.SystemClock, nil)
		rt := router.New(st, dir, router.Options{})
		in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
		out := router.NewOutbound(st, dir, store.SystemClock, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, rt.Conversations())
		snd := &recordingSender{}
		out.SetSender("mail", snd)
		out.SetSender("text", &recordingSender{})
		conv := func(channel string, id connectors.Identity) string {
			m, err := in.Prepare(connectors.Message{Channel: channel, ProviderID: "p-" + channel, Text: "hi", Identities: []connectors.Identity{id}, OccurredAt: time.Now().UTC()})
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
			return e.ConversationID
		}
		mailConv := conv("mail", connectors.Identity{Type: connectors.Email, Value: "ann@example.com", Verified: true})
		smsConv := conv("text", connectors.Identity{Type: connectors.Phone, Value: "+358401234567", Verified: true})
		atts := []connectors.Attachment{{Name: "a.pdf", ContentType: "application/pdf", Size: 3, SHA256: strings.Repeat("ab", 32)}}

		if _, err := out.ReplyWith(ctx, router.ReplyRequest{ConversationID: smsConv, Agent: "alice", Text: "x", Attachments: atts}); !errors.Is(err, router.ErrAttachmentsUnsupported) {
			t.Fatalf("sms reply with attachments: %v", err)
		}
		bad := []connectors.Attachment{{Name: "b.pdf", Omitted: "too large"}}
		if _, err := out.ReplyWith(ctx, router.ReplyRequest{ConversationID: mailConv, Agent: "alice", Text: "x", Attachments: bad}); !errors.Is(err, connectors.ErrInvalid) {
			t.Fatalf("attachment without content: %v", err)
		}
		e, err := out.ReplyWith(ctx, router.ReplyRequest{ConversationID: mailConv, Agent: "alice", Attachments: atts})
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Attachments) != 1 || e.Attachments[0] != atts[0] {
			t.Fatalf("entry attachments = %+v", e.Attachments)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); out.Run(rctx, 1, "t") }()
		deadline := time.Now().Add(10 * time.Second)
		for len(snd.sent()) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		<-done
		got := snd.sent()
		if len(got) != 1 || len(got[0].Attachments) != 1 || got[0].Attachments[0] != atts[0] || got[0].EntryID != e.ID {
			t.Fatalf("sent = %+v", got)
		}
	})
}

// TestReportFiledBesideTheReply: a bounce naming one of the hub's replies
// lands in that reply's conversation on the customer's timeline; its
// sender (a mailer-daemon) gets no customer. A report about an unknown
// reply is an ordinary message.
func TestReportFiledBesideTheReply(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive}}, store.SystemClock, nil)
		rt := router.New(st, dir, router.Options{})
		in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
		out := router.NewOutbound(st, dir, store.SystemClock, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, rt.Conversations())
		snd := &recordingSender{}
		out.SetSender("mail", snd)
		process := func(m connectors.Message) store.Entry {
			t.Helper()
			m, err := in.Prepare(m)
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
		ann := connectors.Identity{Type: connectors.Email, Value: "ann@example.com", Verified: true}
		first := process(connectors.Message{Channel: "mail", ProviderID: "in-1", Text: "my lamp is broken", Identities: []connectors.Identity{ann}, OccurredAt: time.Now().UTC()})
		reply, err := out.Reply(ctx, first.ConversationID, "alice", "", "we'll send a new one")
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); out.Run(rctx, 1, "t") }()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if e, _ := st.GetEntry(ctx, reply.ID); e.ProviderID == "p-out" {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		<-done

		daemon := connectors.Identity{Type: connectors.Email, Value: "mailer-daemon@mx.example.com", Verified: true}
		bounce := process(connectors.Message{Channel: "mail", ProviderID: "dsn-1", Text: "User unknown", Identities: []connectors.Identity{daemon},
			NoReply: true, Flags: []string{"bounce"}, Regarding: "p-out", OccurredAt: time.Now().UTC()})
		if bounce.CustomerID != first.CustomerID || bounce.ConversationID != first.ConversationID {
			t.Fatalf("bounce filed on %s/%s, want the reply's %s/%s", bounce.CustomerID, bounce.ConversationID, first.CustomerID, first.ConversationID)
		}
		if _, err := st.LookupIdentity(ctx, daemon.Type, daemon.Value); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the mailer-daemon was bound to a customer: %v", err)
		}
		other := process(connectors.Message{Channel: "mail", ProviderID: "dsn-2", Text: "User unknown", Identities: []connectors.Identity{daemon},
			NoReply: true, Regarding: "never-sent", OccurredAt: time.Now().UTC()})
		if other.CustomerID == first.CustomerID {
			t.Fatal("a report about an unknown reply joined Ann's timeline")
		}
	})
}

// TestReplyAndNoteGoThroughTheConversationService: a reply on a resolved
// conversation makes it wait for the customer (pending, its activity the
// reply's time) and puts it back on its agent's load; a note changes
// nothing on the conversation. Each is announced once, as entry.created
// with the conversation's audience and assignee (the reply queued).
func TestReplyAndNoteGoThroughTheConversationService(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		h := newHub(t, st)
		m := h.process(t, h.msg("mail", "t1", "hello", "email:rita@example.com"))
		first, err := st.GetEntry(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		convs := h.rt.Conversations()
		c, err := convs.Resolve(ctx, first.ConversationID, "admin")
		if err != nil {
			t.Fatal(err)
		}
		agent := c.Assignee
		if n, _ := timeline.AgentLoad(ctx, st, agent); agent == "" || n != 0 {
			t.Fatalf("after the resolve: assignee %q with load %d, want an agent with load 0", agent, n)
		}
		events, err := st.Subscribe(ctx, timeline.EventsTopic)
		if err != nil {
			t.Fatal(err)
		}
		out := router.NewOutbound(st, h.dir, store.SystemClock, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, convs)
		out.SetSender("mail", &recordingSender{})

		reply, err := out.Reply(ctx, c.ID, agent, "", "on its way")
		if err != nil {
			t.Fatal(err)
		}
		c, err = st.GetConversation(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != store.StatusPending || !c.LastActivity.Equal(reply.OccurredAt) {
			t.Fatalf("after the reply: status %s, activity %v; want pending at %v", c.Status, c.LastActivity, reply.OccurredAt)
		}
		if n, _ := timeline.AgentLoad(ctx, st, agent); n != 1 {
			t.Fatalf("%s's load after the reply = %d, want 1", agent, n)
		}

		note, err := out.Note(ctx, c.ID, agent, "called her too")
		if err != nil {
			t.Fatal(err)
		}
		after, err := st.GetConversation(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Status != c.Status || !after.LastActivity.Equal(c.LastActivity) || after.LastMessageID != c.LastMessageID {
			t.Fatalf("a note changed the conversation: %+v, was %+v", after, c)
		}
		if got, err := st.GetEntry(ctx, note.ID); err != nil || got.Kind != store.KindNote || got.ConversationID != c.ID {
			t.Fatalf("note entry %+v (%v)", got, err)
		}
		if n, _ := timeline.AgentLoad(ctx, st, agent); n != 1 {
			t.Fatalf("%s's load after the note = %d, want 1", agent, n)
		}

		want := []timeline.Event{
			{Type: timeline.EventEntryCreated, CustomerID: c.CustomerID, ConversationID: c.ID, EntryID: reply.ID, Channel: "mail",
				Status: connectors.StatusQueued, Audience: c.Audience, Assignee: agent},
			{Type: timeline.EventEntryCreated, CustomerID: c.CustomerID, ConversationID: c.ID, EntryID: note.ID, Channel: "mail",
				Audience: c.Audience, Assignee: agent},
		}
		var got []timeline.Event
		for len(got) < len(want)+1 {
			select {
			case b := <-events:
				var ev timeline.Event
				if err := json.Unmarshal(b, &ev); err != nil {
					t.Fatal(err)
				}
				got = append(got, ev)
				continue
			case <-time.After(2 * time.Second):
			}
			break
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("events\n got %+v\nwant %+v", got, want)
		}
	})
}
