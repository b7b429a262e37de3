package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// testListBySLADue: ListConversations with Sort SortSLADue lists the
// conversations with an SLA due time, earliest first, pages by its cursor,
// follows due times moving both ways (UpdateConversation and
// AppendToConversation), drops resolved (nothing due) and deleted ones,
// and applies the filter.
func testListBySLADue(t *testing.T, f Factory) {
	e := newEnv(t, f)
	setDue := func(id string, due time.Duration) {
		t.Helper()
		_, err := e.s.UpdateConversation(e.ctx, id, func(c *store.Conversation) error {
			if due == 0 {
				c.SLA = &store.ConversationSLA{Policy: "p"}
				return nil
			}
			c.SLA = &store.ConversationSLA{Policy: "p", Due: epoch.Add(due)}
			return nil
		})
		must(t, err, "UpdateConversation(%s) due %s", id, due)
	}
	for i := 1; i <= 4; i++ {
		c := newConv(fmt.Sprintf("d%d", i), fmt.Sprintf("cust-%d", i), "sms:x", epoch.Add(time.Duration(i)*time.Second))
		if i == 4 {
			c.Channel = "mail"
		}
		_, _, err := e.s.OpenConversation(e.ctx, c)
		must(t, err, "OpenConversation(d%d)", i)
	}
	setDue("d1", 3*time.Hour)
	setDue("d2", time.Hour)
	setDue("d4", 2*time.Hour)
	list := func(f store.ConversationFilter) ([]string, string) {
		t.Helper()
		f.Sort = store.SortSLADue
		cs, next, err := e.s.ListConversations(e.ctx, f)
		must(t, err, "ListConversations(sla_due)")
		return convIDs(cs), next
	}
	if got, next := list(store.ConversationFilter{Limit: 10}); fmt.Sprint(got) != "[d2 d4 d1]" || next != "" {
		t.Fatalf("by due time = %v (next %q), want [d2 d4 d1]: earliest first, d3 has nothing due", got, next)
	}
	got, next := list(store.ConversationFilter{Limit: 2})
	if fmt.Sprint(got) != "[d2 d4]" || next == "" {
		t.Fatalf("first page of 2 = %v (next %q)", got, next)
	}
	if got, next = list(store.ConversationFilter{Limit: 2, Before: next}); fmt.Sprint(got) != "[d1]" || next != "" {
		t.Fatalf("second page = %v (next %q), want [d1]", got, next)
	}
	// Due times move both ways.
	setDue("d1", 30*time.Minute)
	setDue("d2", 0) // answered: nothing due any more
	if got, _ := list(store.ConversationFilter{Limit: 10}); fmt.Sprint(got) != "[d1 d4]" {
		t.Fatalf("after d1 moved earlier and d2 was answered = %v, want [d1 d4]", got)
	}
	// A message joining d3 gives it a due time (one atomic step).
	d3, err := e.s.GetConversation(e.ctx, "d3")
	must(t, err, "GetConversation(d3)")
	_, _, created, err := e.s.AppendToConversation(e.ctx, store.Entry{ID: "m-d3", CustomerID: "cust-3", ConversationID: "d3",
		Channel: "sms", Direction: connectors.Inbound, Kind: store.KindMessage, Text: "hi", OccurredAt: epoch.Add(time.Minute)}, d3,
		func(c *store.Conversation) error {
			c.SLA = &store.ConversationSLA{Policy: "p", Due: epoch.Add(45 * time.Minute)}
			return nil
		})
	must(t, err, "AppendToConversation(d3)")
	if !created {
		t.Fatal("AppendToConversation(d3) created nothing")
	}
	if got, _ := list(store.ConversationFilter{Limit: 10}); fmt.Sprint(got) != "[d1 d3 d4]" {
		t.Fatalf("after d3 got a due time = %v, want [d1 d3 d4]", got)
	}
	if got, _ := list(store.ConversationFilter{Limit: 10, Channel: "mail"}); fmt.Sprint(got) != "[d4]" {
		t.Fatalf("mail only = %v, want [d4]", got)
	}
	must(t, e.s.DeleteConversation(e.ctx, "d1"), "DeleteConversation(d1)")
	if got, _ := list(store.ConversationFilter{Limit: 10}); fmt.Sprint(got) != "[d3 d4]" {
		t.Fatalf("after deleting d1 = %v, want [d3 d4]", got)
	}
}
