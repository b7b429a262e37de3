package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

// ---- identities ------------------------------------------------------------

func (s *Store) BindIdentity(ctx context.Context, b store.Binding) (store.Binding, bool, error) {
	return s.bind(ctx, bIdentities, b)
}

func (s *Store) BindClaim(ctx context.Context, b store.Binding) (store.Binding, bool, error) {
	return s.bind(ctx, bClaims, b)
}

func (s *Store) bind(ctx context.Context, bucket []byte, b store.Binding) (store.Binding, bool, error) {
	if b.CreatedAt.IsZero() {
		b.CreatedAt = s.now()
	}
	k := key(b.Type, b.Value)
	var out store.Binding
	var created bool
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucket)
		out, created = store.Binding{}, false
		found, err := getJSON(bk, k, &out)
		if err != nil || found {
			return err
		}
		out, created = b, true
		return putJSON(bk, k, b)
	})
	if err != nil {
		return store.Binding{}, false, err
	}
	return out, created, nil
}

func (s *Store) UpgradeIdentity(ctx context.Context, typ, value, customerID string) error {
	k := key(typ, value)
	return s.batch(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bIdentities)
		var b store.Binding
		found, err := getJSON(bk, k, &b)
		if err != nil {
			return err
		}
		if !found {
			return store.ErrNotFound
		}
		if b.CustomerID != customerID {
			return store.ErrConflict
		}
		if b.Verified {
			return nil
		}
		b.Verified = true
		return putJSON(bk, k, b)
	})
}

func (s *Store) LookupIdentity(ctx context.Context, typ, value string) (store.Binding, error) {
	return s.lookup(ctx, bIdentities, typ, value)
}

func (s *Store) LookupClaim(ctx context.Context, typ, value string) (store.Binding, error) {
	return s.lookup(ctx, bClaims, typ, value)
}

func (s *Store) lookup(ctx context.Context, bucket []byte, typ, value string) (store.Binding, error) {
	var b store.Binding
	err := s.view(ctx, func(tx *bolt.Tx) error {
		found, err := getJSON(tx.Bucket(bucket), key(typ, value), &b)
		if err == nil && !found {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return store.Binding{}, err
	}
	return b, nil
}

func (s *Store) UnbindIdentity(ctx context.Context, typ, value, customerID string) error {
	k := key(typ, value)
	return s.batch(ctx, func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bIdentities, bClaims} {
			bk := tx.Bucket(name)
			var b store.Binding
			found, err := getJSON(bk, k, &b)
			if err != nil {
				return err
			}
			if found && b.CustomerID == customerID {
				if err := bk.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// ---- customers -------------------------------------------------------------

func (s *Store) CreateCustomer(ctx context.Context, c store.Customer) error {
	return s.CreateCustomerWithWebhookEvents(ctx, c, nil)
}

// CreateCustomerWithWebhookEvents writes evs in the creation's own
// transaction.
func (s *Store) CreateCustomerWithWebhookEvents(ctx context.Context, c store.Customer, evs []store.WebhookEvent) error {
	now := s.now()
	for i := range evs {
		if evs[i].At.IsZero() {
			evs[i].At = now
		}
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	c.Version = 1
	k := []byte(c.ID)
	return s.batch(ctx, func(tx *bolt.Tx) error {
		for _, ev := range evs {
			if _, _, err := putEvent(tx, ev); err != nil {
				return err
			}
		}
		bk := tx.Bucket(bCustomers)
		if bk.Get(k) != nil {
			return nil
		}
		return putJSON(bk, k, c)
	})
}

func (s *Store) GetCustomer(ctx context.Context, id string) (store.Customer, error) {
	return getRecord[store.Customer](ctx, s, bCustomers, []byte(id))
}

func (s *Store) UpdateCustomer(ctx context.Context, id string, fn func(*store.Customer) error) (store.Customer, error) {
	var out store.Customer
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = updateRecord(tx.Bucket(bCustomers), []byte(id), fn, func(old store.Customer, c *store.Customer) error {
			c.ID = id
			c.Version = old.Version + 1
			c.UpdatedAt = s.now()
			return nil
		})
		return err
	})
	if err != nil {
		return store.Customer{}, err
	}
	return out, nil
}

func (s *Store) ListCustomers(ctx context.Context, after string, limit int) ([]store.Customer, error) {
	var out []store.Customer
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bCustomers).Cursor()
		k, v := c.Seek([]byte(after))
		if k != nil && after != "" && string(k) == after {
			k, v = c.Next()
		}
		for ; k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			var cu store.Customer
			if err := jsonDecode(k, v, &cu); err != nil {
				return err
			}
			out = append(out, cu)
		}
		return nil
	})
	return out, err
}

