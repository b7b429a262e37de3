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
}

// EraseIdentity removes one identity from the customer customerID belongs
// to: an agent's correction of a wrong identity, and the erasure of one
// identity on request. The binding and claim pointing at any record of the
// merged view are removed, the identity is taken off those records, and
// merges and suggestions of the view whose evidence names it lose that
// evidence (text "erased"). The timeline keeps its messages (erasing the
// person is Erase). ErrNotFound when the view does not hold the identity.
// Idempotent up to that: a repeat finds nothing and says so.
func EraseIdentity(ctx context.Context, st store.Store, customerID string, id connectors.Identity) (IdentityReport, error) {
	rep := IdentityReport{Identity: id}
	v, err := timeline.Load(ctx, st, customerID)
	if err != nil {
		return rep, err
	}
	rep.Customer = v.Root.ID
	same := func(x connectors.Identity) bool { return x.Type == id.Type && x.Value == id.Value }
	bound := false
	if b, err := st.LookupIdentity(ctx, id.Type, id.Value); err == nil && slices.Contains(v.IDs(), b.CustomerID) {
		bound = true
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
	if len(rep.Records) == 0 && !bound {
		return rep, fmt.Errorf("customer %s has no identity %s: %w", v.Root.ID, id.Key(), store.ErrNotFound)
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
	return rep, nil
}
