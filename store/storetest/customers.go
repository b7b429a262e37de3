package storetest

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

func customerTests() []testCase {
	return []testCase{
		{"CreateGet", testCreateGetCustomer},
		{"CreateIdempotent", testCreateCustomerIdempotent},
		{"NotFound", testCustomerNotFound},
		{"Update", testUpdateCustomer},
		{"UpdateCAS", testUpdateCustomerCAS},
		{"UpdateAbort", testUpdateCustomerAbort},
		{"List", testListCustomers},
		{"Delete", testDeleteCustomer},
	}
}

func identityKeys(ids []connectors.Identity) []string {
	k := make([]string, len(ids))
	for i, id := range ids {
		k[i] = fmt.Sprintf("%s/%v", id.Key(), id.Verified)
	}
	return k
}

func checkCustomer(t *testing.T, what string, got, want store.Customer) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.MergedInto != want.MergedInto {
		t.Errorf("%s: ID/Name/MergedInto = %q/%q/%q, want %q/%q/%q", what, got.ID, got.Name, got.MergedInto, want.ID, want.Name, want.MergedInto)
	}
	if g, w := identityKeys(got.Identities), identityKeys(want.Identities); !sameStrings(g, w) {
		t.Errorf("%s: Identities = %v, want %v (in order)", what, g, w)
	}
	if !sameStrings(got.Members, want.Members) {
		t.Errorf("%s: Members = %q, want %q", what, got.Members, want.Members)
	}
	if !want.CreatedAt.IsZero() && !closeTime(got.CreatedAt, want.CreatedAt, time.Millisecond) {
		t.Errorf("%s: CreatedAt = %v, want %v", what, got.CreatedAt, want.CreatedAt)
	}
}

func sampleCustomer(id string) store.Customer {
	return store.Customer{
		ID:   id,
		Name: "Ann Example",
		Identities: []connectors.Identity{
			{Type: connectors.Email, Value: "ann@example.com", Verified: true},
			{Type: connectors.Phone, Value: "+358401234567"},
		},
		CreatedAt: epoch,
		UpdatedAt: epoch,
	}
}

func testCreateGetCustomer(t *testing.T, f Factory) {
	e := newEnv(t, f)
	c := sampleCustomer("cust-1")
	must(t, e.s.CreateCustomer(e.ctx, c), "CreateCustomer")
	got, err := e.s.GetCustomer(e.ctx, "cust-1")
	must(t, err, "GetCustomer")
	checkCustomer(t, "GetCustomer", got, c)

	// Merge links round-trip too.
	m := store.Customer{ID: "cust-2", Name: "Loser", MergedInto: "cust-3", CreatedAt: epoch}
	w := store.Customer{ID: "cust-3", Name: "Winner", Members: []string{"cust-2", "cust-4"}, CreatedAt: epoch}
	must(t, e.s.CreateCustomer(e.ctx, m), "CreateCustomer(merged)")
	must(t, e.s.CreateCustomer(e.ctx, w), "CreateCustomer(winner)")
	got, err = e.s.GetCustomer(e.ctx, "cust-2")
	must(t, err, "GetCustomer(cust-2)")
	checkCustomer(t, "GetCustomer(cust-2)", got, m)
	got, err = e.s.GetCustomer(e.ctx, "cust-3")
	must(t, err, "GetCustomer(cust-3)")
	checkCustomer(t, "GetCustomer(cust-3)", got, w)
}

func testCreateCustomerIdempotent(t *testing.T, f Factory) {
	e := newEnv(t, f)
	c := sampleCustomer("cust-1")
	must(t, e.s.CreateCustomer(e.ctx, c), "CreateCustomer")
	before, err := e.s.GetCustomer(e.ctx, "cust-1")
	must(t, err, "GetCustomer")
	other := store.Customer{ID: "cust-1", Name: "Somebody Else", CreatedAt: epoch.Add(time.Hour)}
	must(t, e.s.CreateCustomer(e.ctx, other), "second CreateCustomer of an existing id (must not be an error)")
	got, err := e.s.GetCustomer(e.ctx, "cust-1")
	must(t, err, "GetCustomer after second create")
	checkCustomer(t, "GetCustomer after second create", got, c)
	if got.Version != before.Version {
		t.Errorf("second CreateCustomer changed Version %d -> %d", before.Version, got.Version)
	}
}