func (s *Store) DeleteCustomer(ctx context.Context, id string) error {
	return s.batch(ctx, func(tx *bolt.Tx) error {
		if err := deleteSeen(tx, id); err != nil {
			return err
		}
		return tx.Bucket(bCustomers).Delete([]byte(id))
	})
}

// ---- merges ----------------------------------------------------------------

func mergeIndexKeys(m store.Merge) (byCustomer [][]byte, suggestion []byte) {
	sk := store.SortKey(m.CreatedAt, m.ID)
	byCustomer = append(byCustomer, key(m.Winner, sk))
	if m.Loser != m.Winner {
		byCustomer = append(byCustomer, key(m.Loser, sk))
	}
	if m.Kind == "suggestion" && m.Status == store.MergeProposed {
		suggestion = []byte(sk)
	}
	return byCustomer, suggestion
}

func indexMerge(tx *bolt.Tx, m store.Merge, add bool) error {
	byCustomer, suggestion := mergeIndexKeys(m)
	idx, sug := tx.Bucket(bMergeIdx), tx.Bucket(bSuggestIdx)
	for _, k := range byCustomer {
		var err error
		if add {
			err = idx.Put(k, []byte(m.ID))
		} else {
			err = idx.Delete(k)
		}
		if err != nil {
			return err
		}
	}
	if suggestion != nil {
		if add {
			return sug.Put(suggestion, []byte(m.ID))
		}
		return sug.Delete(suggestion)
	}
	return nil
}

func (s *Store) PutMerge(ctx context.Context, m store.Merge) error {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.now()
	}
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = m.CreatedAt
	}
	k := []byte(m.ID)
	return s.batch(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bMerges)
		if bk.Get(k) != nil {
			return nil
		}
		if err := putJSON(bk, k, m); err != nil {
			return err
		}
		return indexMerge(tx, m, true)
	})
}

func (s *Store) GetMerge(ctx context.Context, id string) (store.Merge, error) {
	return getRecord[store.Merge](ctx, s, bMerges, []byte(id))
}

func (s *Store) UpdateMerge(ctx context.Context, id string, fn func(*store.Merge) error) (store.Merge, error) {
	var out store.Merge
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = updateRecord(tx.Bucket(bMerges), []byte(id), fn, func(old store.Merge, m *store.Merge) error {
			m.ID = id
			m.UpdatedAt = s.now()
			if err := indexMerge(tx, old, false); err != nil {
				return err
			}
			return indexMerge(tx, *m, true)
		})
		return err
	})
	if err != nil {
		return store.Merge{}, err
	}
	return out, nil
}

func (s *Store) ListMerges(ctx context.Context, customerID string) ([]store.Merge, error) {
	var out []store.Merge
	err := s.view(ctx, func(tx *bolt.Tx) error {
		merges := tx.Bucket(bMerges)
		return scanPrefix(tx.Bucket(bMergeIdx), prefix(customerID), func(_, id []byte) (bool, error) {
			var m store.Merge
			found, err := getJSON(merges, id, &m)
			if found && err == nil {
				out = append(out, m)
			}
			return true, err
		})
	})
	return out, err
}

