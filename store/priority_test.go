package store_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// activity is a ListConversations in activity order over cs (newest
// first), as the backends page it, for ListByPriority to build on.
func activity(cs []store.Conversation) func(context.Context, store.ConversationFilter) ([]store.Conversation, string, error) {
	return func(_ context.Context, f store.ConversationFilter) ([]store.Conversation, string, error) {
		all := append([]store.Conversation(nil), cs...)
		sort.Slice(all, func(i, j int) bool { return store.ConversationCursor(all[i]) > store.ConversationCursor(all[j]) })
		var out []store.Conversation
		for _, c := range all {
			if !store.MatchConversation(c, f) {
				continue
			}
			if len(out) == f.Limit {
				return out, store.ConversationCursor(out[len(out)-1]), nil
			}
			out = append(out, c)
		}
		return out, "", nil
	}
}

// TestListByPriority: urgent, high, medium, low, then none, each newest
// first; any page size gives the same order page by page, and the last
// page has no next; a priority filter keeps to its level; a cursor that
// is not one is refused.
func TestListByPriority(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var cs []store.Conversation
	for i, p := range []string{"", "high", "urgent", "", "low", "high", "medium", "urgent"} {
		cs = append(cs, store.Conversation{ID: string(rune('a' + i)), Priority: p, Status: store.StatusOpen, LastActivity: t0.Add(time.Duration(i) * time.Minute)})
	}
	list := activity(cs)
	want := "h,c,f,b,g,e,d,a" // urgent h (newer), c; high f, b; medium g; low e; none d, a
	for limit := 1; limit <= 9; limit++ {
		var got []string
		before := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatalf("limit %d: no end", limit)
			}
			page, next, err := store.ListByPriority(context.Background(), store.ConversationFilter{Sort: store.SortPriority, Limit: limit, Before: before}, list)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 && next == "" && before != "" {
				t.Fatalf("limit %d: an empty last page after cursor %q", limit, before)
			}
			for _, c := range page {
				got = append(got, c.ID)
			}
			if next == "" {
				break
			}
			before = next
		}
		if strings.Join(got, ",") != want {
			t.Fatalf("limit %d: order %v, want %s", limit, got, want)
		}
	}
	page, _, err := store.ListByPriority(context.Background(), store.ConversationFilter{Sort: store.SortPriority, Priority: store.PriorityFilterNone, Limit: 50}, list)
	if err != nil || len(page) != 2 || page[0].ID != "d" || page[1].ID != "a" {
		t.Fatalf("priority none: %v %v", page, err)
	}
	if _, _, err := store.ListByPriority(context.Background(), store.ConversationFilter{Sort: store.SortPriority, Before: "critical~"}, list); !errors.Is(err, store.ErrBadSortKey) {
		t.Fatalf("bad cursor: %v, want ErrBadSortKey", err)
	}
}
