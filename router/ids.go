package router

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// newCustomerID returns a time-ordered id: lexical order is creation order,
// which makes "the older customer wins a merge" a plain string comparison
// and lets concurrent merges converge on one root.
func newCustomerID(now time.Time) string {
	var r [5]byte
	rand.Read(r[:])
	return fmt.Sprintf("c_%012x%s", now.UnixMilli(), hex.EncodeToString(r[:]))
}

// derivedID is a deterministic id for a record caused by one message, so a
// redelivered message re-creates the same record instead of a second one.
func derivedID(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return prefix + hex.EncodeToString(h.Sum(nil)[:12])
}

// randomID is a random id with a time prefix (sortable by creation).
func randomID(prefix string, now time.Time) string {
	var r [6]byte
	rand.Read(r[:])
	return fmt.Sprintf("%s%012x%s", prefix, now.UnixMilli(), hex.EncodeToString(r[:]))
}
