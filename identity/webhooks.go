package identity

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

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
// write where there were two on the embedded store). receivedAt is the
// message's receive time, which c's id carries (newCustomerIDFor): it
// leads the event's webhook-id (store.WebhookEventID), the same for every
// copy of the message that derives the same id, so the outbox is written
// in time order.
func (r *Resolver) createCustomer(ctx context.Context, c store.Customer, messageID string, receivedAt time.Time) error {
	data := CustomerData{CustomerID: c.ID, Name: c.Name, MessageID: messageID}
	if m, ok := r.hooks.(timeline.WebhookEventMaker); ok {
		evs, err := m.WebhookEvents([]timeline.Hook{{Type: "customer.created", Key: c.ID, CustomerID: c.ID, Data: data, At: receivedAt}})
		if err != nil {
			return err
		}
		return r.st.CreateCustomerWithWebhookEvents(ctx, c, evs)
	}
	if err := r.st.CreateCustomer(ctx, c); err != nil {
		return err
	}
	if r.hooks == nil {
		return nil
	}
	return r.hooks.RecordAll(ctx, []timeline.Hook{{Type: "customer.created", Key: c.ID, CustomerID: c.ID, Data: data, At: receivedAt}})
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

// SweepPendingEvents records again the customer.merged and
// customer.unmerged events of the merges and unmerges audited since from
// (their audit records are written before the change): what a crash
// between a change and its recording left behind. The event is derived
// from the merge record as it stands (an applied merge: merged; an undone
// one: unmerged), keyed as recordMerge keys it, so an event recorded
// already is not sent twice; a merge that did not happen has no applied
// record and no merged customer, and yields nothing. It returns how many
// merges it looked at.
func (r *Resolver) SweepPendingEvents(ctx context.Context, from time.Time) (int, error) {
	if r.hooks == nil {
		return 0, nil
	}
	seen := map[string]bool{}
	q := store.AuditQuery{Action: "customer", From: from, Limit: store.MaxAuditPage}
	for {
		page, err := r.st.QueryAudit(ctx, q)
		if err != nil {
			return len(seen), err
		}
		for _, a := range page.Records {
			var id string
			switch a.Action {
			case "customer.merge":
				id = strings.TrimPrefix(a.Detail, "merge ")
			case "customer.unmerge":
				id = a.Detail
			default:
				continue
			}
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			m, err := r.st.GetMerge(ctx, id)
			switch {
			case errors.Is(err, store.ErrNotFound):
				if a.Action == "customer.merge" {
					if err := r.sweepUnrecordedMerge(ctx, id, a); err != nil {
						return len(seen), err
					}
				}
				continue
			case err != nil:
				return len(seen), err
			}
			switch {
			case m.Kind == "merge" && m.Status == store.MergeApplied:
				r.recordMerge(ctx, "customer.merged", m)
			case m.Kind == "merge" && m.Status == store.MergeUndone:
				r.recordMerge(ctx, "customer.unmerged", m)
			}
		}
		if page.Next == "" {
			return len(seen), nil
		}
		q.Cursor = page.Next
	}
}

// sweepUnrecordedMerge handles a merge whose record a crash kept from being
// written: when the loser is merged into the winner (the audit record's
// target, "LOSER -> WINNER"), the merge happened and its event is recorded,
// keyed by the loser's update time.
func (r *Resolver) sweepUnrecordedMerge(ctx context.Context, id string, a store.AuditRecord) error {
	loser, winner, ok := strings.Cut(a.Target, " -> ")
	if !ok {
		return nil
	}
	c, err := r.st.GetCustomer(ctx, loser)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || c.MergedInto != winner {
		return err
	}
	key := id + "/" + strconv.FormatInt(c.UpdatedAt.UnixNano(), 10)
	return r.record(ctx, "customer.merged", key, winner, MergeData{MergeID: id, CustomerID: winner, Winner: winner, Loser: loser, By: a.Actor})
}

// RunPendingEvents sweeps every interval (SweepPendingEvents) until ctx
// ends, from a little before the previous sweep began, first over the
// last ten minutes. Every replica may run it: sweeps are idempotent.
func (r *Resolver) RunPendingEvents(ctx context.Context, interval time.Duration) {
	store.RunAuditSweeps(ctx, r.clock, interval, func(ctx context.Context, from time.Time) error {
		_, err := r.SweepPendingEvents(ctx, from)
		return err
	}, func(err error) { r.log.Warn("pending merge events sweep", "err", err) })
}
