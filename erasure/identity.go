package erasure

import (
	"context"
	"fmt"
	"slices"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// IdentityReport says what erasing one identity removed.
type IdentityReport struct {
	CustomerID string `json:"customer_id"`
	Type       string `json:"type"`
	// Records: customer records the identity was removed from.
	Records int `json:"records"`
	// Senders: entries whose sender field named it (now empty).
	Senders int `json:"senders"`
}

// EraseIdentity erases one identity of a person (any record of the merged
// view): the binding and claim, the identity on the customer records, and
// the sender field of entries it sent; the messages themselves stay (erase
// the customer to remove them). store.ErrNotFound when no record of the
// person has the identity. Audited without the value.
func EraseIdentity(ctx context.Context, st store.Store, customerID, typ, value, by string, clock store.Clock) (IdentityReport, error) {
	rep := IdentityReport{Type: typ}
	v, err := timeline.Load(ctx, st, customerID)
	if err != nil {
		return rep, err
	}
	rep.CustomerID = v.Root.ID
	match := func(x connectors.Identity) bool { return x.Type == typ && x.Value == value }
	var owners []store.Customer
	for _, c := range v.Members {
		if c.Hold != nil {
			return rep, fmt.Errorf("erase identity of %s: %w", c.ID, ErrHeld)
		}
		if slices.ContainsFunc(c.Identities, match) {
			owners = append(owners, c)
		}
	}
	if len(owners) == 0 {
		return rep, store.ErrNotFound
	}
	if err := st.AppendAudit(ctx, store.AuditRecord{At: clock().UTC(), Actor: by, Action: "customer.identity.erase", Target: v.Root.ID, Detail: typ}); err != nil {
		return rep, fmt.Errorf("erase identity: audit: %w", err)
	}
	for _, c := range v.Members {
		for before := ""; ; {
			es, err := st.PageEntries(ctx, c.ID, before, 500)
			if err != nil {
				return rep, err
			}
			for _, e := range es {
				if e.Sender == nil || !match(*e.Sender) {
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
	for _, c := range owners {
		if err := st.UnbindIdentity(ctx, typ, value, c.ID); err != nil {
			return rep, err
		}
		if _, err := st.UpdateCustomer(ctx, c.ID, func(x *store.Customer) error {
			x.Identities = slices.DeleteFunc(x.Identities, match)
			return nil
		}); err != nil {
			return rep, err
		}
		rep.Records++
	}
	if c, ok := st.(Compactor); ok {
		if err := c.Compact(ctx); err != nil {
			return rep, fmt.Errorf("erase identity: compact: %w", err)
		}
	}
	return rep, nil
}
