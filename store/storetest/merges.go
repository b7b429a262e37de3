package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

func mergeTests() []testCase {
	return []testCase{
		{"PutGet", testPutGetMerge},
		{"PutIdempotent", testPutMergeIdempotent},
		{"Update", testUpdateMerge},
		{"UpdateCAS", testUpdateMergeCAS},
		{"List", testListMerges},
		{"Suggestions", testListSuggestions},
	}
}

func checkMerge(t *testing.T, what string, got, want store.Merge) {
	t.Helper()
	if got.ID != want.ID || got.Kind != want.Kind || got.Winner != want.Winner || got.Loser != want.Loser ||
		got.Status != want.Status || got.Evidence != want.Evidence || got.MessageID != want.MessageID || got.By != want.By {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
	if !closeTime(got.CreatedAt, want.CreatedAt, time.Millisecond) {
		t.Errorf("%s: CreatedAt = %v, want %v", what, got.CreatedAt, want.CreatedAt)
	}
}

func mergeIDs(ms []store.Merge) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

func newMerge(id, kind, winner, loser, status string, at time.Time) store.Merge {
	return store.Merge{ID: id, Kind: kind, Winner: winner, Loser: loser, Status: status,
		Evidence: "verified email:x@example.com", MessageID: "m_" + id, By: "router", CreatedAt: at, UpdatedAt: at}
}

func testPutGetMerge(t *testing.T, f Factory) {
	e := newEnv(t, f)
	m := newMerge("mg1", "merge", "A", "B", store.MergeApplied, epoch)
	must(t, e.s.PutMerge(e.ctx, m), "PutMerge")
	got, err := e.s.GetMerge(e.ctx, "mg1")
	must(t, err, "GetMerge")
	checkMerge(t, "GetMerge", got, m)
	_, err = e.s.GetMerge(e.ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "GetMerge(missing)")
	_, err = e.s.UpdateMerge(e.ctx, "missing", func(m *store.Merge) error { m.Status = store.MergeUndone; return nil })
	wantErr(t, err, store.ErrNotFound, "UpdateMerge(missing)")
}

func testPutMergeIdempotent(t *testing.T, f Factory) {
	e := newEnv(t, f)
	m := newMerge("mg1", "merge", "A", "B", store.MergeApplied, epoch)
	must(t, e.s.PutMerge(e.ctx, m), "PutMerge")
	dup := newMerge("mg1", "suggestion", "X", "Y", store.MergeProposed, epoch.Add(time.Hour))
	must(t, e.s.PutMerge(e.ctx, dup), "second PutMerge with the same id (must not be an error)")
	got, err := e.s.GetMerge(e.ctx, "mg1")
	must(t, err, "GetMerge")
	checkMerge(t, "GetMerge after second PutMerge", got, m)
	for _, c := range []string{"X", "Y"} {
		ms, err := e.s.ListMerges(e.ctx, c)
		must(t, err, "ListMerges(%s)", c)
		if len(ms) != 0 {
			t.Errorf("ListMerges(%s) = %v; the ignored second PutMerge must not be indexed", c, mergeIDs(ms))
		}
	}
	sugg, err := e.s.ListSuggestions(e.ctx, 10)
	must(t, err, "ListSuggestions")
	if len(sugg) != 0 {
		t.Errorf("ListSuggestions = %v; the ignored second PutMerge must not be indexed", mergeIDs(sugg))
	}
}

func testUpdateMerge(t *testing.T, f Factory) {
	e := newEnv(t, f)
	m := newMerge("mg1", "merge", "A", "B", store.MergeApplied, epoch)
	must(t, e.s.PutMerge(e.ctx, m), "PutMerge")
	upd, err := e.s.UpdateMerge(e.ctx, "mg1", func(m *store.Merge) error {
		if m.Status != store.MergeApplied {
			return fmt.Errorf("fn got status %q, want %q", m.Status, store.MergeApplied)
		}
		m.Status = store.MergeUndone
		m.By = "agent-alice"
		m.UpdatedAt = epoch.Add(time.Hour)
		return nil
	})
	must(t, err, "UpdateMerge")
	want := m
	want.Status = store.MergeUndone
	want.By = "agent-alice"
	checkMerge(t, "UpdateMerge result", upd, want)
	got, err := e.s.GetMerge(e.ctx, "mg1")
	must(t, err, "GetMerge")
	checkMerge(t, "GetMerge after UpdateMerge", got, want)

	_, err = e.s.UpdateMerge(e.ctx, "mg1", func(m *store.Merge) error { m.Status = "bogus"; return errBoom })
	checkAbort(t, err, "UpdateMerge with fn returning an error")
	got, err = e.s.GetMerge(e.ctx, "mg1")
	must(t, err, "GetMerge")
	checkMerge(t, "GetMerge after aborted UpdateMerge", got, want)
}

func testUpdateMergeCAS(t *testing.T, f Factory) {
	e := newEnv(t, f)
	must(t, e.s.PutMerge(e.ctx, newMerge("mg1", "merge", "A", "B", store.MergeApplied, epoch)), "PutMerge")
	const n = 10
	errs := make([]error, n)
	concurrently(t, n, func(i int) {
		_, errs[i] = e.s.UpdateMerge(e.ctx, "mg1", func(m *store.Merge) error {
			m.Evidence += fmt.Sprintf("|%d", i)
			return nil
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("UpdateMerge #%d: %v", i, err)
		}
	}
	got, err := e.s.GetMerge(e.ctx, "mg1")
	must(t, err, "GetMerge")
	parts := strings.Split(got.Evidence, "|")[1:]
	var want []string
	for i := range n {
		want = append(want, fmt.Sprint(i))
	}
	if g := sortedCopy(parts); !sameStrings(g, sortedCopy(want)) {
		t.Errorf("after %d concurrent UpdateMerge appends: Evidence %q, want each of 0..%d exactly once (lost update)", n, got.Evidence, n-1)
	}
}

func testListMerges(t *testing.T, f Factory) {
	e := newEnv(t, f)
	ms := []store.Merge{
		newMerge("m1", "merge", "A", "B", store.MergeApplied, epoch),
		newMerge("m2", "merge", "C", "A", store.MergeApplied, epoch.Add(1*time.Second)),
		newMerge("m3", "suggestion", "A", "D", store.MergeProposed, epoch.Add(2*time.Second)),
		newMerge("m4", "merge", "X", "Y", store.MergeApplied, epoch.Add(3*time.Second)),
		newMerge("m5", "merge", "A", "E", store.MergeUndone, epoch.Add(4*time.Second)),
	}
	for _, m := range ms {
		must(t, e.s.PutMerge(e.ctx, m), "PutMerge(%s)", m.ID)
	}
	tests := []struct {
		customer string
		want     []string
	}{
		{"A", []string{"m1", "m2", "m3", "m5"}},
		{"B", []string{"m1"}},
		{"C", []string{"m2"}},
		{"D", []string{"m3"}},
		{"Y", []string{"m4"}},
		{"nobody", nil},
	}
	for _, tc := range tests {
		got, err := e.s.ListMerges(e.ctx, tc.customer)
		must(t, err, "ListMerges(%s)", tc.customer)
		if g := mergeIDs(got); !sameStrings(g, tc.want) {
			t.Errorf("ListMerges(%s) = %v, want %v (as winner or loser, oldest first)", tc.customer, g, tc.want)
		}
	}
	// The list reflects updates.
	_, err := e.s.UpdateMerge(e.ctx, "m3", func(m *store.Merge) error { m.Status = store.MergeRejected; return nil })
	must(t, err, "UpdateMerge(m3)")
	got, err := e.s.ListMerges(e.ctx, "D")
	must(t, err, "ListMerges(D)")
	if len(got) != 1 || got[0].Status != store.MergeRejected {
		t.Errorf("ListMerges(D) after rejecting m3 = %+v, want m3 with status rejected", got)
	}
}

func testListSuggestions(t *testing.T, f Factory) {
	e := newEnv(t, f)
	ms := []store.Merge{
		newMerge("s1", "suggestion", "A", "B", store.MergeProposed, epoch),
		newMerge("s2", "suggestion", "C", "D", store.MergeRejected, epoch.Add(1*time.Second)),
		newMerge("m1", "merge", "E", "F", store.MergeApplied, epoch.Add(2*time.Second)),
		newMerge("s3", "suggestion", "G", "H", store.MergeProposed, epoch.Add(3*time.Second)),
		newMerge("s4", "suggestion", "I", "J", store.MergeProposed, epoch.Add(4*time.Second)),
	}
	for _, m := range ms {
		must(t, e.s.PutMerge(e.ctx, m), "PutMerge(%s)", m.ID)
	}
	tests := []struct {
		limit int
		want  []string
	}{
		{10, []string{"s1", "s3", "s4"}},
		{2, []string{"s1", "s3"}},
		{1, []string{"s1"}},
	}
	for _, tc := range tests {
		got, err := e.s.ListSuggestions(e.ctx, tc.limit)
		must(t, err, "ListSuggestions(%d)", tc.limit)
		if g := mergeIDs(got); !sameStrings(g, tc.want) {
			t.Errorf("ListSuggestions(%d) = %v, want %v (proposed only, oldest first)", tc.limit, g, tc.want)
		}
	}
	// Deciding a suggestion removes it from the list; proposing one adds it.
	_, err := e.s.UpdateMerge(e.ctx, "s1", func(m *store.Merge) error { m.Status = store.MergeRejected; return nil })
	must(t, err, "UpdateMerge(s1 -> rejected)")
	_, err = e.s.UpdateMerge(e.ctx, "s2", func(m *store.Merge) error { m.Status = store.MergeProposed; return nil })
	must(t, err, "UpdateMerge(s2 -> proposed)")
	got, err := e.s.ListSuggestions(e.ctx, 10)
	must(t, err, "ListSuggestions after updates")
	if g := mergeIDs(got); !sameStrings(g, []string{"s2", "s3", "s4"}) {
		t.Errorf("ListSuggestions after rejecting s1 and re-proposing s2 = %v, want [s2 s3 s4]", g)
	}
}
