package embedded

import (
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

// ---- provider ids ----------------------------------------------------------

// A provider id record lives in bProviderIDs under channel\x00providerID;
// bProviderByCust lists each customer's records (customer\x00channel\x00
// providerID), so erasing a timeline finds them. Both change in one
// transaction.

type providerRef struct {
	EntryID    string `json:"entry_id"`
	CustomerID string `json:"customer_id"`
}

func (s *Store) PutProviderID(ctx context.Context, channel, providerID, customerID, entryID string) error {
	k := key(channel, providerID)
	return s.batch(ctx, func(tx *bolt.Tx) error {
		ids, byCust := tx.Bucket(bProviderIDs), tx.Bucket(bProviderByCust)
		var old providerRef
		found, err := getJSON(ids, k, &old)
		if err != nil {
			return err
		}
		if found && old.CustomerID != customerID {
			if err := byCust.Delete(key(old.CustomerID, channel, providerID)); err != nil {
				return err
			}
		}
		if err := byCust.Put(key(customerID, channel, providerID), []byte("1")); err != nil {
			return err
		}
		return putJSON(ids, k, providerRef{EntryID: entryID, CustomerID: customerID})
	})
}

func (s *Store) GetProviderID(ctx context.Context, channel, providerID string) (string, error) {
	var id string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var ref providerRef
		found, err := getJSON(tx.Bucket(bProviderIDs), key(channel, providerID), &ref)
		if err != nil || found {
			id = ref.EntryID
			return err
		}
		legacy := tx.Bucket(bCheckpoints).Get([]byte(store.LegacyProviderIDCheckpoint(channel, providerID)))
		if legacy == nil {
			return store.ErrNotFound
		}
		id = string(legacy)
		return nil
	})
	return id, err
}

func (s *Store) DeleteProviderID(ctx context.Context, channel, providerID string) error {
	k := key(channel, providerID)
	return s.batch(ctx, func(tx *bolt.Tx) error {
		ids := tx.Bucket(bProviderIDs)
		var ref providerRef
		found, err := getJSON(ids, k, &ref)
		if err != nil || !found {
			return err
		}
		if err := tx.Bucket(bProviderByCust).Delete(key(ref.CustomerID, channel, providerID)); err != nil {
			return err
		}
		return ids.Delete(k)
	})
}

// deleteCustomerProviderIDs removes every provider id recorded for
// customerID (erasure, inside DeleteEntries' transaction).
func deleteCustomerProviderIDs(tx *bolt.Tx, customerID string) error {
	ids, byCust := tx.Bucket(bProviderIDs), tx.Bucket(bProviderByCust)
	p := prefix(customerID)
	for _, ck := range keysWithPrefix(byCust, p) {
		k := ck[len(p):] // channel\x00providerID
		var ref providerRef
		found, err := getJSON(ids, k, &ref)
		if err != nil {
			return err
		}
		if found && ref.CustomerID == customerID {
			if err := ids.Delete(k); err != nil {
				return err
			}
		}
		if err := byCust.Delete(ck); err != nil {
			return err
		}
	}
	return nil
}

// ---- sign-in sessions ------------------------------------------------------

var sessionKeyKey = []byte("key")

func sessionEpochKey(agent string) []byte { return key("epoch", agent) }

func (s *Store) GetOrCreateSessionKey(ctx context.Context, k []byte) ([]byte, error) {
	if len(k) == 0 {
		return nil, fmt.Errorf("embedded: session key: empty key")
	}
	var out []byte
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bSessions)
		if cur := bk.Get(sessionKeyKey); cur != nil {
			out = append([]byte{}, cur...)
			return nil
		}
		out = append([]byte{}, k...)
		return bk.Put(sessionKeyKey, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) SessionEpoch(ctx context.Context, agent string) (int64, error) {
	var n int64
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if raw := tx.Bucket(bSessions).Get(sessionEpochKey(agent)); len(raw) == 8 {
			n = int64(binary.BigEndian.Uint64(raw))
		}
		return nil
	})
	return n, err
}

func (s *Store) BumpSessionEpoch(ctx context.Context, agent string) (int64, error) {
	var n int64
	k := sessionEpochKey(agent)
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bSessions)
		n = 0
		if raw := bk.Get(k); len(raw) == 8 {
			n = int64(binary.BigEndian.Uint64(raw))
		}
		n++
		return bk.Put(k, u64(uint64(n)))
	})
	return n, err
}
