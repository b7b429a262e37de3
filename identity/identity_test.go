package identity_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/hubtest"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

func backends(t *testing.T, f func(t *testing.T, st store.Store)) { hubtest.Backends(t, f) }

func embeddedStore(t *testing.T) store.Store { return hubtest.Embedded(t) }

var errAudit = errors.New("audit log unavailable")

// auditStore fails AppendAudit while fail is set.
type auditStore struct {
	store.Store
	fail atomic.Bool
}

func (s *auditStore) AppendAudit(ctx context.Context, r store.AuditRecord) error {
	if s.fail.Load() {
		return errAudit
	}
	return s.Store.AppendAudit(ctx, r)
}

var seq atomic.Int64

// msg is a message on channel "api"; identities are "type:value", verified
// unless prefixed with "~".
func msg(keys ...string) connectors.Message {
	n := seq.Add(1)
	m := connectors.Message{ID: fmt.Sprintf("api:m%d", n), Channel: "api",
		ReceivedAt: time.Date(2026, 1, 1, 0, 0, int(n), 0, time.UTC)}
	for _, k := range keys {
		verified := !strings.HasPrefix(k, "~")
		id, err := connectors.ParseKey(strings.TrimPrefix(k, "~"))
		if err != nil {
			panic(err)
		}
		id.Verified = verified
		m.Identities = append(m.Identities, id)
	}
	return m
}

func resolve(t *testing.T, r *identity.Resolver, m connectors.Message) identity.Resolution {
	t.Helper()
	res, err := r.Resolve(context.Background(), m)
	if err != nil {
		t.Fatalf("resolve %s: %v", m.ID, err)
	}
	return res
}

func rootOf(t *testing.T, st store.Store, id string) string {
	t.Helper()
	c, err := timeline.Root(context.Background(), st, id)
	if err != nil {
		t.Fatalf("root of %s: %v", id, err)
	}
	return c.ID
}

func audits(t *testing.T, st store.Store, action string) []store.AuditRecord {
	t.Helper()
	all, err := st.ListAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditRecord
	for _, a := range all {
		if a.Action == action {
			out = append(out, a)
		}
	}
	return out
}

func TestVerifiedIdentitiesMergeClaimsSuggest(t *testing.T) {
	st := embeddedStore(t)
	m := identity.NewMetrics(nil)
	r := identity.NewResolver(st, store.SystemClock, m, nil)

	a := resolve(t, r, msg("email:ann@example.com"))
	if again := resolve(t, r, msg("email:ann@example.com")); again.Customer != a.Customer {
		t.Fatalf("same verified email: customers %s and %s", a.Customer, again.Customer)
	}
	b := resolve(t, r, msg("phone:+358401234567"))
	if b.Customer == a.Customer {
		t.Fatal("a new phone number joined an unrelated customer")
	}
	// One message carrying both verified identities: one person, the older wins.
	both := resolve(t, r, msg("email:ann@example.com", "phone:+358401234567"))
	if both.Customer != a.Customer || both.Merges != 1 {
		t.Fatalf("linking message: customer %s merges %d, want %s and 1", both.Customer, both.Merges, a.Customer)
	}
	if got := rootOf(t, st, b.Customer); got != a.Customer {
		t.Fatalf("after the merge %s resolves to %s, want %s", b.Customer, got, a.Customer)
	}
	if got := len(audits(t, st, "customer.merge")); got != 1 {
		t.Fatalf("%d customer.merge audit records, want 1", got)
	}

	// A claim of someone else's verified email never joins their timeline.
	c := resolve(t, r, msg("~email:ann@example.com", "phone:+358409999999"))
	if c.Customer == a.Customer || c.Suggestions != 1 {
		t.Fatalf("claiming message: customer %s suggestions %d, want a new customer and 1", c.Customer, c.Suggestions)
	}
	sg, err := st.ListSuggestions(context.Background(), 10)
	if err != nil || len(sg) != 1 || sg[0].Winner != a.Customer || sg[0].Loser != c.Customer {
		t.Fatalf("suggestions %+v (%v), want %s ← %s", sg, err, a.Customer, c.Customer)
	}
	if _, err := r.Decide(context.Background(), sg[0].ID, true, "alice"); err != nil {
		t.Fatal(err)
	}
	if got := rootOf(t, st, c.Customer); got != a.Customer {
		t.Fatalf("accepted suggestion: %s resolves to %s, want %s", c.Customer, got, a.Customer)
	}
	if got := [2]float64{testutil.ToFloat64(m.Merges), testutil.ToFloat64(m.Suggested)}; got != [2]float64{1, 1} {
		t.Fatalf("metrics merges, suggestions = %v, want [1 1] (an agent's accept is not automatic)", got)
	}
}

