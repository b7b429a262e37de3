package identity_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/erasure"
	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// uniq makes identity values unique per test run (the Redis backend is
// shared between runs under prefixes, the counters are not).
func uniq(s string) string { return fmt.Sprintf(s, seq.Add(1)) }

func lookup(t *testing.T, r *identity.Resolver, key string) identity.Holders {
	t.Helper()
	id, err := connectors.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	h, err := r.Lookup(context.Background(), id)
	if err != nil {
		t.Fatalf("lookup %s: %v", key, err)
	}
	return h
}

func suggestion(t *testing.T, st store.Store, id string) store.Merge {
	t.Helper()
	m, err := st.GetMerge(context.Background(), id)
	if err != nil {
		t.Fatalf("suggestion %s: %v", id, err)
	}
	return m
}

// Issue 22, first case: a web form's claimed email made X; a verified
// message from that address makes Y. They are linked by a suggestion with
// the evidence, and a lookup of the address finds Y and says X claims it.
// The same for phones, and in the other direction (a claim of an address
// verified for someone else).
func TestVerifiedIdentityClaimedByAnotherRaisesSuggestion(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		r := identity.NewResolver(st, store.SystemClock, nil, nil)
		for _, key := range []string{uniq("email:form%d@example.com"), fmt.Sprintf("phone:+35840%07d", seq.Add(1))} {
			t.Run(key[:5], func(t *testing.T) {
				x := resolve(t, r, msg("~"+key))
				if !x.Created || x.SuggestionRaised {
					t.Fatalf("first claim: %+v, want a new customer and no suggestion", x)
				}
				verified := msg(key)
				y := resolve(t, r, verified)
				if y.Customer == x.Customer {
					t.Fatal("a verified message joined the customer that only claimed the identity")
				}
				if !y.Created || !y.SuggestionRaised || len(y.SuggestionIDs) != 1 {
					t.Fatalf("verified message: %+v, want a new customer and one suggestion", y)
				}
				s := suggestion(t, st, y.SuggestionIDs[0])
				if s.Status != store.MergeProposed || s.Winner != y.Customer || s.Loser != x.Customer ||
					s.EvidenceKind != identity.EvidenceVerifiedOfClaim || s.Identity != key || s.Channel != "api" || s.MessageID != verified.ID {
					t.Fatalf("suggestion %+v, want proposed %s ← %s on %s from %s", s, y.Customer, x.Customer, key, verified.ID)
				}
				h := lookup(t, r, key)
				if h.Customer != y.Customer || !h.Verified || !slices.Equal(h.ClaimedBy, []string{x.Customer}) {
					t.Fatalf("lookup %s: %+v, want %s verified, claimed by %s", key, h, y.Customer, x.Customer)
				}
				// The claim index keeps X as the claimer: later claims join X.
				if again := resolve(t, r, msg("~"+key)); again.Customer != x.Customer {
					t.Fatalf("a later claim went to %s, want the claimer %s", again.Customer, x.Customer)
				}
			})
		}
		// Other direction: verified first, then claimed by someone new.
		for _, key := range []string{uniq("email:ver%d@example.com"), fmt.Sprintf("phone:+35843%07d", seq.Add(1))} {
			t.Run("claim-after-verified-"+key[:5], func(t *testing.T) {
				y := resolve(t, r, msg(key))
				claim := msg("~" + key)
				z := resolve(t, r, claim)
				if z.Customer == y.Customer || !z.SuggestionRaised || len(z.SuggestionIDs) != 1 {
					t.Fatalf("claim of a verified identity: %+v, want another customer and a suggestion", z)
				}
				s := suggestion(t, st, z.SuggestionIDs[0])
				if s.EvidenceKind != identity.EvidenceClaimOfVerified || s.Winner != y.Customer || s.Loser != z.Customer || s.Identity != key || s.MessageID != claim.ID {
					t.Fatalf("suggestion %+v, want kind %s for %s ← %s", s, identity.EvidenceClaimOfVerified, y.Customer, z.Customer)
				}
				if h := lookup(t, r, key); h.Customer != y.Customer || !slices.Equal(h.ClaimedBy, []string{z.Customer}) {
					t.Fatalf("lookup %s: %+v, want %s claimed by %s", key, h, y.Customer, z.Customer)
				}
			})
		}
	})
}

