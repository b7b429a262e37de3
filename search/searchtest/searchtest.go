package searchtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/search"
	"github.com/switchboard-hub/switchboard/store"
)

// Factory returns an empty index, closed when t ends.
type Factory func(t *testing.T) search.Index

// convs is an in-memory conversation source for the filters.
type convs struct {
	mu sync.Mutex
	m  map[string]store.Conversation
}

func (c *convs) GetConversation(_ context.Context, id string) (store.Conversation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[id]
	if !ok {
		return v, store.ErrNotFound
	}
	return v, nil
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

type fixture struct {
	ix search.Index
	s  *search.Searcher
	c  *convs
}

func setup(t *testing.T, f Factory) *fixture {
	ix := f(t)
	c := &convs{m: map[string]store.Conversation{}}
	fx := &fixture{ix: ix, c: c, s: &search.Searcher{Index: ix, Conversations: c, Region: "FI", Clock: func() time.Time { return t0.Add(48 * time.Hour) }}}
	ctx := context.Background()
	type row struct {
		id, cust, conv, ch, name, subject, text string
		ids                                     []connectors.Identity
		at                                      time.Duration
		in                                      bool
	}
	rows := []row{
		{"m1", "c-anna", "v-anna", "sms", "Anna Virtanen", "", "My invoice 4411 is wrong, please check the amount", []connectors.Identity{{Type: "phone", Value: "+358401234567"}}, 0, true},
		{"m2", "c-anna", "v-anna", "sms", "", "", "We corrected the invoice, sorry about that", nil, time.Hour, false},
		{"m3", "c-bob", "v-bob", "email", "Bob Stone", "Delivery late", "The parcel never arrived. <script>alert(1)</script>", []connectors.Identity{{Type: "email", Value: "Bob.Stone@Example.com"}}, 2 * time.Hour, true},
		{"m4", "c-cai", "v-cai", "slack", "Cai Lin", "", "Can I change my invoice address?", []connectors.Identity{{Type: "slack", Value: "U07ABCDEF"}}, 3 * time.Hour, true},
		{"m5", "c-dora", "v-dora", "email", "Dora Invoice", "", "Hello there", []connectors.Identity{{Type: "email", Value: "dora@example.org"}}, 4 * time.Hour, true},
		{"m6", "c-eve", "v-eve", "sms", "Eve Äijälä", "", "Kiitos, lasku on nyt maksettu", []connectors.Identity{{Type: "phone", Value: "+358409876543"}}, 5 * time.Hour, true},
	}
	status := map[string]store.Conversation{
		"v-anna": {Status: store.StatusPending, Team: "billing", Assignee: "alice", Audience: store.AudienceAll},
		"v-bob":  {Status: store.StatusOpen, Team: "support", Assignee: "", Audience: store.AudienceAll},
		"v-cai":  {Status: store.StatusOpen, Team: "billing", Assignee: "bert", Audience: store.TeamAudience("billing")},
		"v-dora": {Status: store.StatusResolved, Team: "support", Audience: store.AudienceAll},
		"v-eve":  {Status: store.StatusOpen, Team: "support", Audience: store.AudienceAll},
	}
	for id, c := range status {
		c.ID = id
		fx.c.m[id] = c
	}
	for _, r := range rows {
		e := store.Entry{ID: r.id, CustomerID: r.cust, ConversationID: r.conv, Channel: r.ch, Kind: "message", Subject: r.subject, Text: r.text, OccurredAt: t0.Add(r.at)}
		if r.in {
			e.Direction = connectors.Inbound
			e.SenderName = r.name
			if len(r.ids) > 0 {
				e.Sender = &r.ids[0]
			}
		} else {
			e.Direction = connectors.Outbound
			e.Agent = "alice"
		}
		if err := ix.Put(ctx, search.DocOf(e)); err != nil {
			t.Fatalf("put %s: %v", r.id, err)
		}
	}
	return fx
}

func (fx *fixture) ids(t *testing.T, q search.Query) []string {
	t.Helper()
	r, err := fx.s.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("search %q: %v", q.Text, err)
	}
	var out []string
	for _, h := range r.Hits {
		out = append(out, h.ID)
	}
	return out
}