func testCustomerNotFound(t *testing.T, f Factory) {
	e := newEnv(t, f)
	_, err := e.s.GetCustomer(e.ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "GetCustomer(missing)")
	called := false
	_, err = e.s.UpdateCustomer(e.ctx, "missing", func(c *store.Customer) error { called = true; c.Name = "x"; return nil })
	wantErr(t, err, store.ErrNotFound, "UpdateCustomer(missing)")
	_, err = e.s.GetCustomer(e.ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "GetCustomer after UpdateCustomer(missing)")
	_ = called // fn may or may not be called; it must not create the record
}

func testUpdateCustomer(t *testing.T, f Factory) {
	e := newEnv(t, f)
	c := sampleCustomer("cust-1")
	must(t, e.s.CreateCustomer(e.ctx, c), "CreateCustomer")
	before, err := e.s.GetCustomer(e.ctx, "cust-1")
	must(t, err, "GetCustomer")
	upd, err := e.s.UpdateCustomer(e.ctx, "cust-1", func(c *store.Customer) error {
		if c.ID != "cust-1" || c.Name != "Ann Example" {
			return fmt.Errorf("fn got %+v, want the stored record", *c)
		}
		c.Name = "Ann Renamed"
		c.MergedInto = "cust-9"
		c.Identities = append(c.Identities, connectors.Identity{Type: connectors.Slack, Value: "U123", Verified: true})
		return nil
	})
	must(t, err, "UpdateCustomer")
	want := c
	want.Name = "Ann Renamed"
	want.MergedInto = "cust-9"
	want.Identities = append(append([]connectors.Identity(nil), c.Identities...), connectors.Identity{Type: connectors.Slack, Value: "U123", Verified: true})
	checkCustomer(t, "UpdateCustomer result", upd, want)
	if upd.Version <= before.Version {
		t.Errorf("UpdateCustomer: Version %d -> %d, want it incremented", before.Version, upd.Version)
	}
	got, err := e.s.GetCustomer(e.ctx, "cust-1")
	must(t, err, "GetCustomer after update")
	checkCustomer(t, "GetCustomer after update", got, want)
	if got.Version != upd.Version {
		t.Errorf("GetCustomer Version = %d, UpdateCustomer returned %d", got.Version, upd.Version)
	}
}

func testUpdateCustomerCAS(t *testing.T, f Factory) {
	e := newEnv(t, f)
	must(t, e.s.CreateCustomer(e.ctx, store.Customer{ID: "cust-1", Name: "Ann", CreatedAt: epoch}), "CreateCustomer")
	before, err := e.s.GetCustomer(e.ctx, "cust-1")
	must(t, err, "GetCustomer")
	const n = 20
	errs := make([]error, n)
	concurrently(t, n, func(i int) {
		_, errs[i] = e.s.UpdateCustomer(e.ctx, "cust-1", func(c *store.Customer) error {
			c.Identities = append(c.Identities, connectors.Identity{Type: connectors.Email, Value: fmt.Sprintf("u%02d@example.com", i)})
			return nil
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("UpdateCustomer #%d: %v", i, err)
		}
	}
	got, err := e.s.GetCustomer(e.ctx, "cust-1")
	must(t, err, "GetCustomer")
	var vals []string
	for _, id := range got.Identities {
		vals = append(vals, id.Value)
	}
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("u%02d@example.com", i))
	}
	if g := sortedCopy(vals); !sameStrings(g, want) {
		t.Errorf("after %d concurrent UpdateCustomer appends: identities = %v, want all of %v exactly once (lost or duplicated update)", n, g, want)
	}
	if got.Version != before.Version+n {
		t.Errorf("Version after %d updates = %d, want %d (incremented once per update)", n, got.Version, before.Version+n)
	}
}

func testUpdateCustomerAbort(t *testing.T, f Factory) {
	e := newEnv(t, f)
	c := sampleCustomer("cust-1")
	must(t, e.s.CreateCustomer(e.ctx, c), "CreateCustomer")
	before, err := e.s.GetCustomer(e.ctx, "cust-1")
	must(t, err, "GetCustomer")
	_, err = e.s.UpdateCustomer(e.ctx, "cust-1", func(c *store.Customer) error {
		c.Name = "must not be stored"
		return errBoom
	})
	checkAbort(t, err, "UpdateCustomer with fn returning an error")
	got, err := e.s.GetCustomer(e.ctx, "cust-1")
	must(t, err, "GetCustomer")
	checkCustomer(t, "GetCustomer after aborted update", got, c)
	if got.Version != before.Version {
		t.Errorf("aborted UpdateCustomer changed Version %d -> %d", before.Version, got.Version)
	}
}