// A rejected suggestion is remembered: the same pair on the same evidence
// is not proposed again; other evidence proposes it again.
func TestRejectedSuggestionIsRemembered(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		r := identity.NewResolver(st, store.SystemClock, nil, nil)
		a, b := uniq("email:rej%d@example.com"), fmt.Sprintf("phone:+35841%07d", seq.Add(1))
		x := resolve(t, r, msg(a))
		y := resolve(t, r, msg("~"+a, b))
		if !y.SuggestionRaised {
			t.Fatalf("claim of a verified email: %+v, want a suggestion", y)
		}
		id := y.SuggestionIDs[0]
		if _, err := r.Decide(ctx, id, false, "alice"); err != nil {
			t.Fatal(err)
		}
		again := resolve(t, r, msg("~"+a, b))
		if again.SuggestionRaised || suggestion(t, st, id).Status != store.MergeRejected {
			t.Fatalf("same evidence after a reject: %+v, suggestion %s, want no suggestion", again, suggestion(t, st, id).Status)
		}
		if sg, _ := st.ListSuggestions(ctx, 100); slices.ContainsFunc(sg, func(m store.Merge) bool { return m.ID == id }) {
			t.Fatal("a rejected suggestion is in the queue again")
		}
		// New evidence: x claims y's phone.
		other := resolve(t, r, msg(a, "~"+b))
		if other.Customer != x.Customer || !other.SuggestionRaised || other.SuggestionIDs[0] != id {
			t.Fatalf("new evidence: %+v, want %s with suggestion %s raised again", other, x.Customer, id)
		}
		if s := suggestion(t, st, id); s.Status != store.MergeProposed || s.Identity != b {
			t.Fatalf("suggestion after new evidence: %+v, want proposed on %s", s, b)
		}
	})
}

func identityKeys(ids []connectors.Identity) []string {
	var out []string
	for _, id := range ids {
		out = append(out, id.Key())
	}
	slices.Sort(out)
	return out
}

func appendEntry(t *testing.T, st store.Store, m connectors.Message, cust string) {
	t.Helper()
	now := time.Now().UTC()
	if _, _, err := st.AppendEntry(context.Background(), store.Entry{ID: m.ID, CustomerID: cust, Channel: m.Channel, Kind: store.KindMessage,
		Text: m.ID, OccurredAt: m.ReceivedAt, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
}

func timelineOf(t *testing.T, st store.Store, id string) (timeline.View, []store.Entry) {
	t.Helper()
	v, err := timeline.Load(context.Background(), st, id)
	if err != nil {
		t.Fatal(err)
	}
	es, _, err := timeline.Page(context.Background(), st, v, "", 500)
	if err != nil {
		t.Fatal(err)
	}
	return v, es
}

// Issue 22, second case: after an unmerge every identity and entry belongs
// to exactly one of the two customers, as before the merge; while merged,
// the loser's entries carry the winner's id.
func TestUnmergeIsExact(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		r := identity.NewResolver(st, store.SystemClock, nil, nil)
		phone, email := fmt.Sprintf("phone:+35842%07d", seq.Add(1)), uniq("email:um%d@example.com")
		ma, mb := msg(phone), msg(email)
		a := resolve(t, r, ma)
		appendEntry(t, st, ma, a.Customer)
		b := resolve(t, r, mb)
		appendEntry(t, st, mb, b.Customer)
		link := msg(email, phone)
		res := resolve(t, r, link)
		if res.Merges != 1 || res.Customer != a.Customer {
			t.Fatalf("linking message: %+v, want a merge into %s", res, a.Customer)
		}
		_, es := timelineOf(t, st, b.Customer)
		if len(es) != 2 {
			t.Fatalf("merged timeline has %d entries, want 2", len(es))
		}
		for _, e := range es {
			if e.CustomerID != a.Customer {
				t.Fatalf("entry %s on the merged timeline carries customer %s, want %s", e.ID, e.CustomerID, a.Customer)
			}
		}
		ms, err := st.ListMerges(ctx, b.Customer)
		if err != nil || len(ms) != 1 {
			t.Fatalf("merges of %s: %v %v", b.Customer, ms, err)
		}
		if _, err := r.Unmerge(ctx, ms[0].ID, "alice"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			cust, key string
			entry     string
		}{{a.Customer, phone, ma.ID}, {b.Customer, email, mb.ID}} {
			v, es := timelineOf(t, st, c.cust)
			var ids []connectors.Identity
			for _, m := range v.Members {
				ids = append(ids, m.Identities...)
			}
			if got := identityKeys(ids); !slices.Equal(got, []string{c.key}) {
				t.Fatalf("after unmerge %s lists %v, want only %s", c.cust, got, c.key)
			}
			if !slices.ContainsFunc(es, func(e store.Entry) bool { return e.ID == c.entry && e.CustomerID == c.cust }) {
				t.Fatalf("after unmerge %s's timeline %v lacks its entry %s", c.cust, es, c.entry)
			}
			if h := lookup(t, r, c.key); h.Customer != c.cust {
				t.Fatalf("after unmerge %s finds %s, want %s", c.key, h.Customer, c.cust)
			}
		}
		if _, es := timelineOf(t, st, b.Customer); len(es) != 1 {
			t.Fatalf("after unmerge %s has %d entries, want 1", b.Customer, len(es))
		}
	})
}

