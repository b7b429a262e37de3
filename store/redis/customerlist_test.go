package redis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/redis"
)

// A customer's conversations are read from that customer's own hash: email
// threading, automation and the customer's timeline list one customer's
// conversations for every message, and walking the store-wide activity
// index for them read every conversation of every customer.
func TestCustomerListReadsOnlyItsCustomers(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	ctx := context.Background()
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 300 {
		at := base.Add(time.Duration(i) * time.Second)
		if _, _, err := f.s.OpenConversation(ctx, store.Conversation{ID: fmt.Sprintf("cv%03d", i), CustomerID: fmt.Sprintf("c%02d", i%30),
			Channel: "api", ThreadKey: fmt.Sprintf("api|%d", i), Status: store.StatusOpen, CreatedAt: at, LastActivity: at}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.s.ListConversations(ctx, store.ConversationFilter{CustomerIDs: []string{"c01"}}); err != nil {
		t.Fatal(err) // and the client has its connections
	}
	sent := &redis.CommandCounter{}
	names := &commandNames{}
	f.c.AddHook(sent)
	f.c.AddHook(names)
	flt := store.ConversationFilter{CustomerIDs: []string{"c07", "c08", "c07"}, Limit: 15}
	var got []string
	for page := 0; page < 3; page++ {
		cs, next, err := f.s.ListConversations(ctx, flt)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			got = append(got, c.ID)
		}
		if next == "" {
			break
		}
		flt.Before = next
	}
	// Newest first: c08's cv278, c07's cv277, c08's cv248, ...
	var want []string
	for i := 299; i >= 0; i-- {
		if i%30 == 7 || i%30 == 8 {
			want = append(want, fmt.Sprintf("cv%03d", i))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	// Two pages, each one pipeline of one read per customer asked for.
	if n, w := sent.Sent(), sent.Waits(); n != 4 || w != 2 {
		t.Errorf("two pages sent %d commands in %d waits (%v), want 4 in 2", n, w, names.names)
	}
	for _, name := range names.names {
		if name != "hgetall" {
			t.Errorf("commands sent %v, want only the customers' HGETALLs", names.names)
			break
		}
	}
}