func (s *Store) ListSuggestions(ctx context.Context, limit int) ([]store.Merge, error) {
	var out []store.Merge
	err := s.view(ctx, func(tx *bolt.Tx) error {
		merges := tx.Bucket(bMerges)
		c := tx.Bucket(bSuggestIdx).Cursor()
		for k, id := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, id = c.Next() {
			var m store.Merge
			found, err := getJSON(merges, id, &m)
			if err != nil {
				return err
			}
			if found {
				out = append(out, m)
			}
		}
		return nil
	})
	return out, err
}

// ---- channels --------------------------------------------------------------

func (s *Store) GetChannelState(ctx context.Context, name string) (store.ChannelState, error) {
	return getRecord[store.ChannelState](ctx, s, bChannels, []byte(name))
}

func (s *Store) PutChannelState(ctx context.Context, cs store.ChannelState) error {
	if cs.UpdatedAt.IsZero() {
		cs.UpdatedAt = s.now()
	}
	return s.batch(ctx, func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bChannels), []byte(cs.Name), cs)
	})
}

func (s *Store) ListChannelStates(ctx context.Context) ([]store.ChannelState, error) {
	var out []store.ChannelState
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bChannels).ForEach(func(k, v []byte) error {
			var cs store.ChannelState
			if err := jsonDecode(k, v, &cs); err != nil {
				return err
			}
			out = append(out, cs)
			return nil
		})
	})
	return out, err
}

// ---- leases ----------------------------------------------------------------

// A lease record is kept after release (with an empty holder) so the fencing
// token keeps increasing across releases and restarts.

func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error) {
	var out store.Lease
	err := s.update(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bLeases)
		var l store.Lease
		if _, err := getJSON(bk, []byte(name), &l); err != nil {
			return err
		}
		now := s.now()
		live := l.Holder != "" && now.Before(l.ExpiresAt)
		switch {
		case live && l.Holder == holder: // renew
		case live:
			return store.ErrLeaseHeld
		default:
			l.Token++
			l.Holder = holder
		}
		l.Name = name
		l.ExpiresAt = now.Add(ttl)
		out = l
		return putJSON(bk, []byte(name), l)
	})
	if err != nil {
		return store.Lease{}, err
	}
	return out, nil
}

func (s *Store) RenewLease(ctx context.Context, name, holder string, token int64, ttl time.Duration) (store.Lease, error) {
	var out store.Lease
	err := s.update(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bLeases)
		var l store.Lease
		if _, err := getJSON(bk, []byte(name), &l); err != nil {
			return err
		}
		now := s.now()
		if l.Holder != holder || l.Token != token || !now.Before(l.ExpiresAt) {
			return store.ErrLeaseHeld
		}
		l.ExpiresAt = now.Add(ttl)
		out = l
		return putJSON(bk, []byte(name), l)
	})
	if err != nil {
		return store.Lease{}, err
	}
	return out, nil
}

// ReleaseLease frees the lease when holder still holds it with token; a
// lease already lost or released is not an error.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string, token int64) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bLeases)
		var l store.Lease
		found, err := getJSON(bk, []byte(name), &l)
		if err != nil || !found {
			return err
		}
		if l.Holder != holder || l.Token != token {
			return nil
		}
		l.Holder = ""
		l.ExpiresAt = time.Time{}
		return putJSON(bk, []byte(name), l)
	})
}

// ---- checkpoints -----------------------------------------------------------

func (s *Store) GetCheckpoint(ctx context.Context, k string) ([]byte, error) {
	var out []byte
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bCheckpoints).Get([]byte(k))
		if v == nil {
			return store.ErrNotFound
		}
		out = append([]byte{}, v...)
		return nil
	})
	return out, err
}

func (s *Store) PutCheckpoint(ctx context.Context, k string, value []byte) error {
	v := append([]byte{}, value...)
	return s.batch(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bCheckpoints).Put([]byte(k), v)
	})
}

// ---- audit -----------------------------------------------------------------