// Issue 22, sixth case: a new customer named like an existing one with the
// same email domain or phone prefix is a weak hint on the suggestion list,
// never merged; erasure removes the hint.
func TestNameHints(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		r := identity.NewResolver(st, store.SystemClock, nil, nil)
		named := func(name string, keys ...string) identity.Resolution {
			m := msg(keys...)
			m.SenderName = name
			return resolve(t, r, m)
		}
		n := seq.Add(1)
		domain := fmt.Sprintf("hint%d.example", n)
		name := fmt.Sprintf("Ann Lee %d", n)
		a := named(name, "email:ann@"+domain)
		if a.SuggestionRaised {
			t.Fatalf("first customer of a name: %+v", a)
		}
		b := named(strings.ToUpper(name), "email:ann.lee@"+domain)
		if !b.Created || b.Customer == a.Customer || b.Merges != 0 || !b.SuggestionRaised {
			t.Fatalf("same name, same domain: %+v, want a new customer with a suggestion, no merge", b)
		}
		s := suggestion(t, st, b.SuggestionIDs[0])
		if s.EvidenceKind != identity.EvidenceNameHint || s.Winner != a.Customer || s.Loser != b.Customer || !strings.Contains(s.Evidence, "email domain "+domain) || !strings.Contains(s.Evidence, "weak hint") {
			t.Fatalf("name hint %+v", s)
		}
		if rootOf(t, st, b.Customer) == rootOf(t, st, a.Customer) {
			t.Fatal("a name hint merged the customers")
		}
		if c := named(name, fmt.Sprintf("email:ann@other%d.example", n)); c.SuggestionRaised {
			t.Fatalf("same name, another domain: %+v, want no hint", c)
		}
		if c := named(fmt.Sprintf("Bo Ek %d", n), fmt.Sprintf("email:bo@other%d.example", n)); c.SuggestionRaised {
			t.Fatalf("another name: %+v, want no hint", c)
		}
		p1, p2 := fmt.Sprintf("phone:+35840%07d", seq.Add(1)), fmt.Sprintf("phone:+35840%07d", seq.Add(1))
		pname := fmt.Sprintf("Cy Oy %d", n)
		named(pname, p1)
		if d := named(pname, p2); !d.SuggestionRaised || suggestion(t, st, d.SuggestionIDs[0]).EvidenceKind != identity.EvidenceNameHint {
			t.Fatalf("same name, same phone prefix: %+v, want a name hint", d)
		}

		// Erasure takes the hint with the person.
		keys := identity.NameHints(name, []connectors.Identity{{Type: connectors.Email, Value: "ann@" + domain}})
		if _, err := st.LookupClaim(ctx, identity.NameHintType, keys[0].Key); err != nil {
			t.Fatalf("name hint of %s: %v", a.Customer, err)
		}
		if _, err := erasure.Erase(ctx, st, nil, a.Customer, "root", store.SystemClock, func(context.Context, store.Conversation) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := st.LookupClaim(ctx, identity.NameHintType, keys[0].Key); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("name hint after the erasure: %v, want not found", err)
		}
	})
}
