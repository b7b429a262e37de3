package ids

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Derived is a deterministic id for a record caused by one message, so a
// redelivered message re-creates the same record instead of a second one.
// The format is stored in records (conversation, merge and customer ids):
// changing it orphans them.
func Derived(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return prefix + hex.EncodeToString(h.Sum(nil)[:12])
}

// Random is a random id with a time prefix (sortable by creation).
func Random(prefix string, now time.Time) string {
	var r [6]byte
	rand.Read(r[:])
	return fmt.Sprintf("%s%012x%s", prefix, now.UnixMilli(), hex.EncodeToString(r[:]))
}
