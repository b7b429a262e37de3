package store

import (
	"context"
	"time"
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
