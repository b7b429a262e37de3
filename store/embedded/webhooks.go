package embedded

import (
	"context"
	"encoding/binary"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

// ---- outgoing webhooks: outbox, deliveries, endpoints ----------------------

func seqKey(seq int64) []byte { return u64(uint64(seq)) }

func deliveryKey(endpoint string, seq int64) []byte {
	return append(prefix(endpoint), seqKey(seq)...)
}

func (s *Store) PutWebhookEvent(ctx context.Context, ev store.WebhookEvent) (store.WebhookEvent, bool, error) {
	if ev.At.IsZero() {
		ev.At = s.now()
	}
	var out store.WebhookEvent
	var created bool
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		var err error
		out, created, err = putEvent(tx, ev)
		return err
	})
	if err != nil {
		return store.WebhookEvent{}, false, err
	}
	return out, created, nil
}

func (s *Store) PutWebhookEvents(ctx context.Context, evs []store.WebhookEvent) error {
	now := s.now()
	return s.batch(ctx, func(tx *bolt.Tx) error {
		for _, ev := range evs {
			if ev.At.IsZero() {
				ev.At = now
			}
			if _, _, err := putEvent(tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

func putEvent(tx *bolt.Tx, ev store.WebhookEvent) (store.WebhookEvent, bool, error) {
	b := tx.Bucket(bWhEvents)
	var out store.WebhookEvent
	found, err := getEvent(b, []byte(ev.ID), &out)
	if err != nil || found {
		return out, false, err
	}
	if old := store.LegacyWebhookEventID(ev.ID); old != "" {
		// Recorded by an earlier version under the id without the time.
		found, err := getEvent(b, []byte(old), &out)
		if err != nil || found {
			return out, false, err
		}
	}
	seq, err := b.NextSequence()
	if err != nil {
		return out, false, err
	}
	out = ev
	out.Seq = int64(seq)
	if err := b.Put([]byte(ev.ID), encodeEvent(out)); err != nil {
		return out, false, err
	}
	if err := tx.Bucket(bWhPending).Put(seqKey(out.Seq), []byte(ev.ID)); err != nil {
		return out, false, err
	}
	if ev.CustomerID != "" {
		if err := tx.Bucket(bWhByCustomer).Put(key(ev.CustomerID, ev.ID), seqKey(out.Seq)); err != nil {
			return out, false, err
		}
	}
	return out, true, nil
}

func (s *Store) GetWebhookEvent(ctx context.Context, id string) (store.WebhookEvent, error) {
	var ev store.WebhookEvent
	err := s.view(ctx, func(tx *bolt.Tx) error {
		found, err := getEvent(tx.Bucket(bWhEvents), []byte(id), &ev)
		if err == nil && !found {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return store.WebhookEvent{}, err
	}
	return ev, nil
}

func (s *Store) GetWebhookEvents(ctx context.Context, ids []string) ([]store.WebhookEvent, error) {
	out := make([]store.WebhookEvent, 0, len(ids))
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bWhEvents)
		for _, id := range ids {
			var ev store.WebhookEvent
			found, err := getEvent(b, []byte(id), &ev)
			if err != nil {
				return err
			}
			if found {
				out = append(out, ev)
			}
		}
		return nil
	})
	return out, err
}

func (s *Store) PendingWebhookEvents(ctx context.Context, limit int) ([]store.WebhookEvent, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []store.WebhookEvent
	err := s.view(ctx, func(tx *bolt.Tx) error {
		evs := tx.Bucket(bWhEvents)
		c := tx.Bucket(bWhPending).Cursor()
		for k, id := c.First(); k != nil && len(out) < limit; k, id = c.Next() {
			var ev store.WebhookEvent
			found, err := getEvent(evs, id, &ev)
			if err != nil {
				return err
			}
			if found {
				out = append(out, ev)
			}
		}
		return nil
	})
	return out, err
}

func (s *Store) FanOutWebhookEvents(ctx context.Context, fs []store.WebhookFanOut) error {
	return s.batch(ctx, func(tx *bolt.Tx) error {
		for _, f := range fs {
			if err := fanOut(tx, f.Event.ID, f.Deliveries); err != nil {
				return err
			}
		}
		return nil
	})
}

func fanOut(tx *bolt.Tx, id string, ds []store.WebhookDelivery) error {
	var ev store.WebhookEvent
	found, err := getEvent(tx.Bucket(bWhEvents), []byte(id), &ev)
	if err != nil || !found {
		return err // erased meanwhile: nothing to fan out
	}
	db, pend := tx.Bucket(bWhDeliveries), tx.Bucket(bWhDelPending)
	for _, d := range ds {
		d.Seq = ev.Seq
		k := deliveryKey(d.Endpoint, d.Seq)
		if db.Get(k) != nil {
			continue
		}
		if err := putJSON(db, k, d); err != nil {
			return err
		}
		if d.Status == store.WebhookPending {
			if err := pend.Put(k, []byte(id)); err != nil {
				return err
			}
		}
	}
	return tx.Bucket(bWhPending).Delete(seqKey(ev.Seq))
}

func (s *Store) PutWebhookDeliveries(ctx context.Context, ds ...store.WebhookDelivery) error {
	return s.batch(ctx, func(tx *bolt.Tx) error {
		for _, d := range ds {
			k := deliveryKey(d.Endpoint, d.Seq)
			if err := putJSON(tx.Bucket(bWhDeliveries), k, d); err != nil {
				return err
			}
			var err error
			if d.Status == store.WebhookPending {
				err = tx.Bucket(bWhDelPending).Put(k, []byte(d.EventID))
			} else {
				err = tx.Bucket(bWhDelPending).Delete(k)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) GetWebhookDelivery(ctx context.Context, endpoint, eventID string) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var ev store.WebhookEvent
		found, err := getEvent(tx.Bucket(bWhEvents), []byte(eventID), &ev)
		if err != nil {
			return err
		}
		if found {
			found, err = getJSON(tx.Bucket(bWhDeliveries), deliveryKey(endpoint, ev.Seq), &d)
		}
		if err == nil && !found {
			err = store.ErrNotFound
		}
		return err
	})
	return d, err
}

func (s *Store) ListWebhookDeliveries(ctx context.Context, endpoint string, before int64, limit int) ([]store.WebhookDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	p := prefix(endpoint)
	var out []store.WebhookDelivery
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bWhDeliveries).Cursor()
		// Start just below the first key at or past the bound: the bound
		// is the key of Seq before, or (from the newest) the prefix with its
		// NUL separator raised to 1, which sorts after all of its keys.
		bound := append(key(endpoint), 1)
		if before > 0 {
			bound = deliveryKey(endpoint, before)
		}
		k, v := c.Seek(bound)
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && hasPrefix(k, p) && len(out) < limit; k, v = c.Prev() {
			var d store.WebhookDelivery
			if err := jsonDecode(k, v, &d); err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

func (s *Store) PendingWebhookDeliveries(ctx context.Context, endpoint string, limit int) ([]store.WebhookDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []store.WebhookDelivery
	err := s.view(ctx, func(tx *bolt.Tx) error {
		db := tx.Bucket(bWhDeliveries)
		return scanPrefix(tx.Bucket(bWhDelPending), prefix(endpoint), func(k, _ []byte) (bool, error) {
			var d store.WebhookDelivery
			found, err := getJSON(db, k, &d)
			if err != nil {
				return false, err
			}
			if found {
				out = append(out, d)
			}
			return len(out) < limit, nil
		})
	})
	return out, err
}

func (s *Store) CreateWebhookEndpoint(ctx context.Context, e store.WebhookEndpoint) error {
	now := s.now()
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	e.UpdatedAt = now
	return s.batch(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bWhEndpoints)
		if b.Get([]byte(e.Name)) != nil {
			return store.ErrConflict
		}
		return putJSON(b, []byte(e.Name), e)
	})
}

func (s *Store) GetWebhookEndpoint(ctx context.Context, name string) (store.WebhookEndpoint, error) {
	return getRecord[store.WebhookEndpoint](ctx, s, bWhEndpoints, []byte(name))
}

func (s *Store) UpdateWebhookEndpoint(ctx context.Context, name string, fn func(*store.WebhookEndpoint) error) (store.WebhookEndpoint, error) {
	var out store.WebhookEndpoint
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = updateRecord(tx.Bucket(bWhEndpoints), []byte(name), fn, func(old store.WebhookEndpoint, v *store.WebhookEndpoint) error {
			v.Name, v.CreatedAt, v.UpdatedAt = old.Name, old.CreatedAt, s.now()
			return nil
		})
		return err
	})
	return out, err
}

func (s *Store) ListWebhookEndpoints(ctx context.Context) ([]store.WebhookEndpoint, error) {
	var out []store.WebhookEndpoint
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bWhEndpoints).ForEach(func(k, v []byte) error {
			var e store.WebhookEndpoint
			if err := jsonDecode(k, v, &e); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

func (s *Store) DeleteWebhookEndpoint(ctx context.Context, name string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bWhEndpoints).Delete([]byte(name)); err != nil {
			return err
		}
		for _, b := range []*bolt.Bucket{tx.Bucket(bWhDeliveries), tx.Bucket(bWhDelPending)} {
			for _, k := range keysWithPrefix(b, prefix(name)) {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (s *Store) DeleteWebhookCustomer(ctx context.Context, customerID string) (int, error) {
	n := 0
	err := s.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		byCust := tx.Bucket(bWhByCustomer)
		var endpoints []string
		if err := tx.Bucket(bWhEndpoints).ForEach(func(k, _ []byte) error {
			endpoints = append(endpoints, string(k))
			return nil
		}); err != nil {
			return err
		}
		p := prefix(customerID)
		for _, k := range keysWithPrefix(byCust, p) {
			id := k[len(p):]
			seq := int64(binary.BigEndian.Uint64(byCust.Get(k)))
			if err := tx.Bucket(bWhEvents).Delete(id); err != nil {
				return err
			}
			if err := tx.Bucket(bWhPending).Delete(seqKey(seq)); err != nil {
				return err
			}
			// Deliveries of endpoints deleted since were removed with them.
			for _, ep := range endpoints {
				dk := deliveryKey(ep, seq)
				if err := tx.Bucket(bWhDeliveries).Delete(dk); err != nil {
					return err
				}
				if err := tx.Bucket(bWhDelPending).Delete(dk); err != nil {
					return err
				}
			}
			if err := byCust.Delete(k); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
