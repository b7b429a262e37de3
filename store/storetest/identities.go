package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

func identityTests() []testCase {
	return []testCase{
		{"BindUnbound", testBindUnbound},
		{"BindTwiceFirstWins", testBindTwiceFirstWins},
		{"BindConcurrent", testBindConcurrent},
		{"LookupNotFound", testLookupNotFound},
		{"Upgrade", testUpgradeIdentity},
		{"ClaimsIndependent", testClaimsIndependent},
		{"ClaimConcurrent", testClaimConcurrent},
		{"Unbind", testUnbindIdentity},
	}
}

func checkBinding(t *testing.T, what string, got, want store.Binding) {
	t.Helper()
	if got.Type != want.Type || got.Value != want.Value || got.CustomerID != want.CustomerID ||
		got.Verified != want.Verified || got.Channel != want.Channel || got.MessageID != want.MessageID {
		t.Errorf("%s = %+v, want %+v", what, got, want)
		return
	}
	if !closeTime(got.CreatedAt, want.CreatedAt, time.Millisecond) {
		t.Errorf("%s: CreatedAt = %v, want %v", what, got.CreatedAt, want.CreatedAt)
	}
}

func testBindUnbound(t *testing.T, f Factory) {
	e := newEnv(t, f)
	b := store.Binding{Type: "email", Value: "ann@example.com", CustomerID: "c1", Verified: true,
		Channel: "support-mail", MessageID: "m_1", CreatedAt: epoch}
	got, created, err := e.s.BindIdentity(e.ctx, b)
	must(t, err, "BindIdentity(%s:%s)", b.Type, b.Value)
	if !created {
		t.Errorf("BindIdentity of an unbound identity: created = false, want true")
	}
	checkBinding(t, "BindIdentity result", got, b)
	look, err := e.s.LookupIdentity(e.ctx, b.Type, b.Value)
	must(t, err, "LookupIdentity after bind")
	checkBinding(t, "LookupIdentity", look, b)

	// The type is part of the identity: the same value under another type
	// (and an unverified binding) is a different, unbound identity.
	b2 := store.Binding{Type: "slack", Value: "ann@example.com", CustomerID: "c2", Channel: "slack", MessageID: "m_2", CreatedAt: epoch.Add(time.Second)}
	got2, created2, err := e.s.BindIdentity(e.ctx, b2)
	must(t, err, "BindIdentity(%s:%s)", b2.Type, b2.Value)
	if !created2 {
		t.Errorf("BindIdentity(slack:ann@example.com) after email:ann@example.com was bound: created = false, want true")
	}
	checkBinding(t, "BindIdentity(slack:...) result", got2, b2)
	look, err = e.s.LookupIdentity(e.ctx, "email", "ann@example.com")
	must(t, err, "LookupIdentity(email)")
	checkBinding(t, "LookupIdentity(email) after binding slack:", look, b)
}

func testBindTwiceFirstWins(t *testing.T, f Factory) {
	e := newEnv(t, f)
	first := store.Binding{Type: "phone", Value: "+358401234567", CustomerID: "c1", Verified: true, Channel: "sms", MessageID: "m_a", CreatedAt: epoch}
	_, created, err := e.s.BindIdentity(e.ctx, first)
	must(t, err, "first BindIdentity")
	if !created {
		t.Fatalf("first BindIdentity: created = false, want true")
	}
	for _, cust := range []string{"c2", "c1"} {
		second := store.Binding{Type: "phone", Value: "+358401234567", CustomerID: cust, Channel: "whatsapp", MessageID: "m_b", CreatedAt: epoch.Add(time.Minute)}
		got, created, err := e.s.BindIdentity(e.ctx, second)
		must(t, err, "second BindIdentity to %s", cust)
		if created {
			t.Errorf("second BindIdentity to %s: created = true, want false", cust)
		}
		checkBinding(t, fmt.Sprintf("second BindIdentity to %s returned", cust), got, first)
	}
	look, err := e.s.LookupIdentity(e.ctx, "phone", "+358401234567")
	must(t, err, "LookupIdentity")
	checkBinding(t, "LookupIdentity after second bind", look, first)
}

