package store

import (
	"context"
	"time"
)

// Budgets bound how often something may happen within a sliding window,
// one bound shared by every replica: the email channel's automatic_limit
// (automatic mails per recipient address and day) is one. A budget key is
// chosen by its user and should not hold personal data in the clear (the
// email channel uses a hash of the address); its records disappear a
// window after their last use, so erasure needs nothing from them.
type Budgets interface {
	// TakeBudget records use (an id the caller chooses, such as the
	// entry being sent: the same use taken again, a retry, counts once
	// and reports true) of budget key at the store's clock and reports
	// true, unless limit other uses of key were recorded within window
	// before now: then it records nothing and reports false. A use as old
	// as window or older is forgotten. limit <= 0 reports false.
	// Atomic: of concurrent callers on any replica, at most limit win.
	TakeBudget(ctx context.Context, key, use string, limit int, window time.Duration) (bool, error)
}
