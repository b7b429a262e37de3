package storetest

import (
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

func labelTests() []testCase {
	return []testCase{
		{"ConversationLabelsAndFilter", testConversationLabels},
		{"CustomerLabelsAndAttributes", testCustomerLabels},
	}
}

// testConversationLabels: labels and attributes written in a
// conversation's compare-and-swap are read back, and ListConversations
// with Label selects exactly the conversations carrying it.
func testConversationLabels(t *testing.T, f Factory) {
	e := newEnv(t, f)
	for i, id := range []string{"c-a", "c-b", "c-c"} {
		_, _, err := e.s.OpenConversation(e.ctx, store.Conversation{ID: id, CustomerID: "cust-" + id, Channel: "sms", ThreadKey: "sms|" + id,
			Status: store.StatusOpen, CreatedAt: epoch, LastActivity: epoch.Add(time.Duration(i) * time.Minute)})
		must(t, err, "OpenConversation %s", id)
	}
	for _, id := range []string{"c-a", "c-c"} {
		_, err := e.s.UpdateConversation(e.ctx, id, func(c *store.Conversation) error {
			c.Labels = []string{"billing", "vip"}
			c.Attributes = map[string]string{"plan": "gold"}
			return nil
		})
		must(t, err, "UpdateConversation %s", id)
	}
	got, err := e.s.GetConversation(e.ctx, "c-a")
	must(t, err, "GetConversation")
	if len(got.Labels) != 2 || got.Labels[0] != "billing" || got.Attributes["plan"] != "gold" {
		t.Fatalf("conversation read back = labels %v attributes %v", got.Labels, got.Attributes)
	}
	cs, _, err := e.s.ListConversations(e.ctx, store.ConversationFilter{Label: "vip", Limit: 10})
	must(t, err, "ListConversations label=vip")
	if len(cs) != 2 || cs[0].ID != "c-c" || cs[1].ID != "c-a" {
		t.Fatalf("label=vip listed %v, want c-c, c-a", convIDs(cs))
	}
	cs, _, err = e.s.ListConversations(e.ctx, store.ConversationFilter{Label: "nope", Limit: 10})
	must(t, err, "ListConversations label=nope")
	if len(cs) != 0 {
		t.Fatalf("label=nope listed %v", convIDs(cs))
	}
	cs, _, err = e.s.ListConversations(e.ctx, store.ConversationFilter{Label: "billing", CustomerIDs: []string{"cust-c-a", "cust-c-b"}, Limit: 10})
	must(t, err, "ListConversations label+customers")
	if len(cs) != 1 || cs[0].ID != "c-a" {
		t.Fatalf("label=billing of two customers listed %v, want c-a", convIDs(cs))
	}
}

// testCustomerLabels: a customer's labels and attributes survive an update
// and go with DeleteCustomer.
func testCustomerLabels(t *testing.T, f Factory) {
	e := newEnv(t, f)
	must(t, e.s.CreateCustomer(e.ctx, store.Customer{ID: "cust-l", Name: "Lea", CreatedAt: epoch, UpdatedAt: epoch}), "CreateCustomer")
	_, err := e.s.UpdateCustomer(e.ctx, "cust-l", func(c *store.Customer) error {
		c.Labels = []string{"vip"}
		c.Attributes = map[string]string{"customer_no": "4711"}
		return nil
	})
	must(t, err, "UpdateCustomer")
	got, err := e.s.GetCustomer(e.ctx, "cust-l")
	must(t, err, "GetCustomer")
	if len(got.Labels) != 1 || got.Labels[0] != "vip" || got.Attributes["customer_no"] != "4711" {
		t.Fatalf("customer read back = labels %v attributes %v", got.Labels, got.Attributes)
	}
	must(t, e.s.DeleteCustomer(e.ctx, "cust-l"), "DeleteCustomer")
	if _, err := e.s.GetCustomer(e.ctx, "cust-l"); err == nil {
		t.Fatal("customer (with its labels) outlived DeleteCustomer")
	}
}
