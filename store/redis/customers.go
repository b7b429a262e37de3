package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// CreateCustomer stores c unless the id exists, then (always, so a retry
// heals a crash in between) adds the id to the customer index.
func (s *Store) CreateCustomer(ctx context.Context, c store.Customer) (err error) {
	defer opErr(&err, "create customer", c.ID)
	now := s.now()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	if _, _, err := s.createIfAbsent(ctx, s.k.customer(c.ID), marshal(c)); err != nil {
		return err
	}
	return s.c.ZAdd(ctx, s.k.customerIndex(), goredis.Z{Member: c.ID}).Err()
}

func (s *Store) GetCustomer(ctx context.Context, id string) (_ store.Customer, err error) {
	defer opErr(&err, "get customer", id)
	var c store.Customer
	_, err = s.getJSON(ctx, s.k.customer(id), &c)
	return c, err
}

// UpdateCustomer is a compare-and-swap on the record; fn may not change the id.
func (s *Store) UpdateCustomer(ctx context.Context, id string, fn func(*store.Customer) error) (_ store.Customer, err error) {
	defer opErr(&err, "update customer", id)
	dropPrefetched(ctx)
	var out store.Customer
	err = s.update(ctx, stringAt(s.k.customer(id)), func(old string) (string, error) {
		var c store.Customer
		if err := unmarshal(old, &c); err != nil {
			return "", err
		}
		v := c.Version
		if err := fn(&c); err != nil {
			return "", callerError{err}
		}
		c.ID = id
		c.Version = v + 1
		out = c
		return marshal(c), nil
	})
	return out, err
}

// ListCustomers pages the customer index by id; members whose record is
// gone are skipped.
func (s *Store) ListCustomers(ctx context.Context, after string, limit int) (_ []store.Customer, err error) {
	defer opErr(&err, "list customers after", after)
	var out []store.Customer
	min := "-"
	if after != "" {
		min = "(" + after
	}
	for {
		batch := int64(100)
		if limit > 0 && int64(limit-len(out)) < batch {
			batch = int64(limit - len(out))
		}
		ids, err := s.c.ZRangeByLex(ctx, s.k.customerIndex(), &goredis.ZRangeBy{Min: min, Max: "+", Count: batch}).Result()
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return out, nil
		}
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = s.k.customer(id)
		}
		vals, oks, err := s.getMany(ctx, keys)
		if err != nil {
			return nil, err
		}
		for i := range ids {
			if !oks[i] {
				continue
			}
			var c store.Customer
			if err := unmarshal(vals[i], &c); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		if limit > 0 && len(out) >= limit {
			return out, nil
		}
		min = "(" + ids[len(ids)-1]
	}
}

// DeleteCustomer removes the record, then its index member.
func (s *Store) DeleteCustomer(ctx context.Context, id string) (err error) {
	defer opErr(&err, "delete customer", id)
	dropPrefetched(ctx)
	// The customer's channel set (adoption reach) goes with the record.
	if err := s.c.Del(ctx, s.k.customer(id), s.k.customerChannels(id)).Err(); err != nil {
		return err
	}
	return s.c.ZRem(ctx, s.k.customerIndex(), id).Err()
}

// ---- merges ----

// indexMerge adds m to the indexes of its winner and loser and keeps the
// suggestion index right. Idempotent; readers filter stale members.
func (s *Store) indexMerge(ctx context.Context, m store.Merge) error {
	member := store.SortKey(m.CreatedAt, m.ID)
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.ZAdd(ctx, s.k.customerMerges(m.Winner), goredis.Z{Member: member})
		if m.Loser != m.Winner {
			p.ZAdd(ctx, s.k.customerMerges(m.Loser), goredis.Z{Member: member})
		}
		if m.Kind == "suggestion" && m.Status == store.MergeProposed {
			p.ZAdd(ctx, s.k.suggestionIndex(), goredis.Z{Member: member})
		} else {
			p.ZRem(ctx, s.k.suggestionIndex(), member)
		}
		return nil
	})
	return err
}

func (s *Store) PutMerge(ctx context.Context, m store.Merge) (err error) {
	defer opErr(&err, "put merge", m.ID)
	dropPrefetched(ctx)
	now := s.now()
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = m.CreatedAt
	}
	cur, _, err := s.createIfAbsent(ctx, s.k.merge(m.ID), marshal(m))
	if err != nil {
		return err
	}
	var in store.Merge
	if err := unmarshal(cur, &in); err != nil {
		return err
	}
	return s.indexMerge(ctx, in)
}

func (s *Store) GetMerge(ctx context.Context, id string) (_ store.Merge, err error) {
	defer opErr(&err, "get merge", id)
	var m store.Merge
	_, err = s.getJSON(ctx, s.k.merge(id), &m)
	return m, err
}

func (s *Store) UpdateMerge(ctx context.Context, id string, fn func(*store.Merge) error) (_ store.Merge, err error) {
	defer opErr(&err, "update merge", id)
	dropPrefetched(ctx)
	var out store.Merge
	err = s.update(ctx, stringAt(s.k.merge(id)), func(old string) (string, error) {
		var m store.Merge
		if err := unmarshal(old, &m); err != nil {
			return "", err
		}
		if err := fn(&m); err != nil {
			return "", callerError{err}
		}
		m.ID = id
		out = m
		return marshal(m), nil
	})
	if err != nil {
		return store.Merge{}, err
	}
	return out, s.indexMerge(ctx, out)
}

// mergesFrom loads the merges named by sort-key members, in member order.
func (s *Store) mergesFrom(ctx context.Context, members []string) ([]store.Merge, error) {
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = s.k.merge(store.SortKeyID(m))
	}
	vals, oks, err := s.getMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	var out []store.Merge
	for i := range members {
		if !oks[i] {
			continue
		}
		var m store.Merge
		if err := unmarshal(vals[i], &m); err != nil {
			return nil, err
		}
		if store.SortKey(m.CreatedAt, m.ID) != members[i] {
			continue // stale member
		}
		out = append(out, m)
	}
	return out, nil
}

func (s *Store) ListMerges(ctx context.Context, customerID string) (_ []store.Merge, err error) {
	defer opErr(&err, "list merges of customer", customerID)
	members, err := s.c.ZRange(ctx, s.k.customerMerges(customerID), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	ms, err := s.mergesFrom(ctx, members)
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for _, m := range ms {
		if m.Winner == customerID || m.Loser == customerID {
			out = append(out, m)
		}
	}
	return out, nil
}

func (s *Store) ListSuggestions(ctx context.Context, limit int) (_ []store.Merge, err error) {
	defer opErr(&err, "list suggestions")
	var out []store.Merge
	min := "-"
	for {
		members, err := s.c.ZRangeByLex(ctx, s.k.suggestionIndex(), &goredis.ZRangeBy{Min: min, Max: "+", Count: 100}).Result()
		if err != nil {
			return nil, err
		}
		if len(members) == 0 {
			return out, nil
		}
		ms, err := s.mergesFrom(ctx, members)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.Kind == "suggestion" && m.Status == store.MergeProposed {
				out = append(out, m)
				if limit > 0 && len(out) >= limit {
					return out, nil
				}
			}
		}
		min = "(" + members[len(members)-1]
	}
}
