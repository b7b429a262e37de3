package timeline_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// TestPageCursor: the next-page cursor pages through a timeline newest
// first without gaps or repeats, and a cursor the hub did not produce
// (not base64, or base64 of something that is not a sort key, even one
// with a '|' at the sort key's separator position) is ErrBadCursor.
func TestPageCursor(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		v := timeline.View{Members: []store.Customer{{ID: "c1"}}}
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < 5; i++ {
			at := t0.Add(time.Duration(i) * time.Minute)
			e := store.Entry{ID: fmt.Sprintf("e%d", i), CustomerID: "c1", Channel: "crm", Kind: store.KindMessage,
				Text: fmt.Sprint(i), OccurredAt: at, CreatedAt: at}
			if _, _, err := st.AppendEntry(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			es, next, err := timeline.Page(ctx, st, v, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				got = append(got, e.ID)
			}
			if next == "" || pages > 5 {
				break
			}
			cursor = next
		}
		if fmt.Sprint(got) != "[e4 e3 e2 e1 e0]" {
			t.Fatalf("paged %v, want [e4 e3 e2 e1 e0]", got)
		}
		for _, bad := range []string{"%%%", base64.RawURLEncoding.EncodeToString([]byte("abcdefghijklmnopqrst|e2")),
			base64.RawURLEncoding.EncodeToString([]byte("e2"))} {
			if _, _, err := timeline.Page(ctx, st, v, bad, 2); !errors.Is(err, timeline.ErrBadCursor) {
				t.Errorf("cursor %q: %v, want %v", bad, err, timeline.ErrBadCursor)
			}
		}
	})
}
