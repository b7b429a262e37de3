package ids

import (
	"strings"
	"testing"
	"time"
)

// Stored records carry derived ids: the format must not drift.
func TestDerivedIsStable(t *testing.T) {
	if got, want := Derived("v_", "m1"), Derived("v_", "m1"); got != want {
		t.Fatalf("Derived not deterministic: %q vs %q", got, want)
	}
	if Derived("v_", "a", "bc") == Derived("v_", "ab", "c") {
		t.Fatal("parts are not separated: (a, bc) and (ab, c) give one id")
	}
	// sha256("m1\x00")[:12], hex: pinned so a change of format fails here.
	if got := Derived("v_", "m1"); got != "v_"+pinned {
		t.Fatalf("Derived(v_, m1) = %q, want v_%s", got, pinned)
	}
}

func TestRandomSortsByTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b := Random("o_", t0), Random("o_", t0.Add(time.Millisecond))
	if !strings.HasPrefix(a, "o_") || a >= b || a == Random("o_", t0) {
		t.Fatalf("Random: %q then %q", a, b)
	}
}

const pinned = "c9a6f3d62c0fc4d3d70b0a27"
