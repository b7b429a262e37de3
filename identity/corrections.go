package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Agents' identity corrections (issue 22): add an identity to a customer,
// claimed or verified with a reason, and move one to another customer.
// Removing one is erasure's (erasure.EraseIdentity): it scrubs the
// identity from merge evidence too. The same rules as for messages hold:
// a verified identity is bound to one customer only, and where the change
// creates a conflict a suggestion is raised instead of a merge.

// Correction is what an agent's identity change did.
type Correction struct {
	Customer string              `json:"customer_id"` // the root the identity is now listed on
	Identity connectors.Identity `json:"identity"`    // as listed now (Verified may be false when verified elsewhere)
	// Conflict says in words why the identity was kept claimed, when it is
	// verified for another customer.
	Conflict      string   `json:"conflict,omitempty"`
	SuggestionIDs []string `json:"suggestion_ids,omitempty"`
}

// AddIdentity adds id (normalized) to the customer customerID belongs to,
// verified when id.Verified (the caller requires a reason for that), else
// claimed. how says who and why, for the evidence ("alice: checked on the
// phone"). An identity verified for another customer is kept claimed here,
// with a suggestion; one verified here while another holds it claimed
// raises a suggestion too.
func (r *Resolver) AddIdentity(ctx context.Context, customerID string, id connectors.Identity, how string) (Correction, error) {
	root, err := r.root(ctx, customerID)
	if err != nil {
		return Correction{}, err
	}
	out := Correction{Customer: root, Identity: id}
	var res Resolution
	now := r.clock().UTC()
	agentSuggest := func(owner, text string) error {
		return r.suggest(ctx, owner, root, "", evidence{kind: EvidenceAgent, identity: id.Key(), channel: "agent", text: text}, &res)
	}
	holder := root
	if b, err := r.st.LookupIdentity(ctx, id.Type, id.Value); err == nil {
		owner, err := r.root(ctx, b.CustomerID)
		if err != nil {
			return out, err
		}
		if owner == root {
			holder, out.Identity.Verified = b.CustomerID, true // already verified here
		} else {
			out.Identity.Verified = false
			out.Conflict = fmt.Sprintf("%s is verified for customer %s; kept claimed here", id.Key(), owner)
			if _, _, err := r.st.BindClaim(ctx, store.Binding{Type: id.Type, Value: id.Value, CustomerID: root, Channel: "agent", CreatedAt: now}); err != nil {
				return out, err
			}
			if err := agentSuggest(owner, fmt.Sprintf("%s added %s to customer %s; it is verified for customer %s", how, id.Key(), root, owner)); err != nil {
				return out, err
			}
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return out, err
	} else if id.Verified {
		b, _, err := r.st.BindIdentity(ctx, store.Binding{Type: id.Type, Value: id.Value, CustomerID: root, Verified: true, Channel: "agent", CreatedAt: now})
		if err != nil {
			return out, err
		}
		if owner, err := r.root(ctx, b.CustomerID); err != nil {
			return out, err
		} else if owner != root {
			return out, fmt.Errorf("%s was bound to customer %s meanwhile: %w", id.Key(), owner, store.ErrConflict)
		}
		holder = b.CustomerID
		if err := r.verifiedOverClaim(ctx, root, id, "", "agent", how, &res); err != nil {
			return out, err
		}
	} else {
		c, created, err := r.st.BindClaim(ctx, store.Binding{Type: id.Type, Value: id.Value, CustomerID: root, Channel: "agent", CreatedAt: now})
		if err != nil {
			return out, err
		}
		if !created {
			claimer, err := r.root(ctx, c.CustomerID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return out, err
			}
			if err == nil && claimer != root {
				if err := agentSuggest(claimer, fmt.Sprintf("%s added %s to customer %s as claimed; customer %s claims it too", how, id.Key(), root, claimer)); err != nil {
					return out, err
				}
			}
		}
	}
	if err := r.list(ctx, holder, out.Identity); err != nil {
		return out, err
	}
	out.SuggestionIDs = res.SuggestionIDs
	return out, nil
}

// list records id on customer record c (or upgrades it to verified).
func (r *Resolver) list(ctx context.Context, c string, id connectors.Identity) error {
	_, err := r.st.UpdateCustomer(ctx, c, func(rec *store.Customer) error {
		i := slices.IndexFunc(rec.Identities, func(x connectors.Identity) bool { return x.Type == id.Type && x.Value == id.Value })
		switch {
		case i < 0:
			rec.Identities = append(rec.Identities, id)
		case id.Verified && !rec.Identities[i].Verified:
			rec.Identities[i].Verified = true
		default:
			return errUnchanged
		}
		rec.UpdatedAt = r.clock().UTC()
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// Listed finds the record of customerID's merged view that lists id, and
// id as listed there; store.ErrNotFound when none does.
func Listed(ctx context.Context, st store.Customers, customerID string, id connectors.Identity) (store.Customer, connectors.Identity, error) {
	v, err := timeline.Load(ctx, st, customerID)
	if err != nil {
		return store.Customer{}, id, err
	}
	for _, m := range v.Members {
		for _, x := range m.Identities {
			if x.Type == id.Type && x.Value == id.Value {
				return m, x, nil
			}
		}
	}
	return store.Customer{}, id, fmt.Errorf("customer %s has no identity %s: %w", v.Root.ID, id.Key(), store.ErrNotFound)
}

// MoveIdentity moves id from the customer from belongs to onto the customer
// to belongs to, keeping whether it is verified. It is two steps (off the
// one, onto the other): a failure between them leaves the identity on
// nobody, and the agent adds it again.
func (r *Resolver) MoveIdentity(ctx context.Context, from string, id connectors.Identity, to, how string) (Correction, error) {
	rec, listed, err := Listed(ctx, r.st, from, id)
	if err != nil {
		return Correction{}, err
	}
	fromRoot, err := r.root(ctx, from)
	if err != nil {
		return Correction{}, err
	}
	toRoot, err := r.root(ctx, to)
	if err != nil {
		return Correction{}, err
	}
	if fromRoot == toRoot {
		return Correction{}, fmt.Errorf("%w: %s and %s are one customer", connectors.ErrInvalid, from, to)
	}
	if err := r.st.UnbindIdentity(ctx, id.Type, id.Value, rec.ID); err != nil {
		return Correction{}, err
	}
	if _, err := r.st.UpdateCustomer(ctx, rec.ID, func(c *store.Customer) error {
		c.Identities = slices.DeleteFunc(c.Identities, func(x connectors.Identity) bool { return x.Type == id.Type && x.Value == id.Value })
		c.UpdatedAt = r.clock().UTC()
		return nil
	}); err != nil {
		return Correction{}, err
	}
	return r.AddIdentity(ctx, toRoot, listed, how)
}
