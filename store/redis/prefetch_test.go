package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/redis"
)

// The router's first reads of a message (dedupe record, tombstones,
// bindings) are answered from one prefetch (issue 23): the reads that
// follow send nothing, and answer exactly what the server would. On both a
// standalone server and a Cluster (the keys are in different slots).
func TestPrefetchedIngestReads(t *testing.T) {
	for name, client := range map[string]func(testing.TB) (goredis.UniversalClient, string){
		"standalone": testenv.Redis, "cluster": testenv.RedisCluster,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, client, store.QueueOptions{})
			s := f.s
			ctx := context.Background()
			at := f.clock.Now()
			if err := s.CreateCustomer(ctx, store.Customer{ID: "cust-1", CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
			bound := connectors.Identity{Type: "email", Value: "a@example.com", Verified: true}
			unbound := connectors.Identity{Type: "phone", Value: "+15550001111"}
			if _, _, err := s.BindIdentity(ctx, store.Binding{Type: bound.Type, Value: bound.Value, CustomerID: "cust-1", Verified: true}); err != nil {
				t.Fatal(err)
			}
			if err := s.PutTombstone(ctx, "buried-hash", at); err != nil {
				t.Fatal(err)
			}
			conv, _, err := s.OpenConversation(ctx, store.Conversation{ID: "cv1", CustomerID: "cust-1", Channel: "api",
				ThreadKey: "api|", Status: store.StatusOpen, CreatedAt: at, LastActivity: at})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := s.AppendToConversation(ctx, store.Entry{ID: "m_old", CustomerID: "cust-1", ConversationID: "cv1", Channel: "api",
				Direction: connectors.Inbound, Kind: store.KindMessage, Text: "hi", OccurredAt: at, CreatedAt: at}, conv, lastAt("m_old", at)); err != nil {
				t.Fatal(err)
			}

			sent := &redis.CommandCounter{}
			f.c.AddHook(sent)
			for _, entryID := range []string{"m_old", "m_new"} {
				n0 := sent.Sent()
				pctx := s.PrefetchIngest(ctx, store.IngestReads{EntryID: entryID, Tombstones: []string{"buried-hash", "other-hash"},
					Identities: []connectors.Identity{bound, unbound}})
				// Without slots, one MGET; on a Cluster one pipeline of
				// the five reads and the record of the customer the
				// binding named when this store last read or made it.
				if n, want := sent.Sent()-n0, map[string]int64{"standalone": 1, "cluster": 6}[name]; n != want {
					t.Errorf("the prefetch sent %d commands, want %d", n, want)
				}
				n0 = sent.Sent()
				e, err := s.GetEntry(pctx, entryID)
				if entryID == "m_old" {
					if err != nil || e.ID != "m_old" || e.ConversationID != "cv1" {
						t.Fatalf("GetEntry(m_old) = %+v, %v", e, err)
					}
					n0++ // the entry itself is read from its customer's hash
				} else if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("GetEntry(m_new) = %+v, %v; want not found", e, err)
				}
				if b, err := s.HasTombstone(pctx, "buried-hash"); err != nil || !b {
					t.Errorf("HasTombstone(buried) = %v, %v", b, err)
				}
				if b, err := s.HasTombstone(pctx, "other-hash"); err != nil || b {
					t.Errorf("HasTombstone(other) = %v, %v", b, err)
				}
				if b, err := s.LookupIdentity(pctx, bound.Type, bound.Value); err != nil || b.CustomerID != "cust-1" || !b.Verified {
					t.Errorf("LookupIdentity(bound) = %+v, %v", b, err)
				}
				if _, err := s.LookupIdentity(pctx, unbound.Type, unbound.Value); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("LookupIdentity(unbound) = %v, want not found", err)
				}
				// The bound customer's record came with the bindings.
				if c, err := s.GetCustomer(pctx, "cust-1"); err != nil || c.ID != "cust-1" || c.MergedInto != "" {
					t.Errorf("GetCustomer(cust-1) = %+v, %v", c, err)
				}
				if n := sent.Sent() - n0; n != 0 {
					t.Errorf("%s: the prefetched reads sent %d commands, want 0", entryID, n)
				}
				// A second read of a key asks the server.
				n0 = sent.Sent()
				if b, err := s.LookupIdentity(pctx, bound.Type, bound.Value); err != nil || b.CustomerID != "cust-1" {
					t.Errorf("second LookupIdentity(bound) = %+v, %v", b, err)
				}
				if n := sent.Sent() - n0; n != 1 {
					t.Errorf("second read sent %d commands, want 1", n)
				}
			}

			// The customer record read beside the binding is the one
			// in force then: a merge made since the last read shows.
			if _, err := s.UpdateCustomer(ctx, "cust-1", func(c *store.Customer) error { c.MergedInto = "cust-9"; return nil }); err != nil {
				t.Fatal(err)
			}
			pctx := s.PrefetchIngest(ctx, store.IngestReads{EntryID: "m_3", Identities: []connectors.Identity{bound}})
			if _, err := s.LookupIdentity(pctx, bound.Type, bound.Value); err != nil {
				t.Fatal(err)
			}
			n0 := sent.Sent()
			if c, err := s.GetCustomer(pctx, "cust-1"); err != nil || c.MergedInto != "cust-9" {
				t.Errorf("GetCustomer(cust-1) after the merge = %+v, %v; want merged into cust-9", c, err)
			}
			if n := sent.Sent() - n0; n != 0 {
				t.Errorf("GetCustomer after the prefetch sent %d commands, want 0", n)
			}

			// A write with the context drops what was prefetched: the
			// binding made after the prefetch is read from the server.
			pctx = s.PrefetchIngest(ctx, store.IngestReads{EntryID: "m_2", Identities: []connectors.Identity{unbound}})
			if _, _, err := s.BindIdentity(pctx, store.Binding{Type: unbound.Type, Value: unbound.Value, CustomerID: "cust-1", CreatedAt: at.Add(time.Second)}); err != nil {
				t.Fatal(err)
			}
			if b, err := s.LookupIdentity(pctx, unbound.Type, unbound.Value); err != nil || b.CustomerID != "cust-1" {
				t.Errorf("LookupIdentity after bind = %+v, %v; want cust-1", b, err)
			}
		})
	}
}

