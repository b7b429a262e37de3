package connectors

import (
	"context"
	"time"
)

// Budgets bound how often something may happen within a sliding window,
// one bound shared by every replica (the hub hands its store's
// store.Budgets). The email channel keeps its automatic_limit here.
type Budgets interface {
	// TakeBudget records use (the same use again counts once) of budget
	// key and reports true, unless limit other uses were recorded within
	// window before now: then false, and nothing is recorded.
	TakeBudget(ctx context.Context, key, use string, limit int, window time.Duration) (bool, error)
}
