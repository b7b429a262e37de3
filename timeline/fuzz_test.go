package timeline_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	"github.com/switchboard-hub/switchboard/timeline"
)

// cursorStore is an embedded store holding one customer with a timeline of
// entries and conversations at spread-out times (the year 9999 and the zero
// time included), built once per fuzz target.
func cursorStore(tb testing.TB) (store.Store, timeline.View) {
	tb.Helper()
	ctx := context.Background()
	st, err := embedded.Open(tb.TempDir(), embedded.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.CreateCustomer(ctx, store.Customer{ID: "c1", CreatedAt: time.Now()}); err != nil {
		tb.Fatal(err)
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	times := []time.Time{{}, base, base, base.Add(time.Nanosecond), base.Add(time.Hour), time.Unix(0, -1),
		time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), base.Add(24 * time.Hour)}
	for i, at := range times {
		id := fmt.Sprintf("m%02d", i)
		if _, _, err := st.AppendEntry(ctx, store.Entry{ID: id, CustomerID: "c1", Channel: "crm", Kind: "message", Text: id, OccurredAt: at}); err != nil {
			tb.Fatal(err)
		}
		if _, _, err := st.OpenConversation(ctx, store.Conversation{ID: fmt.Sprintf("v%02d", i), CustomerID: "c1", Channel: "crm",
			ThreadKey: "crm|" + id, Status: store.StatusOpen, CreatedAt: at, LastActivity: at}); err != nil {
			tb.Fatal(err)
		}
	}
	v, err := timeline.Load(ctx, st, "c1")
	if err != nil {
		tb.Fatal(err)
	}
	return st, v
}

// FuzzTimelineCursor pages a timeline from arbitrary cursors: a cursor is
// refused with ErrBadCursor, or every entry of the page lies before it,
// newest first, and the next cursor decodes to the page's last entry and
// encodes back to itself.
func FuzzTimelineCursor(f *testing.F) {
	enc := base64.RawURLEncoding
	for _, s := range []string{
		"", enc.EncodeToString([]byte(store.SortKey(time.Date(2025, 1, 1, 1, 0, 0, 0, time.UTC), "m04"))),
		enc.EncodeToString([]byte(store.SortKey(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), "m02"))),
		enc.EncodeToString([]byte(store.SortKey(store.MaxSortTime, "z"))),
		enc.EncodeToString([]byte("-0000000000000000001|")), enc.EncodeToString([]byte("x")),
		"MDAwMDAwMDAwMDAwMDAwMDAwMDB8", "not base64!", "====",
	} {
		f.Add(s, uint8(3))
	}
	st, v := cursorStore(f)
	f.Fuzz(func(t *testing.T, cursor string, limit uint8) {
		es, next, err := timeline.Page(context.Background(), st, v, cursor, int(limit%10))
		if err != nil {
			if !errors.Is(err, timeline.ErrBadCursor) {
				t.Fatalf("Page(%q): %v", cursor, err)
			}
			return
		}
		before := ""
		if cursor != "" {
			b, _ := enc.DecodeString(cursor)
			before = string(b)
		}
		for i, e := range es {
			if before != "" && e.SortKey() >= before {
				t.Fatalf("Page(%q): entry %s (%q) is not before the cursor", cursor, e.ID, e.SortKey())
			}
			if i > 0 && es[i-1].SortKey() <= e.SortKey() {
				t.Fatalf("Page(%q): entries not newest first", cursor)
			}
		}
		if next == "" {
			return
		}
		b, err := enc.DecodeString(next)
		if err != nil || len(es) == 0 || string(b) != es[len(es)-1].SortKey() || enc.EncodeToString(b) != next {
			t.Fatalf("Page(%q): next cursor %q is not the last entry's position", cursor, next)
		}
		if _, _, err := store.ParseSortKey(string(b)); err != nil {
			t.Fatalf("Page(%q): next cursor %q: %v", cursor, next, err)
		}
	})
}

// FuzzConversationCursor lists conversations before arbitrary cursors:
// every conversation listed lies before the cursor, newest activity first,
// and the next cursor is the last one's position, which decodes and
// encodes back to itself.
func FuzzConversationCursor(f *testing.F) {
	for _, s := range []string{
		"", store.SortKey(time.Date(2025, 1, 1, 1, 0, 0, 0, time.UTC), "v04"), store.SortKey(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), "v02"),
		store.SortKey(store.MaxSortTime, "z"), "-0000000000000000001|", "x", "\xff", "99999999999999999999|",
	} {
		f.Add(s, uint8(3))
	}
	st, _ := cursorStore(f)
	f.Fuzz(func(t *testing.T, cursor string, limit uint8) {
		cs, next, err := st.ListConversations(context.Background(), store.ConversationFilter{CustomerIDs: []string{"c1"},
			Before: cursor, Limit: int(limit%10) + 1})
		if err != nil {
			t.Fatalf("ListConversations(before %q): %v", cursor, err)
		}
		for i, c := range cs {
			k := store.ConversationCursor(c)
			if cursor != "" && k >= cursor {
				t.Fatalf("before %q: conversation %s (%q) is not before the cursor", cursor, c.ID, k)
			}
			if i > 0 && store.ConversationCursor(cs[i-1]) <= k {
				t.Fatalf("before %q: conversations not newest first", cursor)
			}
		}
		if next == "" {
			return
		}
		if len(cs) == 0 || next != store.ConversationCursor(cs[len(cs)-1]) {
			t.Fatalf("before %q: next cursor %q is not the last conversation's position", cursor, next)
		}
		at, id, err := store.ParseSortKey(next)
		if err != nil || store.SortKey(at, id) != next {
			t.Fatalf("before %q: next cursor %q does not round-trip: %v", cursor, next, err)
		}
	})
}
