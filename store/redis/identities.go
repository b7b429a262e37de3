package redis

import (
	"context"

	"github.com/switchboard-hub/switchboard/store"
)

func (s *Store) bind(ctx context.Context, key string, b store.Binding) (store.Binding, bool, error) {
	dropPrefetched(ctx)
	if b.CreatedAt.IsZero() {
		b.CreatedAt = s.now()
	}
	cur, created, err := s.createIfAbsent(ctx, key, marshal(b))
	if err != nil {
		return store.Binding{}, false, err
	}
	var out store.Binding
	if err := unmarshal(cur, &out); err != nil {
		return store.Binding{}, false, err
	}
	return out, created, nil
}

func (s *Store) lookup(ctx context.Context, key string) (store.Binding, error) {
	var b store.Binding
	if a, ok := takePrefetched(ctx, key); ok {
		if !a.exists {
			return b, store.ErrNotFound
		}
		return b, unmarshal(a.val, &b)
	}
	_, err := s.getJSON(ctx, key, &b)
	return b, err
}

// BindIdentity binds b.Type:b.Value to b.CustomerID unless it is bound.
func (s *Store) BindIdentity(ctx context.Context, b store.Binding) (_ store.Binding, _ bool, err error) {
	defer opErr(&err, "bind identity", b.Type)
	return s.bind(ctx, s.k.binding(b.Type, b.Value), b)
}

// UpgradeIdentity marks the binding verified (CAS on CustomerID).
func (s *Store) UpgradeIdentity(ctx context.Context, typ, value, customerID string) (err error) {
	defer opErr(&err, "upgrade identity", typ)
	dropPrefetched(ctx)
	return s.update(ctx, stringAt(s.k.binding(typ, value)), func(old string) (string, error) {
		var b store.Binding
		if err := unmarshal(old, &b); err != nil {
			return "", err
		}
		if b.CustomerID != customerID {
			return "", store.ErrConflict
		}
		b.Verified = true
		return marshal(b), nil
	})
}

func (s *Store) LookupIdentity(ctx context.Context, typ, value string) (_ store.Binding, err error) {
	defer opErr(&err, "look up identity", typ)
	return s.lookup(ctx, s.k.binding(typ, value))
}

// BindClaim is BindIdentity for the claim index.
func (s *Store) BindClaim(ctx context.Context, b store.Binding) (_ store.Binding, _ bool, err error) {
	defer opErr(&err, "bind claim", b.Type)
	return s.bind(ctx, s.k.claim(b.Type, b.Value), b)
}

func (s *Store) LookupClaim(ctx context.Context, typ, value string) (_ store.Binding, err error) {
	defer opErr(&err, "look up claim", typ)
	return s.lookup(ctx, s.k.claim(typ, value))
}

// UnbindIdentity removes the binding and the claim of typ:value that point
// at customerID (each with a compare-and-delete).
func (s *Store) UnbindIdentity(ctx context.Context, typ, value, customerID string) (err error) {
	defer opErr(&err, "unbind identity", typ, "of customer", customerID)
	dropPrefetched(ctx)
	for _, key := range []string{s.k.binding(typ, value), s.k.claim(typ, value)} {
		for i := 0; ; i++ {
			raw, err := s.c.Get(ctx, key).Result()
			if isNil(err) {
				break
			}
			if err != nil {
				return err
			}
			var b store.Binding
			if err := unmarshal(raw, &b); err != nil {
				return err
			}
			if b.CustomerID != customerID {
				break
			}
			n, err := casDel.Run(ctx, s.c, []string{key}, raw).Int()
			if err != nil {
				return err
			}
			if n == 1 {
				break
			}
			if i >= maxCAS {
				return store.ErrConflict
			}
		}
	}
	return nil
}