// The conversation holding the message's thread key, when the router knows
// the key before resolving the customer, is read in the prefetch's round
// trip (issue 23): one pipeline on a standalone server (MGET and HGET),
// and OpenConversation's read of it then sends nothing and answers what the
// server held. A change by another client is never lost: one made before
// the prefetch is what the prefetch reads (a resolved conversation no
// longer holds the key: a new one opens), one made after it is caught by
// the append's compare-and-swap.
func TestPrefetchedThreadHolder(t *testing.T) {
	for name, client := range map[string]func(testing.TB) (goredis.UniversalClient, string){
		"standalone": testenv.Redis, "cluster": testenv.RedisCluster,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, client, store.QueueOptions{})
			s := f.s
			// Another hub on the same data: its writes are the other
			// client's, and it has hints of its own.
			other := redis.New(f.c, redis.Options{Prefix: f.prefix, Clock: f.clock.Now})
			t.Cleanup(func() { other.Close() })
			ctx := context.Background()
			at := f.clock.Now()
			if err := s.CreateCustomer(ctx, store.Customer{ID: "cust-1", CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
			who := connectors.Identity{Type: "email", Value: "a@example.com", Verified: true}
			if _, _, err := s.BindIdentity(ctx, store.Binding{Type: who.Type, Value: who.Value, CustomerID: "cust-1", Verified: true}); err != nil {
				t.Fatal(err)
			}
			const tk = "api|"
			open := func(ctx context.Context, id string) (store.Conversation, bool) {
				t.Helper()
				c, created, err := s.OpenConversation(ctx, store.Conversation{ID: id, CustomerID: "cust-1", Channel: "api",
					ThreadKey: tk, Status: store.StatusOpen, CreatedAt: at, LastActivity: at})
				if err != nil {
					t.Fatal(err)
				}
				return c, created
			}
			if _, created := open(ctx, "cv1"); !created {
				t.Fatal("cv1 not created")
			}
			sent := &redis.CommandCounter{}
			f.c.AddHook(sent)
			reads := func(entryID string) store.IngestReads {
				return store.IngestReads{EntryID: entryID, Identities: []connectors.Identity{who}, ThreadKey: tk}
			}
			assign := func(id, agent string) {
				t.Helper()
				if _, err := other.UpdateConversation(ctx, id, func(c *store.Conversation) error { c.Assignee = agent; return nil }); err != nil {
					t.Fatal(err)
				}
			}

			// 1. A change made before the prefetch is what it reads;
			// the holder's read sends nothing.
			assign("cv1", "agent-1")
			n0, w0 := sent.Sent(), sent.Waits()
			pctx := s.PrefetchIngest(ctx, reads("m1"))
			// The dedupe record, the binding, the customer and the
			// holder: one MGET and the HGET in one pipeline without
			// slots, four commands on a Cluster.
			if n, want := sent.Sent()-n0, map[string]int64{"standalone": 2, "cluster": 4}[name]; n != want {
				t.Errorf("the prefetch sent %d commands, want %d", n, want)
			}
			if w := sent.Waits() - w0; w != 1 {
				t.Errorf("the prefetch waited %d times, want 1", w)
			}
			if _, err := s.LookupIdentity(pctx, who.Type, who.Value); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetCustomer(pctx, "cust-1"); err != nil {
				t.Fatal(err)
			}
			n0 = sent.Sent()
			c, created := open(pctx, "cv-m1")
			if created || c.ID != "cv1" || c.Assignee != "agent-1" {
				t.Errorf("OpenConversation = %s (assignee %q, created %v), want cv1 held, assigned to agent-1", c.ID, c.Assignee, created)
			}
			if n := sent.Sent() - n0; n != 0 {
				t.Errorf("the holder's read after the prefetch sent %d commands, want 0", n)
			}
			// A second read asks the server.
			n0 = sent.Sent()
			if c, created := open(pctx, "cv-m1"); created || c.ID != "cv1" {
				t.Errorf("second OpenConversation = %s, created %v; want cv1", c.ID, created)
			}
			if n := sent.Sent() - n0; n != 1 {
				t.Errorf("the second read sent %d commands, want 1", n)
			}

			// 2. A change made after the prefetch: the append's
			// compare-and-swap finds it, and keeps it.
			pctx = s.PrefetchIngest(ctx, reads("m2"))
			assign("cv1", "agent-2")
			c, _ = open(pctx, "cv-m2")
			if c.ID != "cv1" || c.Assignee != "agent-1" {
				t.Fatalf("OpenConversation = %s (assignee %q), want cv1 as prefetched", c.ID, c.Assignee)
			}
			_, after, created, err := s.AppendToConversation(pctx, store.Entry{ID: "m2", CustomerID: "cust-1", ConversationID: c.ID, Channel: "api",
				Direction: connectors.Inbound, Kind: store.KindMessage, Text: "hi", OccurredAt: at, CreatedAt: at}, c, lastAt("m2", at))
			if err != nil || !created {
				t.Fatalf("AppendToConversation = %v, %v", created, err)
			}
			stored, err := other.GetConversation(ctx, "cv1")
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range []store.Conversation{after, stored} {
				if got.Assignee != "agent-2" || got.LastMessageID != "m2" {
					t.Errorf("after the append: assignee %q, last message %q; want agent-2 and m2", got.Assignee, got.LastMessageID)
				}
			}

			// 3. Resolved by the other client before the prefetch (this
			// store still remembers cv1 as the holder): the prefetched
			// record says so, and the message opens a new conversation.
			if _, err := other.UpdateConversation(ctx, "cv1", func(c *store.Conversation) error { c.Status = store.StatusResolved; return nil }); err != nil {
				t.Fatal(err)
			}
			pctx = s.PrefetchIngest(ctx, reads("m3"))
			if c, created := open(pctx, "cv-m3"); !created || c.ID != "cv-m3" {
				t.Errorf("OpenConversation after the resolve = %s, created %v; want cv-m3 opened", c.ID, created)
			}

			// 4. Resolved after the prefetch: the prefetched record is
			// the one this store would have read a moment before the
			// resolve; the append's compare-and-swap keeps the resolve
			// (the entry joins the conversation it was threaded to
			// exactly once, as when the resolve falls between the read
			// and the append without a prefetch).
			pctx = s.PrefetchIngest(ctx, reads("m4"))
			if _, err := other.UpdateConversation(ctx, "cv-m3", func(c *store.Conversation) error { c.Status = store.StatusResolved; return nil }); err != nil {
				t.Fatal(err)
			}
			c, _ = open(pctx, "cv-m4")
			if c.ID != "cv-m3" {
				t.Fatalf("OpenConversation = %s, want cv-m3 as prefetched", c.ID)
			}
			if _, after, created, err = s.AppendToConversation(pctx, store.Entry{ID: "m4", CustomerID: "cust-1", ConversationID: c.ID, Channel: "api",
				Direction: connectors.Inbound, Kind: store.KindMessage, Text: "hi", OccurredAt: at, CreatedAt: at}, c, lastAt("m4", at)); err != nil || !created {
				t.Fatalf("AppendToConversation = %v, %v", created, err)
			}
			if after.Status != store.StatusResolved || after.LastMessageID != "m4" {
				t.Errorf("after the append: status %q, last message %q; want the resolve kept and m4", after.Status, after.LastMessageID)
			}
			// The next message reads the resolve and opens a new one.
			pctx = s.PrefetchIngest(ctx, reads("m5"))
			if c, created := open(pctx, "cv-m5"); !created || c.ID != "cv-m5" {
				t.Errorf("OpenConversation after the resolve = %s, created %v; want cv-m5 opened", c.ID, created)
			}

			// 5. A write of a conversation with the context drops the
			// prefetched record: the read after it asks the server.
			pctx = s.PrefetchIngest(ctx, reads("m6"))
			if _, err := s.UpdateConversation(pctx, "cv-m5", func(c *store.Conversation) error { c.Assignee = "agent-3"; return nil }); err != nil {
				t.Fatal(err)
			}
			n0 = sent.Sent()
			if c, _ := open(pctx, "cv-m6"); c.ID != "cv-m5" || c.Assignee != "agent-3" {
				t.Errorf("OpenConversation after an update with the context = %s (assignee %q), want cv-m5, agent-3", c.ID, c.Assignee)
			}
			if n := sent.Sent() - n0; n != 1 {
				t.Errorf("the read after a write sent %d commands, want 1 (the server's HGET)", n)
			}

			// 6. No thread key, or no customer guessed: no HGET.
			n0 = sent.Sent()
			_ = s.PrefetchIngest(ctx, store.IngestReads{EntryID: "m7", Identities: []connectors.Identity{{Type: "phone", Value: "+15550002222"}}, ThreadKey: tk})
			if n, want := sent.Sent()-n0, map[string]int64{"standalone": 1, "cluster": 2}[name]; n != want {
				t.Errorf("the prefetch for an unknown identity sent %d commands, want %d", n, want)
			}
		})
	}
}