func testBindConcurrent(t *testing.T, f Factory) {
	e := newEnv(t, f)
	const n = 32
	type result struct {
		b       store.Binding
		created bool
		err     error
	}
	res := make([]result, n)
	concurrently(t, n, func(i int) {
		b := store.Binding{Type: "email", Value: "race@example.com", CustomerID: fmt.Sprintf("c%02d", i), Verified: true, Channel: "mail", MessageID: fmt.Sprintf("m_%02d", i), CreatedAt: epoch}
		res[i].b, res[i].created, res[i].err = e.s.BindIdentity(e.ctx, b)
	})
	winners := 0
	winner := ""
	for i, r := range res {
		if r.err != nil {
			t.Errorf("BindIdentity #%d: %v", i, r.err)
			continue
		}
		if r.created {
			winners++
			winner = fmt.Sprintf("c%02d", i)
		}
	}
	if winners != 1 {
		t.Fatalf("%d concurrent BindIdentity calls: %d reported created=true, want exactly 1", n, winners)
	}
	for i, r := range res {
		if r.err == nil && r.b.CustomerID != winner {
			t.Errorf("BindIdentity #%d returned CustomerID %q, want the winner %q", i, r.b.CustomerID, winner)
		}
	}
	look, err := e.s.LookupIdentity(e.ctx, "email", "race@example.com")
	must(t, err, "LookupIdentity")
	if look.CustomerID != winner {
		t.Errorf("LookupIdentity CustomerID = %q, want the winner %q", look.CustomerID, winner)
	}
}

func testLookupNotFound(t *testing.T, f Factory) {
	e := newEnv(t, f)
	_, err := e.s.LookupIdentity(e.ctx, "email", "nobody@example.com")
	wantErr(t, err, store.ErrNotFound, "LookupIdentity of an unbound identity")
	_, err = e.s.LookupClaim(e.ctx, "email", "nobody@example.com")
	wantErr(t, err, store.ErrNotFound, "LookupClaim of an unclaimed identity")
}

func testUpgradeIdentity(t *testing.T, f Factory) {
	e := newEnv(t, f)
	b := store.Binding{Type: "email", Value: "bob@example.com", CustomerID: "c1", Verified: false, Channel: "form", MessageID: "m_1", CreatedAt: epoch}
	_, _, err := e.s.BindIdentity(e.ctx, b)
	must(t, err, "BindIdentity")

	err = e.s.UpgradeIdentity(e.ctx, "email", "bob@example.com", "c2")
	wantErr(t, err, store.ErrConflict, "UpgradeIdentity for another customer")
	look, err := e.s.LookupIdentity(e.ctx, "email", "bob@example.com")
	must(t, err, "LookupIdentity")
	if look.Verified || look.CustomerID != "c1" {
		t.Errorf("after a conflicting UpgradeIdentity: binding = %+v, want unverified and bound to c1", look)
	}

	must(t, e.s.UpgradeIdentity(e.ctx, "email", "bob@example.com", "c1"), "UpgradeIdentity")
	look, err = e.s.LookupIdentity(e.ctx, "email", "bob@example.com")
	must(t, err, "LookupIdentity after upgrade")
	want := b
	want.Verified = true
	checkBinding(t, "LookupIdentity after UpgradeIdentity", look, want)

	// Upgrading again is idempotent.
	must(t, e.s.UpgradeIdentity(e.ctx, "email", "bob@example.com", "c1"), "second UpgradeIdentity")

	err = e.s.UpgradeIdentity(e.ctx, "email", "unbound@example.com", "c1")
	wantErr(t, err, store.ErrNotFound, "UpgradeIdentity of an unbound identity")
	if _, err := e.s.LookupIdentity(e.ctx, "email", "unbound@example.com"); !wantErr(t, err, store.ErrNotFound, "LookupIdentity after UpgradeIdentity of an unbound identity") {
		t.Errorf("UpgradeIdentity of an unbound identity must not create a binding")
	}
}

