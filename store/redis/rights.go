package redis

import (
	"context"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// Data-rights records (store/rights.go): {b:SUM}:refs is the set of entry
// ids referencing an attachment blob, added before the entry is written
// (a crash in between leaves a reference too many: the blob is kept, never
// lost); {t:HASH}:tomb marks an erased provider message id.

// addBlobRefs records e's attachment references (AppendEntry and
// AppendToConversation call it before writing the entry).
func (s *Store) addBlobRefs(ctx context.Context, e store.Entry) error {
	var n int
	for _, a := range e.Attachments {
		if a.SHA256 != "" {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, a := range e.Attachments {
			if a.SHA256 != "" {
				p.SAdd(ctx, s.k.blobRefs(a.SHA256), e.ID)
			}
		}
		return nil
	})
	return err
}

func (s *Store) BlobRefCount(ctx context.Context, sum string) (_ int, err error) {
	defer opErr(&err, "count references of blob", sum)
	n, err := s.c.SCard(ctx, s.k.blobRefs(sum)).Result()
	return int(n), err
}

func (s *Store) RemoveBlobRef(ctx context.Context, sum, entryID string) (_ int, err error) {
	defer opErr(&err, "remove reference of entry", entryID, "to blob", sum)
	k := s.k.blobRefs(sum)
	var card *goredis.IntCmd
	_, err = s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.SRem(ctx, k, entryID)
		card = p.SCard(ctx, k)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(card.Val()), nil
}

func (s *Store) PutTombstone(ctx context.Context, hash string, at time.Time) (err error) {
	defer opErr(&err, "put tombstone")
	dropPrefetched(ctx)
	return s.c.Set(ctx, s.k.tombstone(hash), strconv.FormatInt(at.UnixNano(), 10), 0).Err()
}

func (s *Store) HasTombstone(ctx context.Context, hash string) (_ bool, err error) {
	defer opErr(&err, "check tombstone")
	if a, ok := takePrefetched(ctx, s.k.tombstone(hash)); ok {
		return a.exists, nil
	}
	n, err := s.c.Exists(ctx, s.k.tombstone(hash)).Result()
	return n > 0, err
}

// DeleteEntry removes one entry (retention): from its customer's timeline
// (one script in the customer's tag), then its provider-id record and its
// dedupe record, so a failure midway leaves the dedupe record for a retry
// to find the rest by.
func (s *Store) DeleteEntry(ctx context.Context, id string) (err error) {
	defer opErr(&err, "delete entry", id)
	owner, err := s.entryOwner(ctx, id)
	if err == store.ErrNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	raw, err := s.c.HGet(ctx, s.k.entries(owner), id).Result()
	if err != nil && !isNil(err) {
		return err
	}
	if err == nil {
		var e store.Entry
		if err := decodeEntry(raw, id, owner, &e); err != nil {
			return err
		}
		if err := deleteEntry.Run(ctx, s.c, []string{s.k.entries(owner), s.k.timeline(owner)}, id, e.SortKey()).Err(); err != nil {
			return err
		}
		if e.ProviderID != "" {
			ref, err := s.c.HGet(ctx, s.k.providerID(e.Channel, e.ProviderID), "entry").Result()
			if err != nil && !isNil(err) {
				return err
			}
			if ref == id {
				if err := s.DeleteProviderID(ctx, e.Channel, e.ProviderID); err != nil {
					return err
				}
			}
		}
	}
	return casDel.Run(ctx, s.c, []string{s.k.entryOwner(id)}, owner).Err()
}

// BackfillBlobRefs records the blob references of every entry, once per
// store (a marker key says it is done), for entries written before blob
// references existed. Idempotent: running it twice, or on several
// replicas at once, only adds the same set members. It returns how many
// references it recorded (0 when the marker was set).
func (s *Store) BackfillBlobRefs(ctx context.Context) (_ int, err error) {
	defer opErr(&err, "backfill blob references")
	done, err := s.c.Exists(ctx, s.k.blobRefsBackfilled()).Result()
	if err != nil || done > 0 {
		return 0, err
	}
	n := 0
	for after := ""; ; {
		cs, err := s.ListCustomers(ctx, after, 500)
		if err != nil {
			return n, err
		}
		for _, c := range cs {
			vals, err := s.c.HGetAll(ctx, s.k.entries(c.ID)).Result()
			if err != nil {
				return n, err
			}
			for id, v := range vals {
				var e store.Entry
				if err := decodeEntry(v, id, c.ID, &e); err != nil {
					return n, err
				}
				if err := s.addBlobRefs(ctx, e); err != nil {
					return n, err
				}
				for _, a := range e.Attachments {
					if a.SHA256 != "" {
						n++
					}
				}
			}
		}
		if len(cs) < 500 {
			break
		}
		after = cs[len(cs)-1].ID
	}
	return n, s.c.Set(ctx, s.k.blobRefsBackfilled(), "1", 0).Err()
}
