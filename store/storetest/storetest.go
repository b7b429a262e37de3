package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// Factory opens a fresh, empty store for one test. clock is the clock the
// backend must use for leases and timestamps it sets itself; q are the queue options.
type Factory func(t *testing.T, clock store.Clock, q store.QueueOptions) store.Store

// testQueueOptions are the queue options every subtest passes to the
// factory (small, so redelivery and retries happen within a second).
var testQueueOptions = store.QueueOptions{
	MaxAttempts:  3,
	ClaimAfter:   300 * time.Millisecond,
	RetryBackoff: 50 * time.Millisecond,
}

const (
	// waitTimeout bounds every wait for something that should happen.
	waitTimeout = 5 * time.Second
	// callTimeout bounds the context of a whole subtest, so a hung backend
	// call fails the test instead of hanging the run.
	callTimeout = 2 * time.Minute
)

// epoch is the start of the fake clock; it has a nanosecond part on purpose
// (timestamps must round-trip).
var epoch = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

type testCase struct {
	name string
	fn   func(t *testing.T, f Factory)
}

type group struct {
	name  string
	cases []testCase
}

func groups() []group {
	return []group{
		{"Identities", identityTests()},
		{"Customers", customerTests()},
		{"Merges", mergeTests()},
		{"Conversations", conversationTests()},
		{"Entries", entryTests()},
		{"AppendToConversation", appendToConversationTests()},
		{"Channels", channelTests()},
		{"Queues", queueTests()},
		{"Leases", leaseTests()},
		{"Checkpoints", checkpointTests()},
		{"ProviderIDs", providerIDTests()},
		{"Sessions", sessionTests()},
		{"Events", eventTests()},
		{"Audit", auditTests()},
		{"Consents", consentTests()},
		{"Counters", counterTests()},
		{"Quarantine", quarantineTests()},
		{"Webhooks", webhookTests()},
		{"Ping", []testCase{{"Ping", testPing}}},
		{"Rights", rightsTests()},
		{"ConsentLog", consentLogTests()},
		{"SelfService", selfServiceTests()},
		{"Timers", timerTests()},
		{"Labels", labelTests()},
		{"Budgets", budgetTests()},
	}
}

// Run runs the conformance suite against the backend opened by newStore.
// Every subtest opens its own store.
func Run(t *testing.T, newStore Factory) {
	if newStore == nil {
		t.Fatal("storetest.Run: nil Factory")
	}
	for _, g := range groups() {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) { c.fn(t, newStore) })
			}
		})
	}
}

// env is one subtest's store with its clock and context.
type env struct {
	s     store.Store
	clock *store.FakeClock // nil when the store runs on the system clock
	ctx   context.Context
}

// newEnv opens a store on a fake clock starting at epoch.
func newEnv(t *testing.T, f Factory) *env {
	t.Helper()
	clock := store.NewFakeClock(epoch)
	e := openEnv(t, f, clock.Now, testQueueOptions)
	e.clock = clock
	return e
}

// newQueueEnv opens a store on the system clock (queue redelivery is
// measured in real time) with the given queue options.
func newQueueEnv(t *testing.T, f Factory, q store.QueueOptions) *env {
	t.Helper()
	return openEnv(t, f, store.SystemClock, q)
}

func openEnv(t *testing.T, f Factory, clock store.Clock, q store.QueueOptions) *env {
	t.Helper()
	s := f(t, clock, q)
	if s == nil {
		t.Fatal("factory returned a nil store")
	}
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	t.Cleanup(cancel)
	return &env{s: s, ctx: ctx}
}

// must fails the test now when err is not nil.
func must(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", fmt.Sprintf(what, args...), err)
	}
}

// wantErr checks errors.Is(err, want).
func wantErr(t *testing.T, err, want error, what string, args ...any) bool {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error = %v, want errors.Is(err, %v)", fmt.Sprintf(what, args...), err, want)
		return false
	}
	return true
}

// errBoom is returned by update functions that abort.
var errBoom = errors.New("storetest: boom (fn aborted)")

// checkAbort checks that an Update* call whose fn returned errBoom returned
// errBoom as is.
func checkAbort(t *testing.T, err error, what string) {
	t.Helper()
	switch {
	case err == errBoom:
	case errors.Is(err, errBoom):
		t.Errorf("%s: fn's error was wrapped (%v); the contract says it is returned as is", what, err)
	default:
		t.Errorf("%s: error = %v, want the error returned by fn (%v)", what, err, errBoom)
	}
}

// closeTime reports whether a and b are within tol of each other.
func closeTime(a, b time.Time, tol time.Duration) bool {
	d := a.Sub(b)
	if d < 0 {
		d = -d
	}
	return d <= tol
}

// concurrently runs fn(i) for i in [0, n) in n goroutines released at once,
// and waits for all of them (with a deadline).
func concurrently(t *testing.T, n int, fn func(i int)) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%d concurrent calls did not finish within 60s", n)
	}
}

// waitFor polls cond until it is true or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// dupes returns the values occurring more than once.
func dupes(s []string) []string {
	seen := map[string]int{}
	var d []string
	for _, v := range s {
		seen[v]++
		if seen[v] == 2 {
			d = append(d, v)
		}
	}
	return d
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return "[" + strings.Join(q, " ") + "]"
}

func testPing(t *testing.T, f Factory) {
	e := newEnv(t, f)
	if err := e.s.Ping(e.ctx); err != nil {
		t.Fatalf("Ping = %v, want nil", err)
	}
}
