package store

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"testing"
	"time"
)

func TestSortKeyFormatUnchanged(t *testing.T) {
	// Keys already stored must keep their bytes: the format of every time
	// inside the representable range is the historical one.
	at := time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.FixedZone("x", 3600))
	if got, want := SortKey(at, "m_1"), "01741940813589793238|m_1"; got != want {
		t.Errorf("SortKey = %q, want %q", got, want)
	}
	// The historical encoding, for times across the representable range.
	for _, tm := range []time.Time{at, time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2262, 4, 11, 0, 0, 0, 0, time.UTC), MinSortTime, MaxSortTime} {
		if got, want := SortKey(tm, "id"), fmt.Sprintf("%020d|%s", tm.UTC().UnixNano(), "id"); got != want {
			t.Errorf("SortKey(%v) = %q, want the historical %q", tm, got, want)
		}
	}
	if got, want := SortKey(time.Unix(0, 0), "a"), "00000000000000000000|a"; got != want {
		t.Errorf("SortKey(epoch) = %q, want %q", got, want)
	}
	if got, want := SortKey(time.Unix(0, -1), "a"), "-0000000000000000001|a"; got != want {
		t.Errorf("SortKey(epoch-1ns) = %q, want %q", got, want)
	}
	c := Conversation{ID: "c1", LastActivity: at}
	if got, want := ConversationCursor(c), SortKey(at, "c1"); got != want {
		t.Errorf("ConversationCursor = %q, want %q", got, want)
	}
}

func TestSortKeyClampsOutOfRange(t *testing.T) {
	far := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Later times sort after earlier ones, the clamped year 9999 included.
	keys := []string{
		SortKey(time.Unix(0, 0), "x"),
		SortKey(now, "x"),
		SortKey(MaxSortTime.Add(-time.Nanosecond), "x"),
		SortKey(far, "x"),
	}
	if !sort.StringsAreSorted(keys) {
		t.Errorf("keys not in time order: %q", keys)
	}
	if got, want := SortKey(far, "x"), SortKey(MaxSortTime, "x"); got != want {
		t.Errorf("SortKey(year 9999) = %q, want the clamped %q", got, want)
	}
	if got, want := SortKey(time.Time{}, "x"), SortKey(MinSortTime, "x"); got != want {
		t.Errorf("SortKey(zero time) = %q, want the clamped %q", got, want)
	}
	for _, k := range []string{SortKey(far, "x"), SortKey(time.Time{}, "x")} {
		if len(k) != 22 {
			t.Errorf("SortKey %q is %d bytes, want the fixed width 22", k, len(k))
		}
	}
	if MaxSortTime.UnixNano() != math.MaxInt64 || MinSortTime.UnixNano() != math.MinInt64 {
		t.Errorf("MinSortTime/MaxSortTime = %v/%v, not the ends of UnixNano", MinSortTime, MaxSortTime)
	}
}

func TestParseSortKey(t *testing.T) {
	at := time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)
	for _, c := range []struct {
		t  time.Time
		id string
	}{
		{at, "m_1"},
		{at, "id|with|bars"},
		{time.Unix(0, 0).UTC(), ""},
		{time.Unix(0, -5).UTC(), "old"},
		{MaxSortTime, "max"},
		{MinSortTime, "min"},
	} {
		gt, gid, err := ParseSortKey(SortKey(c.t, c.id))
		if err != nil || !gt.Equal(c.t) || gid != c.id {
			t.Errorf("ParseSortKey(SortKey(%v, %q)) = %v, %q, %v", c.t, c.id, gt, gid, err)
		}
		if got := SortKeyID(SortKey(c.t, c.id)); got != c.id {
			t.Errorf("SortKeyID(SortKey(%v, %q)) = %q", c.t, c.id, got)
		}
	}
	gt, _, err := ParseSortKey(SortKey(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), "x"))
	if err != nil || !gt.Equal(MaxSortTime) {
		t.Errorf("ParseSortKey of a clamped key = %v, %v, want %v", gt, err, MaxSortTime)
	}
	for _, bad := range []string{"", "123|x", "0000000000000000000x|id", "01741940413589793238-id", "+1741940413589793238|x", "abc"} {
		if _, _, err := ParseSortKey(bad); !errors.Is(err, ErrBadSortKey) {
			t.Errorf("ParseSortKey(%q) error = %v, want ErrBadSortKey", bad, err)
		}
	}
}