// A failed unmerge audit changes nothing and is returned (the API answers
// 5xx); the retry unmerges and audits.
func TestUnmergeAuditFailureIsReturnedAndRetryable(t *testing.T) {
	st := &auditStore{Store: embeddedStore(t)}
	r := identity.NewResolver(st, store.SystemClock, nil, nil)
	a := resolve(t, r, msg("email:bo@example.com"))
	b := resolve(t, r, msg("phone:+358402222222"))
	_, m, err := r.Merge(context.Background(), a.Customer, b.Customer, "alice", "same person", "")
	if err != nil {
		t.Fatal(err)
	}

	st.fail.Store(true)
	if _, err := r.Unmerge(context.Background(), m.ID, "alice"); !errors.Is(err, errAudit) {
		t.Fatalf("unmerge with the audit log down: err %v, want %v", err, errAudit)
	}
	if got := rootOf(t, st, m.Loser); got != m.Winner {
		t.Fatalf("failed unmerge changed the customers: %s resolves to %s, want %s", m.Loser, got, m.Winner)
	}
	if got, _ := st.GetMerge(context.Background(), m.ID); got.Status != store.MergeApplied {
		t.Fatalf("failed unmerge: merge is %s, want %s", got.Status, store.MergeApplied)
	}

	st.fail.Store(false)
	undone, err := r.Unmerge(context.Background(), m.ID, "alice")
	if err != nil {
		t.Fatalf("retried unmerge: %v", err)
	}
	if undone.Status != store.MergeUndone || rootOf(t, st, m.Loser) != m.Loser || rootOf(t, st, m.Winner) != m.Winner {
		t.Fatalf("retried unmerge: status %s, roots %s %s", undone.Status, rootOf(t, st, m.Loser), rootOf(t, st, m.Winner))
	}
	if got := audits(t, st, "customer.unmerge"); len(got) != 1 || got[0].Detail != m.ID || got[0].Actor != "alice" {
		t.Fatalf("unmerge audit records %+v, want one by alice for %s", got, m.ID)
	}
}

// A merge is audited before it is made: with the audit log down the
// merge fails and the customers stay apart; retried when the log is back,
// it is made and audited once (a second try of the same merge, as a
// redelivered message would make, writes no second record).
func TestMergeAuditFailureFailsTheMerge(t *testing.T) {
	st := &auditStore{Store: embeddedStore(t)}
	r := identity.NewResolver(st, store.SystemClock, nil, nil)
	a := resolve(t, r, msg("email:cy@example.com"))
	b := resolve(t, r, msg("phone:+358403333333"))

	st.fail.Store(true)
	if _, _, err := r.Merge(context.Background(), a.Customer, b.Customer, "alice", "same person", ""); !errors.Is(err, errAudit) {
		t.Fatalf("merge with the audit log down: %v, want the audit error", err)
	}
	if rootOf(t, st, a.Customer) == rootOf(t, st, b.Customer) {
		t.Fatal("the customers were merged although the merge could not be audited")
	}
	st.fail.Store(false)
	root, m, err := r.Merge(context.Background(), a.Customer, b.Customer, "alice", "same person", "")
	if err != nil || root != m.Winner || rootOf(t, st, m.Loser) != m.Winner {
		t.Fatalf("merge after the log is back: %v; root %s, loser %s resolves to %s", err, root, m.Loser, rootOf(t, st, m.Loser))
	}
	if _, _, err := r.Merge(context.Background(), a.Customer, b.Customer, "alice", "same person", ""); err != nil {
		t.Fatal(err)
	}
	as, err := st.ListAudit(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range as {
		if x.Action == "customer.merge" {
			n++
			if x.Actor != "alice" || x.Detail != "merge "+m.ID {
				t.Errorf("merge record %+v", x)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d customer.merge records, want 1: %+v", n, as)
	}
}

// DESIGN invariant 5 at the resolver: links between many customers
// resolved at once end with one root.
func TestConcurrentLinksConvergeOnOneRoot(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		r := identity.NewResolver(st, store.SystemClock, nil, nil)
		const n = 10
		key := func(i int) string { return fmt.Sprintf("email:p%d-%d@example.com", i, seq.Load()) }
		keys := make([]string, n)
		for i := range keys {
			keys[i] = key(i)
			resolve(t, r, msg(keys[i]))
		}
		var wg sync.WaitGroup
		for i := n - 2; i >= 0; i-- {
			m := msg(keys[i], keys[i+1])
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := r.Resolve(context.Background(), m); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		roots := map[string]bool{}
		for _, k := range keys {
			id, _ := connectors.ParseKey(k)
			b, err := st.LookupIdentity(context.Background(), id.Type, id.Value)
			if err != nil {
				t.Fatal(err)
			}
			roots[rootOf(t, st, b.CustomerID)] = true
		}
		if len(roots) != 1 {
			t.Fatalf("%d identities linked pairwise resolve to %d roots, want 1: %v", n, len(roots), roots)
		}
	})
}
