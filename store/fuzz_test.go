package store

import (
	"errors"
	"testing"
	"time"
)

// FuzzParseSortKey: a string ParseSortKey accepts (a conversation cursor, a
// timeline position) encodes back to itself from what it decoded to, and
// SortKeyID agrees on the id; a refused one wraps ErrBadSortKey.
func FuzzParseSortKey(f *testing.F) {
	at := time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)
	for _, s := range []string{
		SortKey(at, "m_1"), SortKey(time.Unix(0, 0), "a"), SortKey(time.Unix(0, -1), "a"),
		SortKey(MinSortTime, "c"), SortKey(MaxSortTime, "c|d"), SortKey(at, ""),
		"+1741940813589793238|x", "-0000000000000000000|x", "0174194081358979323|x", "01741940813589793238x",
		" 1741940813589793238|x", "", "|",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, k string) {
		tm, id, err := ParseSortKey(k)
		if err != nil {
			if !errors.Is(err, ErrBadSortKey) {
				t.Fatalf("ParseSortKey(%q): %v", k, err)
			}
			return
		}
		if tm.Location() != time.UTC {
			t.Fatalf("ParseSortKey(%q) time %v is not UTC", k, tm)
		}
		if again := SortKey(tm, id); again != k {
			t.Fatalf("ParseSortKey(%q) = %v, %q, which encodes to %q", k, tm, id, again)
		}
		if SortKeyID(k) != id {
			t.Fatalf("SortKeyID(%q) = %q, ParseSortKey's id %q", k, SortKeyID(k), id)
		}
	})
}
