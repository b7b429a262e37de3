package identity

import (
	"context"
	"errors"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// Holders says who holds an identity: the root customer it is verified
// for, and the roots of other customers that hold it only claimed.
type Holders struct {
	// Customer is the root the identity is verified for; when nobody has
	// it verified, the root of the customer holding it claimed.
	Customer string
	Verified bool
	// ClaimedBy lists other roots holding the identity claimed (a web form
	// made them before the identity was verified for Customer).
	ClaimedBy []string
}

// Lookup finds the holders of id (already normalized); store.ErrNotFound
// when nobody holds it in any way.
func (r *Resolver) Lookup(ctx context.Context, id connectors.Identity) (Holders, error) {
	var h Holders
	b, err := r.st.LookupIdentity(ctx, id.Type, id.Value)
	switch {
	case err == nil:
		if h.Customer, err = r.root(ctx, b.CustomerID); err != nil {
			return h, err
		}
		h.Verified = true
	case !errors.Is(err, store.ErrNotFound):
		return h, err
	}
	c, err := r.st.LookupClaim(ctx, id.Type, id.Value)
	if errors.Is(err, store.ErrNotFound) {
		if h.Customer == "" {
			return h, store.ErrNotFound
		}
		return h, nil
	}
	if err != nil {
		return h, err
	}
	claimer, err := r.root(ctx, c.CustomerID)
	if errors.Is(err, store.ErrNotFound) && h.Customer != "" {
		return h, nil // the claimer was erased
	}
	if err != nil {
		return h, err
	}
	switch {
	case h.Customer == "":
		h.Customer = claimer
	case claimer != h.Customer:
		h.ClaimedBy = append(h.ClaimedBy, claimer)
	}
	return h, nil
}
