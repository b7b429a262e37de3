package router_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// TestOwnMailBackThroughAnotherMailbox: the hub's reply sent from one
// mailbox (support) comes back into another of the hub's mailboxes
// (sales: a list reflecting it, a Bcc, a forward rule). It names the
// reply, so it is filed beside it on the customer's conversation; the
// support address becomes no customer. Both stores.
func TestOwnMailBackThroughAnotherMailbox(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dir := directory.New(st, []directory.Channel{{Name: "support-mail", Type: "email", Phase: store.PhaseLive},
			{Name: "sales-mail", Type: "email", Phase: store.PhaseLive}, {Name: "form", Type: "api", Phase: store.PhaseLive}}, store.SystemClock, nil)
		rt := router.New(st, dir, router.Options{})
		in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
		out := router.NewOutbound(st, dir, store.SystemClock, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, rt.Conversations())
		out.SetSender("support-mail", &recordingSender{})
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
		first := process(connectors.Message{Channel: "support-mail", ProviderID: "in-1", Text: "my lamp is broken", Identities: []connectors.Identity{ann}, OccurredAt: time.Now().UTC()})
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

		support := connectors.Identity{Type: connectors.Email, Value: "support@hub.example", Verified: true}
		back := process(connectors.Message{Channel: "sales-mail", ProviderID: "INBOX/<p-out>", Text: "we'll send a new one", Identities: []connectors.Identity{support},
			NoReply: true, Flags: []string{"own-mail"}, Regarding: "p-out", OccurredAt: time.Now().UTC()})
		if back.CustomerID != first.CustomerID || back.ConversationID != first.ConversationID {
			t.Fatalf("own mail back through sales-mail filed on %s/%s, want the reply's %s/%s", back.CustomerID, back.ConversationID, first.CustomerID, first.ConversationID)
		}
		if _, err := st.LookupIdentity(ctx, support.Type, support.Value); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the hub's own support address was bound to a customer: %v", err)
		}
		// A channel of another kind never finds an email reply this way.
		x := connectors.Identity{Type: connectors.Email, Value: "x@example.com", Verified: true}
		other := process(connectors.Message{Channel: "form", ProviderID: "f-1", Text: "hello", Identities: []connectors.Identity{x},
			Regarding: "p-out", OccurredAt: time.Now().UTC()})
		if other.CustomerID == first.CustomerID {
			t.Fatal("a form message naming an email reply's id joined Ann")
		}
	})
}