func testClaimsIndependent(t *testing.T, f Factory) {
	e := newEnv(t, f)
	owner := store.Binding{Type: "email", Value: "carol@example.com", CustomerID: "c1", Verified: true, Channel: "mail", MessageID: "m_1", CreatedAt: epoch}
	_, _, err := e.s.BindIdentity(e.ctx, owner)
	must(t, err, "BindIdentity")

	// A claim of the identity by someone else lives in the claim index.
	_, err = e.s.LookupClaim(e.ctx, "email", "carol@example.com")
	wantErr(t, err, store.ErrNotFound, "LookupClaim before any claim (identity bound)")
	claim := store.Binding{Type: "email", Value: "carol@example.com", CustomerID: "c9", Channel: "form", MessageID: "m_2", CreatedAt: epoch.Add(time.Second)}
	got, created, err := e.s.BindClaim(e.ctx, claim)
	must(t, err, "BindClaim")
	if !created {
		t.Errorf("first BindClaim: created = false, want true")
	}
	checkBinding(t, "BindClaim result", got, claim)
	lc, err := e.s.LookupClaim(e.ctx, "email", "carol@example.com")
	must(t, err, "LookupClaim")
	checkBinding(t, "LookupClaim", lc, claim)
	li, err := e.s.LookupIdentity(e.ctx, "email", "carol@example.com")
	must(t, err, "LookupIdentity")
	checkBinding(t, "LookupIdentity after BindClaim", li, owner)

	// Repeated claims land on the first claimer.
	again := store.Binding{Type: "email", Value: "carol@example.com", CustomerID: "c10", Channel: "form", MessageID: "m_3", CreatedAt: epoch.Add(2 * time.Second)}
	got, created, err = e.s.BindClaim(e.ctx, again)
	must(t, err, "second BindClaim")
	if created {
		t.Errorf("second BindClaim: created = true, want false")
	}
	checkBinding(t, "second BindClaim result", got, claim)

	// A claim does not bind the identity index, and vice versa.
	claimOnly := store.Binding{Type: "email", Value: "dave@example.com", CustomerID: "c5", Channel: "form", MessageID: "m_4", CreatedAt: epoch}
	_, created, err = e.s.BindClaim(e.ctx, claimOnly)
	must(t, err, "BindClaim(dave)")
	if !created {
		t.Errorf("BindClaim(dave): created = false, want true")
	}
	_, err = e.s.LookupIdentity(e.ctx, "email", "dave@example.com")
	wantErr(t, err, store.ErrNotFound, "LookupIdentity of an identity that is only claimed")
	bound := store.Binding{Type: "email", Value: "dave@example.com", CustomerID: "c6", Verified: true, Channel: "mail", MessageID: "m_5", CreatedAt: epoch}
	got, created, err = e.s.BindIdentity(e.ctx, bound)
	must(t, err, "BindIdentity(dave) after a claim")
	if !created {
		t.Errorf("BindIdentity(dave) after only a claim existed: created = false, want true")
	}
	checkBinding(t, "BindIdentity(dave) result", got, bound)
	lc, err = e.s.LookupClaim(e.ctx, "email", "dave@example.com")
	must(t, err, "LookupClaim(dave)")
	checkBinding(t, "LookupClaim(dave) after BindIdentity", lc, claimOnly)
}

func testClaimConcurrent(t *testing.T, f Factory) {
	e := newEnv(t, f)
	const n = 16
	ids := make([]string, n)
	created := make([]bool, n)
	errs := make([]error, n)
	concurrently(t, n, func(i int) {
		b := store.Binding{Type: "email", Value: "claimed@example.com", CustomerID: fmt.Sprintf("c%02d", i), Channel: "form", CreatedAt: epoch}
		var got store.Binding
		got, created[i], errs[i] = e.s.BindClaim(e.ctx, b)
		ids[i] = got.CustomerID
	})
	winners := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("BindClaim #%d: %v", i, errs[i])
		}
		if created[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d concurrent BindClaim calls: %d created, want exactly 1", n, winners)
	}
	lc, err := e.s.LookupClaim(e.ctx, "email", "claimed@example.com")
	must(t, err, "LookupClaim")
	for i := range n {
		if errs[i] == nil && ids[i] != lc.CustomerID {
			t.Errorf("BindClaim #%d returned CustomerID %q, LookupClaim says %q", i, ids[i], lc.CustomerID)
		}
	}
}

