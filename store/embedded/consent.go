package embedded

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

// consentLogKey orders a customer's decisions by time and makes a
// repeated record of the same decision land on the same key.
func consentLogKey(c store.Consent) []byte {
	return key(c.CustomerID, fmt.Sprintf("%020d", c.At.UnixNano()), c.Channel, c.Purpose, strconv.FormatBool(c.Granted), c.Source)
}

func (s *Store) ConsentHistory(ctx context.Context, customerID string) ([]store.Consent, error) {
	out := []store.Consent{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return scanPrefix(tx.Bucket(bConsentLog), prefix(customerID), func(k, v []byte) (bool, error) {
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

// ---- self-service ------------------------------------------------------------

func (s *Store) PutAccessLink(ctx context.Context, l store.AccessLink) error {
	return s.batch(ctx, func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bAccessLinks), []byte(l.ID), l) })
}

func (s *Store) GetAccessLink(ctx context.Context, id string) (store.AccessLink, error) {
	return getRecord[store.AccessLink](ctx, s, bAccessLinks, []byte(id))
}

func (s *Store) PutErasureRequest(ctx context.Context, r store.ErasureRequest) error {
	if r.RequestedAt.IsZero() {
		r.RequestedAt = s.now()
	}
	return s.batch(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bErasureReqs)
		if bk.Get([]byte(r.ID)) != nil {
			return nil
		}
		return putJSON(bk, []byte(r.ID), r)
	})
}

func (s *Store) GetErasureRequest(ctx context.Context, id string) (store.ErasureRequest, error) {
	return getRecord[store.ErasureRequest](ctx, s, bErasureReqs, []byte(id))
}

func (s *Store) UpdateErasureRequest(ctx context.Context, id string, fn func(*store.ErasureRequest) error) (store.ErasureRequest, error) {
	var out store.ErasureRequest
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = updateRecord(tx.Bucket(bErasureReqs), []byte(id), fn, func(_ store.ErasureRequest, r *store.ErasureRequest) error {
			r.ID = id
			return nil
		})
		return err
	})
	if err != nil {
		return store.ErasureRequest{}, err
	}
	return out, nil
}

// ListErasureRequests reads every request: the queue is small (requests
// are decided, and a customer makes few).
func (s *Store) ListErasureRequests(ctx context.Context, status string, limit int) ([]store.ErasureRequest, error) {
	if limit <= 0 {
		limit = 100
	}
	out := []store.ErasureRequest{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bErasureReqs).ForEach(func(k, v []byte) error {
			var r store.ErasureRequest
			if err := jsonDecode(k, v, &r); err != nil {
				return err
			}
			if status == "" || r.Status == status {
				out = append(out, r)
			}
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool {
		if !out[i].RequestedAt.Equal(out[j].RequestedAt) {
			return out[i].RequestedAt.After(out[j].RequestedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out[:min(limit, len(out))], err
}