func (fx *fixture) customers(t *testing.T, text string) []string {
	t.Helper()
	r, err := fx.s.Search(context.Background(), search.Query{Text: text})
	if err != nil {
		t.Fatalf("search %q: %v", text, err)
	}
	var out []string
	for _, c := range r.Customers {
		out = append(out, c.ID)
	}
	return out
}

func eq(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

// Run runs the suite against indexes from f.
func Run(t *testing.T, f Factory) {
	t.Run("Customers", func(t *testing.T) {
		fx := setup(t, f)
		eq(t, "name", fx.customers(t, "anna"), "c-anna")
		eq(t, "name, case and diacritics as typed", fx.customers(t, "ÄIJÄLÄ"), "c-eve")
		eq(t, "email any case", fx.customers(t, "bob.stone@EXAMPLE.com"), "c-bob")
		for _, phone := range []string{"040 123 4567", "+358 40 1234567", "00358401234567", "(040) 123-4567", "+358401234567"} {
			eq(t, "phone "+phone, fx.customers(t, phone), "c-anna")
		}
		eq(t, "chat id", fx.customers(t, "u07abcdef"), "c-cai")
		eq(t, "a word only in a message lists no customer", fx.customers(t, "parcel"))
	})
	t.Run("FullText", func(t *testing.T) {
		fx := setup(t, f)
		// Every word must match; the customer named Invoice outranks the
		// messages that only mention it, and more recent text wins a tie.
		eq(t, "invoice", fx.ids(t, search.Query{Text: "invoice"}), "m5", "m4", "m2", "m1")
		eq(t, "two words (AND)", fx.ids(t, search.Query{Text: "invoice wrong"}), "m1")
		eq(t, "nothing", fx.ids(t, search.Query{Text: "zebra"}))
		eq(t, "finnish", fx.ids(t, search.Query{Text: "lasku"}), "m6")
		eq(t, "subject", fx.ids(t, search.Query{Text: "delivery"}), "m3")
	})
	t.Run("Filters", func(t *testing.T) {
		fx := setup(t, f)
		eq(t, "channel", fx.ids(t, search.Query{Text: "invoice", Channel: "sms"}), "m2", "m1")
		eq(t, "status", fx.ids(t, search.Query{Text: "invoice", Status: store.StatusOpen}), "m4")
		eq(t, "team", fx.ids(t, search.Query{Text: "invoice", Team: "billing"}), "m4", "m2", "m1")
		eq(t, "assignee", fx.ids(t, search.Query{Text: "invoice", Assignee: "alice"}), "m2", "m1")
		eq(t, "from", fx.ids(t, search.Query{Text: "invoice", From: t0.Add(30 * time.Minute)}), "m5", "m4", "m2")
		eq(t, "to (exclusive)", fx.ids(t, search.Query{Text: "invoice", To: t0.Add(3 * time.Hour)}), "m2", "m1")
		eq(t, "visibility", fx.ids(t, search.Query{Text: "invoice", Allow: func(c store.Conversation) bool { return c.Audience == store.AudienceAll }}), "m5", "m2", "m1")
	})
	t.Run("Highlights", func(t *testing.T) {
		fx := setup(t, f)
		r, err := fx.s.Search(context.Background(), search.Query{Text: "parcel"})
		if err != nil || len(r.Hits) != 1 {
			t.Fatalf("parcel: %+v %v", r, err)
		}
		h := r.Hits[0]
		var marked []string
		var whole strings.Builder
		for _, s := range h.Snippet {
			whole.WriteString(s.Text)
			if s.Match {
				marked = append(marked, s.Text)
			}
		}
		eq(t, "marked", marked, "parcel")
		eq(t, "matched", h.Matched, "parcel")
		// The text comes back as text: the UI sets it with textContent.
		if !strings.Contains(whole.String(), "<script>") {
			t.Errorf("snippet %q lost the original text", whole.String())
		}
		if h.Status != store.StatusOpen || h.Team != "support" || h.Channel != "email" || h.CustomerName != "Bob Stone" {
			t.Errorf("hit fields: %+v", h)
		}
	})
	t.Run("Paging", func(t *testing.T) {
		fx := setup(t, f)
		var all []string
		cursor := ""
		for i := 0; i < 5; i++ {
			r, err := fx.s.Search(context.Background(), search.Query{Text: "invoice", Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range r.Hits {
				all = append(all, h.ID)
			}
			if cursor = r.Next; cursor == "" {
				break
			}
		}
		eq(t, "pages", all, "m5", "m4", "m2", "m1")
	})
	t.Run("Removal", func(t *testing.T) {
		fx := setup(t, f)
		ctx := context.Background()
		// Retention: one entry goes.
		if err := fx.ix.Remove(ctx, "c-anna", "m2"); err != nil {
			t.Fatal(err)
		}
		eq(t, "after removing m2", fx.ids(t, search.Query{Text: "invoice", Channel: "sms"}), "m1")
		// Erasure: the conversation goes, and the customer with it.
		if err := fx.ix.RemoveConversation(ctx, "c-anna", "v-anna"); err != nil {
			t.Fatal(err)
		}
		eq(t, "after erasure, by text", fx.ids(t, search.Query{Text: "invoice", Channel: "sms"}))
		eq(t, "after erasure, by phone", fx.customers(t, "040 123 4567"))
		eq(t, "after erasure, by name", fx.customers(t, "virtanen"))
		// Removing again is no error.
		if err := fx.ix.RemoveConversation(ctx, "c-anna", "v-anna"); err != nil {
			t.Fatal(err)
		}
		if err := fx.ix.Remove(ctx, "c-anna", "m1", "nope"); err != nil {
			t.Fatal(err)
		}
		eq(t, "others stay", fx.ids(t, search.Query{Text: "invoice"}), "m5", "m4")
	})
	t.Run("Idempotent", func(t *testing.T) {
		fx := setup(t, f)
		ctx := context.Background()
		d := search.Doc{ID: "m4", CustomerID: "c-cai", ConversationID: "v-cai", Channel: "slack", At: t0.Add(3 * time.Hour), Text: "Can I change my invoice address?", Name: "Cai Lin",
			Identities: []connectors.Identity{{Type: "slack", Value: "U07ABCDEF"}}, Kind: "message", Direction: "inbound"}
		for i := 0; i < 3; i++ {
			if err := fx.ix.Put(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		eq(t, "redelivered once", fx.ids(t, search.Query{Text: "address"}), "m4")
		d.Text = "Can I change my billing street?"
		if err := fx.ix.Put(ctx, d); err != nil {
			t.Fatal(err)
		}
		eq(t, "old words gone", fx.ids(t, search.Query{Text: "address"}))
		eq(t, "new words found", fx.ids(t, search.Query{Text: "street"}), "m4")
	})
	t.Run("Concurrent", func(t *testing.T) {
		ix := f(t)
		s := &search.Searcher{Index: ix}
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 25; i++ {
					d := search.Doc{ID: fmt.Sprintf("w%d-%d", w, i), CustomerID: fmt.Sprintf("c%d", i%5), Channel: "sms", At: t0.Add(time.Duration(w*100+i) * time.Second), Text: "ticket shared words"}
					if err := ix.Put(context.Background(), d); err != nil {
						t.Error(err)
					}
				}
			}(w)
		}
		wg.Wait()
		r, err := s.Search(context.Background(), search.Query{Text: "ticket words", Limit: 100})
		if err != nil || len(r.Hits) != 100 || r.Next == "" {
			t.Fatalf("got %d hits, next %q, %v", len(r.Hits), r.Next, err)
		}
	})
}
