package storetest

import (
	"fmt"
	"testing"
	"time"
)

// ---- budgets --------------------------------------------------------------

func budgetTests() []testCase {
	return []testCase{
		{"Limit", testBudgetLimit},
		{"SlidingWindow", testBudgetSlidingWindow},
		{"Concurrent", testBudgetConcurrent},
		{"ManyKeysExpire", testBudgetManyKeys},
	}
}

func take(t *testing.T, e *env, key, use string, limit int) bool {
	t.Helper()
	ok, err := e.s.TakeBudget(e.ctx, key, use, limit, 24*time.Hour)
	must(t, err, "TakeBudget(%s, %s)", key, use)
	return ok
}

// testBudgetLimit: limit uses of a key are taken, the next is refused; a
// use taken again (a retry) counts once; keys are independent.
func testBudgetLimit(t *testing.T, f Factory) {
	e := newEnv(t, f)
	for _, u := range []string{"o_1", "o_2", "o_3"} {
		if !take(t, e, "auto:ann", u, 3) {
			t.Fatalf("use %s of 3 refused", u)
		}
	}
	if take(t, e, "auto:ann", "o_4", 3) {
		t.Fatal("a fourth use within the window taken (limit 3)")
	}
	if !take(t, e, "auto:ann", "o_2", 3) {
		t.Fatal("a use taken before, taken again (a retry), refused")
	}
	if !take(t, e, "auto:bob", "o_4", 3) {
		t.Fatal("another key's budget is spent by ann's uses")
	}
	if take(t, e, "auto:carl", "o_5", 0) {
		t.Fatal("a use taken with limit 0")
	}
}

// testBudgetSlidingWindow: a use is forgotten a window after it was
// taken, not at a calendar boundary.
func testBudgetSlidingWindow(t *testing.T, f Factory) {
	e := newEnv(t, f)
	if !take(t, e, "auto:ann", "o_1", 2) {
		t.Fatal("first use refused")
	}
	e.clock.Advance(10 * time.Hour)
	if !take(t, e, "auto:ann", "o_2", 2) {
		t.Fatal("second use refused")
	}
	e.clock.Advance(13 * time.Hour) // 23 h after the first
	if take(t, e, "auto:ann", "o_3", 2) {
		t.Fatal("a third use 23 h after the first taken (limit 2 per 24 h)")
	}
	e.clock.Advance(time.Hour) // 24 h after the first: it is forgotten
	if !take(t, e, "auto:ann", "o_3", 2) {
		t.Fatal("refused 24 h after the first use")
	}
	if take(t, e, "auto:ann", "o_4", 2) {
		t.Fatal("the second use (14 h old) was forgotten too")
	}
}

// testBudgetConcurrent: of many concurrent callers with distinct uses,
// exactly limit win.
func testBudgetConcurrent(t *testing.T, f Factory) {
	e := newEnv(t, f)
	const workers, limit = 24, 5
	won := make([]bool, workers)
	errs := make([]error, workers)
	concurrently(t, workers, func(i int) {
		won[i], errs[i] = e.s.TakeBudget(e.ctx, "auto:ann", fmt.Sprintf("o_%d", i), limit, 24*time.Hour)
	})
	n := 0
	for i := range won {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		if won[i] {
			n++
		}
	}
	if n != limit {
		t.Fatalf("%d of %d concurrent uses taken, want exactly %d", n, workers, limit)
	}
}

// testBudgetManyKeys: budgets of many keys come back empty after their
// window (nothing stays counted).
func testBudgetManyKeys(t *testing.T, f Factory) {
	e := newEnv(t, f)
	for i := range 50 {
		if !take(t, e, fmt.Sprintf("auto:%d", i), "o_1", 1) {
			t.Fatalf("key %d refused", i)
		}
	}
	e.clock.Advance(24 * time.Hour)
	for i := range 50 {
		if !take(t, e, fmt.Sprintf("auto:%d", i), "o_2", 1) {
			t.Fatalf("key %d still spent after the window", i)
		}
	}
}
