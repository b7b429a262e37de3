package timeline

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"

	"github.com/switchboard-hub/switchboard/store"
)

// maxHops bounds merge chains (they are short; a longer one means a cycle,
// which the router's merge rule makes impossible).
const maxHops = 64

// ErrBadCursor is returned for a cursor this package did not produce.
var ErrBadCursor = errors.New("invalid cursor")

// Root follows MergedInto links to the customer that currently represents id.
func Root(ctx context.Context, st store.Customers, id string) (store.Customer, error) {
	for i := 0; i < maxHops; i++ {
		c, err := st.GetCustomer(ctx, id)
		if err != nil {
			return store.Customer{}, fmt.Errorf("customer %s: %w", id, err)
		}
		if c.MergedInto == "" {
			return c, nil
		}
		id = c.MergedInto
	}
	return store.Customer{}, fmt.Errorf("customer %s: merge chain longer than %d", id, maxHops)
}

// Members returns root and every customer merged into it, directly or not,
// root first.
func Members(ctx context.Context, st store.Customers, root store.Customer) ([]store.Customer, error) {
	out := []store.Customer{root}
	seen := map[string]bool{root.ID: true}
	for i := 0; i < len(out) && i < 10000; i++ {
		for _, m := range out[i].Members {
			if seen[m] {
				continue
			}
			c, err := st.GetCustomer(ctx, m)
			if errors.Is(err, store.ErrNotFound) {
				continue // erased
			}
			if err != nil {
				return nil, err
			}
			if c.MergedInto != out[i].ID {
				continue // unmerged since; the Members list is being repaired
			}
			seen[m] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// View is one customer as an agent sees it: the root record and everything
// merged into it.
type View struct {
	Root    store.Customer
	Members []store.Customer
}

// Held names a record of the view under a legal hold, if any: erasure
// and retention leave the whole person alone then.
func (v View) Held() (string, bool) {
	for _, m := range v.Members {
		if m.Hold != nil {
			return m.ID, true
		}
	}
	return "", false
}

// IDs lists the customer ids of the view.
func (v View) IDs() []string {
	ids := make([]string, len(v.Members))
	for i, m := range v.Members {
		ids[i] = m.ID
	}
	return ids
}

// Load returns the view of the customer id belongs to.
func Load(ctx context.Context, st store.Customers, id string) (View, error) {
	root, err := Root(ctx, st, id)
	if err != nil {
		return View{}, err
	}
	members, err := Members(ctx, st, root)
	if err != nil {
		return View{}, err
	}
	return View{Root: root, Members: members}, nil
}

// Page returns up to limit entries of the view, newest first, starting
// after cursor ("" for the newest), and the cursor of the next page ("" when
// there is none). Every entry carries the view's root as CustomerID: the
// customer it belongs to now. (A merge moves no data: the stored entry
// keeps the record it was written to, and after an unmerge it belongs to
// that record again.)
func Page(ctx context.Context, st store.Entries, v View, cursor string, limit int) ([]store.Entry, string, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	before := ""
	if cursor != "" {
		// The cursor is an entry's sort key; store/keys.go is the one
		// place that knows its format.
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil {
			return nil, "", ErrBadCursor
		}
		if _, _, err := store.ParseSortKey(string(b)); err != nil {
			return nil, "", ErrBadCursor
		}
		before = string(b)
	}
	// Each member contributes at most limit+1 entries; merging them and
	// keeping the newest limit+1 is exact for this page.
	var all []store.Entry
	for _, id := range v.IDs() {
		es, err := st.PageEntries(ctx, id, before, limit+1)
		if err != nil {
			return nil, "", err
		}
		all = append(all, es...)
	}
	for i := range all {
		all[i].CustomerID = v.Root.ID
	}
	sort.Slice(all, func(i, j int) bool { return all[i].SortKey() > all[j].SortKey() })
	next := ""
	if len(all) > limit {
		all = all[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(all[limit-1].SortKey()))
	}
	return all, next, nil
}

// Conversations lists the view's conversations, newest activity first,
// each carrying the view's root as CustomerID (as Page does for entries).
func Conversations(ctx context.Context, st store.Conversations, v View, limit int) ([]store.Conversation, error) {
	cs, _, err := st.ListConversations(ctx, store.ConversationFilter{CustomerIDs: v.IDs(), Limit: limit})
	for i := range cs {
		cs[i].CustomerID = v.Root.ID
	}
	return cs, err
}
