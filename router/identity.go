package router

import (
	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/store"
)

// Identity resolution moved to package identity. These names keep the other
// branches of issue 13 compiling while they are merged.

// Resolver is identity.Resolver.
//
// Deprecated: moved to identity.Resolver; removed after the merge.
type Resolver = identity.Resolver

// NewResolver is identity.NewResolver with the router's metrics and the
// default logger.
//
// Deprecated: moved to identity.NewResolver; removed after the merge.
func NewResolver(st store.Store, clock store.Clock, m *Metrics) *Resolver {
	return identity.NewResolver(st, clock, m.identity(), nil)
}