func customerIDs(cs []store.Customer) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

func testListCustomers(t *testing.T, f Factory) {
	e := newEnv(t, f)
	got, err := e.s.ListCustomers(e.ctx, "", 10)
	must(t, err, "ListCustomers on an empty store")
	if len(got) != 0 {
		t.Errorf("ListCustomers on an empty store = %v, want none", customerIDs(got))
	}
	const n = 25
	var all []string
	for i := range n {
		all = append(all, fmt.Sprintf("c-%02d", i))
	}
	// Create in a scrambled order; listing is by id, not insertion.
	for i := range n {
		id := all[(i*7)%n]
		must(t, e.s.CreateCustomer(e.ctx, store.Customer{ID: id, Name: "n" + id, CreatedAt: epoch}), "CreateCustomer(%s)", id)
	}
	sort.Strings(all)

	// Page through with limit 10.
	var seen []string
	after := ""
	for page := 0; ; page++ {
		if page > n {
			t.Fatalf("ListCustomers paging did not end after %d pages", page)
		}
		cs, err := e.s.ListCustomers(e.ctx, after, 10)
		must(t, err, "ListCustomers(after=%q)", after)
		if len(cs) > 10 {
			t.Fatalf("ListCustomers(limit=10) returned %d", len(cs))
		}
		if len(cs) == 0 {
			break
		}
		for _, c := range cs {
			if c.ID <= after {
				t.Errorf("ListCustomers(after=%q) returned %q, not after it", after, c.ID)
			}
			if c.Name != "n"+c.ID {
				t.Errorf("ListCustomers returned %q with Name %q, want %q", c.ID, c.Name, "n"+c.ID)
			}
		}
		seen = append(seen, customerIDs(cs)...)
		after = cs[len(cs)-1].ID
	}
	if !sameStrings(seen, all) {
		t.Errorf("paging ListCustomers by 10 gave %v, want %v (ascending, no duplicates, no gaps)", seen, all)
	}

	// Explicit pages.
	tests := []struct {
		after string
		limit int
		want  []string
	}{
		{"", 3, all[:3]},
		{"c-09", 10, all[10:20]},
		{"c-20", 10, all[21:]},
		{"c-05x", 2, []string{"c-06", "c-07"}}, // after need not exist
		{"c-24", 10, nil},
		{"a", 1, []string{"c-00"}},
	}
	for _, tc := range tests {
		cs, err := e.s.ListCustomers(e.ctx, tc.after, tc.limit)
		must(t, err, "ListCustomers(%q, %d)", tc.after, tc.limit)
		if g := customerIDs(cs); !sameStrings(g, tc.want) {
			t.Errorf("ListCustomers(after=%q, limit=%d) = %v, want %v", tc.after, tc.limit, g, tc.want)
		}
	}
}

func testDeleteCustomer(t *testing.T, f Factory) {
	e := newEnv(t, f)
	for _, id := range []string{"a", "b", "c"} {
		must(t, e.s.CreateCustomer(e.ctx, store.Customer{ID: id, CreatedAt: epoch}), "CreateCustomer(%s)", id)
	}
	must(t, e.s.DeleteCustomer(e.ctx, "b"), "DeleteCustomer(b)")
	_, err := e.s.GetCustomer(e.ctx, "b")
	wantErr(t, err, store.ErrNotFound, "GetCustomer after DeleteCustomer")
	cs, err := e.s.ListCustomers(e.ctx, "", 10)
	must(t, err, "ListCustomers")
	if g := customerIDs(cs); !sameStrings(g, []string{"a", "c"}) {
		t.Errorf("ListCustomers after deleting b = %v, want [a c]", g)
	}
	must(t, e.s.DeleteCustomer(e.ctx, "b"), "DeleteCustomer of a missing customer (must not be an error)")
	must(t, e.s.DeleteCustomer(e.ctx, "never"), "DeleteCustomer(never)")
	// The id can be created again after erasure.
	must(t, e.s.CreateCustomer(e.ctx, store.Customer{ID: "b", Name: "new b", CreatedAt: epoch}), "CreateCustomer(b) again")
	got, err := e.s.GetCustomer(e.ctx, "b")
	must(t, err, "GetCustomer(b) after re-create")
	if got.Name != "new b" {
		t.Errorf("re-created customer Name = %q, want %q", got.Name, "new b")
	}
}
