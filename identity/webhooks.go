package identity

import (
	"context"
	"strconv"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// SetWebhooks makes the resolver record customer.created, customer.merged
// and customer.unmerged for outgoing webhooks (nil: none). Call it before
// the resolver is used.
func (r *Resolver) SetWebhooks(rec timeline.Recorder) { r.hooks = rec }

// CustomerData is the data of customer.created.
type CustomerData struct {
	CustomerID string `json:"customer_id"`
	Name       string `json:"name,omitempty"`
	MessageID  string `json:"message_id,omitempty"` // the message that created it
}

// MergeData is the data of customer.merged and customer.unmerged: the
// customer ids only (the evidence names identities and stays in the hub).
type MergeData struct {
	MergeID    string `json:"merge_id"`
	CustomerID string `json:"customer_id"` // the winner: the customer the loser's timeline joins (or left)
	Winner     string `json:"winner"`
	Loser      string `json:"loser"`
	By         string `json:"by,omitempty"`
}

func (r *Resolver) record(ctx context.Context, typ, key, customerID string, data any) error {
	if r.hooks == nil {
		return nil
	}
	return r.hooks.Record(ctx, typ, key, customerID, data)
}

// createCustomer creates c and records its customer.created, in one store
// step when the Recorder can make the event for the store to write (one
// write where there were two on the embedded store).
func (r *Resolver) createCustomer(ctx context.Context, c store.Customer, messageID string) error {
	data := CustomerData{CustomerID: c.ID, Name: c.Name, MessageID: messageID}
	if m, ok := r.hooks.(timeline.WebhookEventMaker); ok {
		evs, err := m.WebhookEvents([]timeline.Hook{{Type: "customer.created", Key: c.ID, CustomerID: c.ID, Data: data}})
		if err != nil {
			return err
		}
		return r.st.CreateCustomerWithWebhookEvents(ctx, c, evs)
	}
	if err := r.st.CreateCustomer(ctx, c); err != nil {
		return err
	}
	return r.record(ctx, "customer.created", c.ID, c.ID, data)
}

// recordMerge records a merge or unmerge that was made (keyed by the merge
// record's update time); a failure is logged, the change stands.
func (r *Resolver) recordMerge(ctx context.Context, typ string, m store.Merge) {
	key := m.ID + "/" + strconv.FormatInt(m.UpdatedAt.UnixNano(), 10)
	if err := r.record(ctx, typ, key, m.Winner, MergeData{MergeID: m.ID, CustomerID: m.Winner, Winner: m.Winner, Loser: m.Loser, By: m.By}); err != nil {
		r.log.Error("merge changed, its webhook event not recorded", "merge", m.ID, "type", typ, "err", err)
	}
}

// dropFresh deletes the empty customer made for a message that lost the
// race for its new identity, and the customer.created event recorded for
// it, so receivers are not told of a customer that never held anything
// (unless the dispatcher sent it in the moment between).
func (r *Resolver) dropFresh(ctx context.Context, cust string) {
	_ = r.st.DeleteCustomer(ctx, cust)
	if r.hooks == nil {
		return
	}
	if _, err := r.st.DeleteWebhookCustomer(ctx, cust); err != nil {
		r.log.Error("empty customer dropped, its customer.created event not", "customer", cust, "err", err)
	}
}
