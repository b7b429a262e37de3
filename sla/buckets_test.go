package sla

import (
	"math"
	"testing"
	"time"
)

// TestSampleBucketError: every sample from 0 to a year lands in a bucket
// within 2.5 % of it, and the whole year takes a few hundred buckets (a
// report reads every counter of its cells: issue 17's 200 ms bound).
func TestSampleBucketError(t *testing.T) {
	seen := map[int64]bool{}
	for s := int64(0); s <= 366*24*3600; s += 1 + s/5000 {
		b := SampleBucket(time.Duration(s) * time.Second)
		seen[b] = true
		if s < sampleExact {
			if b != s {
				t.Fatalf("%d s -> %d, want exact", s, b)
			}
			continue
		}
		if e := math.Abs(float64(b-s)) / float64(s); e > 0.025 {
			t.Fatalf("%d s -> %d: error %.2f %%", s, b, e*100)
		}
	}
	if len(seen) > 400 {
		t.Fatalf("%d buckets from 0 to a year, want at most 400", len(seen))
	}
	// Monotone: a longer time never lands in an earlier bucket.
	prev := int64(-1)
	for s := int64(0); s < 2_000_000; s += 7 {
		b := SampleBucket(time.Duration(s) * time.Second)
		if b < prev {
			t.Fatalf("%d s -> %d after %d", s, b, prev)
		}
		prev = b
	}
}