// Audit keys are At (unix nanos) + a bucket sequence, both big-endian, so a
// backwards cursor yields the newest first. Generated ids have the same
// order: "a" + 20-digit nanos + "-" + 10-digit sequence.

func (s *Store) AppendAudit(ctx context.Context, r store.AuditRecord) error {
	if r.At.IsZero() {
		r.At = s.now()
	}
	return s.batch(ctx, func(tx *bolt.Tx) error { return putAudit(tx, r) })
}

// putAudit is AppendAudit inside tx (r.At set).
func putAudit(tx *bolt.Tx, r store.AuditRecord) error {
	nanos := r.At.UnixNano()
	bk := tx.Bucket(bAudit)
	seq, err := bk.NextSequence()
	if err != nil {
		return err
	}
	rec := r
	ids := tx.Bucket(bAuditIDs)
	if rec.ID == "" {
		rec.ID = fmt.Sprintf("a%020d-%010d", nanos, seq)
	} else if ids.Get([]byte(rec.ID)) != nil {
		return nil // written before: a retried action audits once
	}
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, uint64(nanos)^(1<<63)) // sign flip keeps order for pre-1970
	binary.BigEndian.PutUint64(k[8:], seq)
	if r.ID != "" {
		if err := ids.Put([]byte(rec.ID), k); err != nil {
			return err
		}
	}
	return putJSON(bk, k, rec)
}

func (s *Store) ListAudit(ctx context.Context, limit int) ([]store.AuditRecord, error) {
	var out []store.AuditRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bAudit).Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var r store.AuditRecord
			if err := jsonDecode(k, v, &r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// ---- consents --------------------------------------------------------------

// PutConsent replaces the stored decision for (customer, channel, purpose)
// unless the stored one is strictly newer (a late replay never regresses).
func (s *Store) PutConsent(ctx context.Context, c store.Consent) error {
	if c.At.IsZero() {
		c.At = s.now()
	}
	k := key(c.CustomerID, c.Channel, c.Purpose)
	return s.batch(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bConsents)
		var old store.Consent
		found, err := getJSON(bk, k, &old)
		if err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bConsentLog), consentLogKey(c), c); err != nil {
			return err
		}
		if found && old.At.After(c.At) {
			return nil
		}
		return putJSON(bk, k, c)
	})
}

func (s *Store) ListConsents(ctx context.Context, customerID string) ([]store.Consent, error) {
	var out []store.Consent
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return scanPrefix(tx.Bucket(bConsents), prefix(customerID), func(k, v []byte) (bool, error) {
			var c store.Consent
			if err := jsonDecode(k, v, &c); err != nil {
				return false, err
			}
			out = append(out, c)
			return true, nil
		})
	})
	return out, err
}

func (s *Store) DeleteConsents(ctx context.Context, customerID string) error {
	return s.batch(ctx, func(tx *bolt.Tx) error {
		for _, bk := range []*bolt.Bucket{tx.Bucket(bConsents), tx.Bucket(bConsentLog)} {
			for _, k := range keysWithPrefix(bk, prefix(customerID)) {
				if err := bk.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// ---- counters --------------------------------------------------------------

func (s *Store) Incr(ctx context.Context, name string, delta int64) (int64, error) {
	var out int64
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bCounters)
		var v int64
		if raw := bk.Get([]byte(name)); len(raw) == 8 {
			v = int64(binary.BigEndian.Uint64(raw))
		}
		v += delta
		out = v
		return bk.Put([]byte(name), u64(uint64(v)))
	})
	return out, err
}

func (s *Store) GetCounters(ctx context.Context, p string) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return scanPrefix(tx.Bucket(bCounters), []byte(p), func(k, v []byte) (bool, error) {
			if len(v) == 8 && strings.HasPrefix(string(k), p) {
				out[string(k)] = int64(binary.BigEndian.Uint64(v))
			}
			return true, nil
		})
	})
	return out, err
}
