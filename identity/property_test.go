package identity_test

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/store"
)

// world is what the property test knows of a store: the identity keys it
// uses and the entries it appended.
type world struct {
	t       *testing.T
	st      store.Store
	r       *identity.Resolver
	keys    []string
	entries []string
}

// state maps every bound identity and every entry to its customer root.
type state struct {
	identities map[string]string
	entries    map[string]string
}

// check asserts the invariants of issue 22 and returns the state: every
// verified-bound identity is listed verified on exactly one root's view,
// the root its binding leads to (and an unbound one on none); every entry
// is on exactly one root's timeline, the root its record leads to, carrying
// that root's id.
func (w *world) check(step string) state {
	t := w.t
	t.Helper()
	ctx := context.Background()
	cs, err := w.st.ListCustomers(ctx, "", 10000)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string][]string{} // key -> roots listing it verified
	onTimeline := map[string][]string{}
	for _, c := range cs {
		if c.MergedInto != "" {
			continue
		}
		v, es := timelineOf(t, w.st, c.ID)
		seen := map[string]bool{}
		for _, m := range v.Members {
			for _, id := range m.Identities {
				if id.Verified && !seen[id.Key()] {
					seen[id.Key()] = true
					listed[id.Key()] = append(listed[id.Key()], c.ID)
				}
			}
		}
		for _, e := range es {
			if e.CustomerID != c.ID {
				t.Fatalf("%s: entry %s on %s's timeline carries customer %s", step, e.ID, c.ID, e.CustomerID)
			}
			onTimeline[e.ID] = append(onTimeline[e.ID], c.ID)
		}
	}
	s := state{identities: map[string]string{}, entries: map[string]string{}}
	for _, key := range w.keys {
		id, _ := connectors.ParseKey(key)
		b, err := w.st.LookupIdentity(ctx, id.Type, id.Value)
		if err != nil {
			if len(listed[key]) != 0 {
				t.Fatalf("%s: unbound %s listed verified on %v", step, key, listed[key])
			}
			continue
		}
		root := rootOf(t, w.st, b.CustomerID)
		if len(listed[key]) != 1 || listed[key][0] != root {
			t.Fatalf("%s: %s is bound to root %s but listed verified on %v", step, key, root, listed[key])
		}
		s.identities[key] = root
	}
	for _, id := range w.entries {
		e, err := w.st.GetEntry(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		root := rootOf(t, w.st, e.CustomerID)
		if got := onTimeline[id]; len(got) != 1 || got[0] != root {
			t.Fatalf("%s: entry %s (root %s) is on the timelines of %v", step, id, root, got)
		}
		s.entries[id] = root
	}
	return s
}

// Issue 22's property: any sequence of messages, merges and unmerges over
// a small set of identities keeps the invariants of check, and an unmerge
// of the latest merge restores the state before that merge (unless an
// automatic merge happened since, which joined what the unmerge cannot
// separate).
func TestMatchingProperty(t *testing.T) {
	for seed := int64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			backends(t, func(t *testing.T, st store.Store) {
				ctx := context.Background()
				rng := rand.New(rand.NewSource(seed))
				w := &world{t: t, st: st, r: identity.NewResolver(st, store.SystemClock, nil, nil)}
				run := seq.Add(1)
				for i := 0; i < 3; i++ {
					w.keys = append(w.keys, fmt.Sprintf("email:p%d-%d@example.com", i, run), fmt.Sprintf("phone:+35850%03d%04d", i, run%10000))
				}
				type pushed struct {
					merge  string
					before state
					auto   int // automatic merges when it was made
				}
				var stack []pushed
				var customers []string
				autoMerges := 0
				for op := 0; op < 40; op++ {
					step := fmt.Sprintf("op %d", op)
					switch k := rng.Intn(10); {
					case k < 6 || len(customers) < 2: // a message
						var keys []string
						for n := 1 + rng.Intn(2); n > 0; n-- {
							key := w.keys[rng.Intn(len(w.keys))]
							if rng.Intn(10) < 4 {
								key = "~" + key
							}
							keys = append(keys, key)
						}
						m := msg(keys...)
						if m.Identities[0].Key() == m.Identities[len(m.Identities)-1].Key() && len(m.Identities) == 2 {
							m.Identities = m.Identities[:1]
						}
						res := resolve(t, w.r, m)
						appendEntry(t, st, m, res.Customer)
						w.entries = append(w.entries, m.ID)
						customers = append(customers, res.Customer)
						autoMerges += res.Merges
						step += fmt.Sprintf(" message %v -> %s", keys, res.Customer)
					case k < 8: // an agent's merge
						a, b := customers[rng.Intn(len(customers))], customers[rng.Intn(len(customers))]
						before := w.check(step + " before merge")
						_, m, err := w.r.Merge(ctx, a, b, "agent", "property test", "")
						if err != nil {
							t.Fatal(err)
						}
						if m.ID != "" {
							stack = append(stack, pushed{m.ID, before, autoMerges})
						}
						step += fmt.Sprintf(" merge %s %s", a, b)
					default: // undo the latest merge
						if len(stack) == 0 {
							continue
						}
						p := stack[len(stack)-1]
						stack = stack[:len(stack)-1]
						if _, err := w.r.Unmerge(ctx, p.merge, "agent"); err != nil {
							t.Fatalf("%s: unmerge %s: %v", step, p.merge, err)
						}
						after := w.check(step + " unmerge")
						if p.auto != autoMerges {
							continue
						}
						for key, root := range p.before.identities {
							if after.identities[key] != root {
								t.Fatalf("%s: unmerge %s: %s belongs to %s, before the merge to %s", step, p.merge, key, after.identities[key], root)
							}
						}
						for id, root := range p.before.entries {
							if after.entries[id] != root {
								t.Fatalf("%s: unmerge %s: entry %s is on %s, before the merge on %s", step, p.merge, id, after.entries[id], root)
							}
						}
						continue
					}
					w.check(step)
				}
			})
		})
	}
}