func testUnbindIdentity(t *testing.T, f Factory) {
	e := newEnv(t, f)
	id := store.Binding{Type: "email", Value: "erin@example.com", CustomerID: "c1", Verified: true, Channel: "mail", CreatedAt: epoch}
	cl := store.Binding{Type: "email", Value: "erin@example.com", CustomerID: "c2", Channel: "form", CreatedAt: epoch}
	_, _, err := e.s.BindIdentity(e.ctx, id)
	must(t, err, "BindIdentity")
	_, _, err = e.s.BindClaim(e.ctx, cl)
	must(t, err, "BindClaim")

	// A customer that matches neither removes nothing.
	must(t, e.s.UnbindIdentity(e.ctx, "email", "erin@example.com", "c3"), "UnbindIdentity for an unrelated customer")
	if _, err := e.s.LookupIdentity(e.ctx, "email", "erin@example.com"); err != nil {
		t.Errorf("LookupIdentity after UnbindIdentity(c3): %v, want the binding to c1 kept", err)
	}
	if _, err := e.s.LookupClaim(e.ctx, "email", "erin@example.com"); err != nil {
		t.Errorf("LookupClaim after UnbindIdentity(c3): %v, want the claim of c2 kept", err)
	}

	// Unbinding the claimer removes only the claim.
	must(t, e.s.UnbindIdentity(e.ctx, "email", "erin@example.com", "c2"), "UnbindIdentity(c2)")
	_, err = e.s.LookupClaim(e.ctx, "email", "erin@example.com")
	wantErr(t, err, store.ErrNotFound, "LookupClaim after UnbindIdentity(claimer)")
	li, err := e.s.LookupIdentity(e.ctx, "email", "erin@example.com")
	if err != nil || li.CustomerID != "c1" {
		t.Errorf("LookupIdentity after UnbindIdentity(claimer) = %+v, %v; want the binding to c1 kept", li, err)
	}

	// Unbinding the owner removes the binding; the identity can be bound again.
	must(t, e.s.UnbindIdentity(e.ctx, "email", "erin@example.com", "c1"), "UnbindIdentity(c1)")
	_, err = e.s.LookupIdentity(e.ctx, "email", "erin@example.com")
	wantErr(t, err, store.ErrNotFound, "LookupIdentity after UnbindIdentity(owner)")
	rebind := store.Binding{Type: "email", Value: "erin@example.com", CustomerID: "c4", Channel: "mail", CreatedAt: epoch.Add(time.Hour)}
	got, created, err := e.s.BindIdentity(e.ctx, rebind)
	must(t, err, "BindIdentity after unbind")
	if !created || got.CustomerID != "c4" {
		t.Errorf("BindIdentity after unbind = %+v, created=%v; want a new binding to c4", got, created)
	}

	// Both indexes pointing at the same customer: both are removed.
	both := store.Binding{Type: "phone", Value: "+15555550100", CustomerID: "c5", Channel: "sms", CreatedAt: epoch}
	_, _, err = e.s.BindIdentity(e.ctx, both)
	must(t, err, "BindIdentity(phone)")
	_, _, err = e.s.BindClaim(e.ctx, both)
	must(t, err, "BindClaim(phone)")
	must(t, e.s.UnbindIdentity(e.ctx, "phone", "+15555550100", "c5"), "UnbindIdentity(phone, c5)")
	_, err = e.s.LookupIdentity(e.ctx, "phone", "+15555550100")
	wantErr(t, err, store.ErrNotFound, "LookupIdentity(phone) after unbind")
	_, err = e.s.LookupClaim(e.ctx, "phone", "+15555550100")
	wantErr(t, err, store.ErrNotFound, "LookupClaim(phone) after unbind")

	// Unbinding something that is not bound at all is not an error (erasure is idempotent).
	must(t, e.s.UnbindIdentity(e.ctx, "phone", "+15555550100", "c5"), "second UnbindIdentity")
}
