package erasure

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// IdentityReport says what erasing one identity removed.
type IdentityReport struct {
	Customer       string              `json:"customer_id"` // the root it was removed from
	Identity       connectors.Identity `json:"identity"`
	Records        []string            `json:"records"` // customer records that listed it
	MergesScrubbed int                 `json:"merges_scrubbed"`
	// Senders: entries whose sender field named it (now empty).
	Senders int `json:"senders"`
}

// EraseIdentity removes one identity from the customer customerID belongs
// to: an agent's correction of a wrong identity, and the erasure of one
// identity on request. The binding and claim pointing at any record of the
// merged view are removed, the identity is taken off those records, the
// sender field of the entries it sent is emptied (the messages stay:
// erasing the person is Erase), and merges and suggestions of the view
// whose evidence names it lose that evidence (text "erased"). ErrHeld when
// a record of the view is under a legal hold; ErrNotFound when the view
// does not hold the identity. Idempotent up to that: a repeat finds
// nothing and says so. The caller audits.
func EraseIdentity(ctx context.Context, st store.Store, customerID string, id connectors.Identity) (IdentityReport, error) {
	rep := IdentityReport{Identity: id}
	v, err := timeline.Load(ctx, st, customerID)
	if err != nil {
		return rep, err
	}
	rep.Customer = v.Root.ID
	if held, ok := v.Held(); ok {
		return rep, fmt.Errorf("erase identity of %s: %w", held, ErrHeld)
	}
	same := func(x connectors.Identity) bool { return x.Type == id.Type && x.Value == id.Value }
	bound := false
	if b, err := st.LookupIdentity(ctx, id.Type, id.Value); err == nil && slices.Contains(v.IDs(), b.CustomerID) {
		bound = true
	}
	if !bound && !slices.ContainsFunc(v.Members, func(m store.Customer) bool { return slices.ContainsFunc(m.Identities, same) }) {
		return rep, fmt.Errorf("customer %s has no identity %s: %w", v.Root.ID, id.Key(), store.ErrNotFound)
	}
	for _, m := range v.Members {
		if !slices.ContainsFunc(m.Identities, same) && !bound {
			continue
		}
		if err := st.UnbindIdentity(ctx, id.Type, id.Value, m.ID); err != nil {
			return rep, fmt.Errorf("erase identity: unbind: %w", err)
		}
		if !slices.ContainsFunc(m.Identities, same) {
			continue
		}
		if _, err := st.UpdateCustomer(ctx, m.ID, func(c *store.Customer) error {
			c.Identities = slices.DeleteFunc(c.Identities, same)
			return nil
		}); err != nil {
			return rep, err
		}
		rep.Records = append(rep.Records, m.ID)
	}
	for _, m := range v.Members {
		for before := ""; ; {
			es, err := st.PageEntries(ctx, m.ID, before, 500)
			if err != nil {
				return rep, err
			}
			for _, e := range es {
				if e.Sender == nil || !same(*e.Sender) {
					continue
				}
				if _, err := st.UpdateEntry(ctx, e.ID, func(x *store.Entry) error { x.Sender = nil; return nil }); err != nil {
					return rep, err
				}
				rep.Senders++
			}
			if len(es) < 500 {
				break
			}
			before = es[len(es)-1].SortKey()
		}
	}
	for _, m := range v.Members {
		ms, err := st.ListMerges(ctx, m.ID)
		if err != nil {
			return rep, err
		}
		for _, x := range ms {
			if x.Identity != id.Key() {
				continue
			}
			if _, err := st.UpdateMerge(ctx, x.ID, func(x *store.Merge) error {
				x.Evidence, x.Identity = "erased", ""
				return nil
			}); err != nil && !errors.Is(err, store.ErrNotFound) {
				return rep, err
			}
			rep.MergesScrubbed++
		}
	}
	if c, ok := st.(Compactor); ok {
		if err := c.Compact(ctx); err != nil {
			return rep, fmt.Errorf("erase identity: compact: %w", err)
		}
	}
	return rep, nil
}
