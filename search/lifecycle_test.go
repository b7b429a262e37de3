package search_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/erasure"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/retention"
	"github.com/switchboard-hub/switchboard/search"
	"github.com/switchboard-hub/switchboard/search/bolt"
	sredis "github.com/switchboard-hub/switchboard/search/redis"
	"github.com/switchboard-hub/switchboard/store"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
	"github.com/switchboard-hub/switchboard/timeline"
)

// backends runs f with each store and its index: the embedded store with
// the bbolt index, Redis with the Redis index.
func backends(t *testing.T, f func(t *testing.T, st store.Store, ix search.Index)) {
	t.Run("embedded", func(t *testing.T) {
		ix, err := bolt.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ix.Close() })
		f(t, hubtest.Embedded(t), ix)
	})
	t.Run("redis", func(t *testing.T) {
		c, prefix := testenv.Redis(t)
		st := sbredis.New(c, sbredis.Options{Prefix: prefix})
		t.Cleanup(func() { st.Close() })
		f(t, st, sredis.New(c, prefix))
	})
}

// TestIndexFollowsTheTimeline: what the timeline service writes (a
// customer's message, an agent's reply, a note) is found at once;
// retention and erasure take it out of the index with the store.
func TestIndexFollowsTheTimeline(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store, ix search.Index) {
		ctx := context.Background()
		start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
		clock := store.NewFakeClock(start)
		convs := timeline.NewService(st, timeline.Options{Clock: clock.Now, Index: search.Indexer{Index: ix}})
		s := &search.Searcher{Index: ix, Conversations: st, Region: "FI", Clock: clock.Now}
		find := func(q string) (hits []string, customers []string) {
			t.Helper()
			r, err := s.Search(ctx, search.Query{Text: q})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			for _, h := range r.Hits {
				hits = append(hits, h.ID)
			}
			for _, c := range r.Customers {
				customers = append(customers, c.ID)
			}
			return hits, customers
		}
		receive := func(id, customer, name, phone, text string) store.Conversation {
			if err := st.CreateCustomer(ctx, store.Customer{ID: customer, Name: name, CreatedAt: start}); err != nil {
				t.Fatal(err)
			}
			_, c, _, err := convs.Receive(ctx, timeline.Inbound{Entry: store.Entry{ID: id, CustomerID: customer, Channel: "sms", Kind: store.KindMessage,
				Direction: connectors.Inbound, Sender: &connectors.Identity{Type: connectors.Phone, Value: phone, Verified: true}, SenderName: name,
				Text: text, OccurredAt: clock.Now(), CreatedAt: clock.Now()}, ThreadKey: "sms|" + phone, ConversationID: "v-" + customer, Audience: store.AudienceAll})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		ann := receive("m-ann", "ann", "Ann Lee", "+358401234567", "my invoice is wrong")
		bob := receive("m-bob", "bob", "Bob Ray", "+358409999999", "the parcel is late")
		// A reply and a note on Ann's conversation.
		reply := store.Entry{ID: "r-ann", CustomerID: "ann", ConversationID: ann.ID, Channel: "sms", Kind: store.KindMessage,
			Direction: connectors.Outbound, Agent: "alice", Text: "we credited the invoice", OccurredAt: clock.Now(), CreatedAt: clock.Now()}
		if _, _, err := st.AppendEntry(ctx, reply); err != nil {
			t.Fatal(err)
		}
		if _, err := convs.Replied(ctx, reply); err != nil {
			t.Fatal(err)
		}
		if _, _, err := convs.Append(ctx, store.Entry{ID: "n-ann", CustomerID: "ann", Channel: "sms", Kind: store.KindNote, Direction: connectors.Note,
			Agent: "alice", Text: "invoice escalated to finance", OccurredAt: clock.Now(), CreatedAt: clock.Now()}, ann); err != nil {
			t.Fatal(err)
		}
		if hits, _ := find("invoice"); len(hits) != 3 {
			t.Fatalf("invoice: %v, want the message, the reply and the note", hits)
		}
		if _, cs := find("040 123 4567"); len(cs) != 1 || cs[0] != "ann" {
			t.Fatalf("by phone: %v", cs)
		}
		// Retention: Bob's resolved conversation expires.
		if _, err := convs.Resolve(ctx, bob.ID, "alice"); err != nil {
			t.Fatal(err)
		}
		clock.Advance(40 * 24 * time.Hour)
		sw := retention.New(retention.Options{Store: st, Clock: clock.Now, Channels: map[string]time.Duration{"sms": 30 * 24 * time.Hour},
			DeleteConversation: convs.Delete, Index: search.Indexer{Index: ix}})
		if _, err := sw.Sweep(ctx, false); err != nil {
			t.Fatal(err)
		}
		if hits, cs := find("parcel"); len(hits)+len(cs) != 0 {
			t.Fatalf("parcel after retention: %v %v", hits, cs)
		}
		if _, cs := find("bob"); len(cs) != 0 {
			t.Fatalf("bob after retention: %v", cs)
		}
		// Erasure: Ann goes, by every way she could be found.
		if _, err := erasure.Erase(ctx, st, nil, "ann", "admin", clock.Now, convs.Delete); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"invoice", "ann", "+358401234567", "finance"} {
			if hits, cs := find(q); len(hits)+len(cs) != 0 {
				t.Fatalf("%q after erasure: %v %v", q, hits, cs)
			}
		}
		// The index itself holds nothing of hers (not only hidden).
		if ds, err := ix.Candidates(ctx, []string{"invoice"}, time.Time{}, time.Time{}, 10); err != nil || len(ds) != 0 {
			t.Fatalf("index after erasure: %v %v", ds, err)
		}
	})
}
