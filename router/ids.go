package router

import (
	"time"

	"github.com/switchboard-hub/switchboard/internal/ids"
)

// derivedID is ids.Derived: a deterministic id for a record caused by one
// message, so a redelivered message re-creates the same record.
func derivedID(prefix string, parts ...string) string { return ids.Derived(prefix, parts...) }

// randomID is ids.Random: a random id with a time prefix.
func randomID(prefix string, now time.Time) string { return ids.Random(prefix, now) }
