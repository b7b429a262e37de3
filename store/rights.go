package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
)

// ---- data rights: blob references, tombstones, single-entry deletion -----
//
// These serve erasure and retention (issue 15). They live in their own file
// so the records they add stay apart from the rest of the contract.

// BlobRefs record which timeline entries reference an attachment blob, so
// a blob shared by two customers (content-addressed: the same file sent by
// both) survives the erasure of one. A backend records an entry's
// references itself, when AppendEntry or AppendToConversation is called
// with attachments (before or with the entry: a crash leaves a reference
// too many, which keeps a blob, never one too few, which would lose one).
type BlobRefs interface {
	// BlobRefCount returns how many entries reference the blob sum.
	BlobRefCount(ctx context.Context, sum string) (int, error)
	// RemoveBlobRef drops entryID's reference to sum and returns how many
	// references remain. Removing an absent reference is not an error.
	RemoveBlobRef(ctx context.Context, sum, entryID string) (int, error)
}

// Tombstones remember, after an erasure, a keyed hash of each provider
// message id the erased person's entries had, so a provider's retry or
// replay of such a message is dropped instead of bringing the person back.
// The hash is computed by the caller (a keyed HMAC); the store never sees
// the id in clear.
type Tombstones interface {
	PutTombstone(ctx context.Context, hash string, at time.Time) error
	HasTombstone(ctx context.Context, hash string) (bool, error)
}

// EntryDeleter removes one timeline entry (retention): the entry, its
// dedupe record, its place in the customer's count, and the provider-id
// record naming it. It does not touch blob references (the caller drops
// them with RemoveBlobRef first, and deletes blobs left unreferenced).
// Missing is not an error.
type EntryDeleter interface {
	DeleteEntry(ctx context.Context, id string) error
}

// Rights is every part of the contract erasure and retention need beyond
// the records they delete.
type Rights interface {
	BlobRefs
	Tombstones
	EntryDeleter
}

// Hold is a legal hold on a customer: while set, retention skips the
// customer and erasure is refused.
type Hold struct {
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// Tombstoner hashes message ids for Tombstones with HMAC-SHA256 under a
// key derived from the store's session key (Sessions), so every replica
// computes the same hash and a copy of the hashes alone cannot be tested
// against guessed provider ids. Safe for concurrent use.
type Tombstoner struct {
	st  Store
	mu  sync.Mutex
	key []byte
}

// NewTombstoner returns a Tombstoner over st.
func NewTombstoner(st Store) *Tombstoner { return &Tombstoner{st: st} }

// legacySessionKey is the checkpoint an earlier version kept the session
// key in: proposed as the key when none is stored, as the inbox does.
const legacySessionKey = "inbox.session-key"

func (t *Tombstoner) derived(ctx context.Context) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.key != nil {
		return t.key, nil
	}
	candidate, err := t.st.GetCheckpoint(ctx, legacySessionKey)
	if errors.Is(err, ErrNotFound) {
		candidate = make([]byte, 32)
		rand.Read(candidate)
	} else if err != nil {
		return nil, fmt.Errorf("tombstone key: %w", err)
	}
	k, err := t.st.GetOrCreateSessionKey(ctx, candidate)
	if err != nil {
		return nil, fmt.Errorf("tombstone key: %w", err)
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte("switchboard tombstone v1"))
	t.key = m.Sum(nil)
	return t.key, nil
}

// Hash returns the keyed hash of a message id.
func (t *Tombstoner) Hash(ctx context.Context, messageID string) (string, error) {
	k, err := t.derived(ctx)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(messageID))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// Bury records a tombstone for messageID.
func (t *Tombstoner) Bury(ctx context.Context, messageID string, at time.Time) error {
	h, err := t.Hash(ctx, messageID)
	if err != nil {
		return err
	}
	return t.st.PutTombstone(ctx, h, at)
}

// Buried reports whether messageID belonged to an erased person.
func (t *Tombstoner) Buried(ctx context.Context, messageID string) (bool, error) {
	h, err := t.Hash(ctx, messageID)
	if err != nil {
		return false, err
	}
	return t.st.HasTombstone(ctx, h)
}

// DropBlobRef drops entryID's reference to blob sum and deletes the blob
// from blobs (nil: none kept) when no other entry references it; it
// answers the references left. Erasure and retention both free files so.
func DropBlobRef(ctx context.Context, refs BlobRefs, blobs connectors.Blobs, sum, entryID string) (int, error) {
	left, err := refs.RemoveBlobRef(ctx, sum, entryID)
	if err != nil {
		return 0, fmt.Errorf("attachment reference: %w", err)
	}
	if left == 0 && blobs != nil {
		if err := blobs.Delete(ctx, sum); err != nil {
			return 0, fmt.Errorf("attachment: %w", err)
		}
	}
	return left, nil
}
