package sla

import (
	"math"
	"strconv"
	"time"
)

// sampleExact is the time (seconds) below which a sample is counted as is.
const sampleExact = 50

// sampleRatio is the width of one sample bucket beyond sampleExact: a
// bucket holds the whole seconds in [r^k, r^(k+1)) and is counted under
// their geometric middle, so a percentile read from the histogram is within
// 2.5 % of the true sample (√1.04−1 < 2 % plus the rounding to seconds).
const sampleRatio = 1.04

var logSampleRatio = math.Log(sampleRatio)

// SampleBucket is the representative value, in seconds, of the bucket of
// a time sample of d: the whole seconds below 50 s, else the middle of its
// 4 % log-scale bucket (within 2.5 % of d). A fixed log scale keeps a
// histogram to a few hundred counters however continuous the samples are
// (the figures' 3-significant-digit rounding gave thousands), and a report
// reads every counter of every cell of its period (issue 17's 200 ms bound).
func SampleBucket(d time.Duration) int64 {
	s := int64(max(d, 0) / time.Second)
	if s < sampleExact {
		return s
	}
	k := math.Floor(math.Log(float64(s)) / logSampleRatio)
	// Guard the float edge: s must lie in [r^k, r^(k+1)).
	if math.Pow(sampleRatio, k) > float64(s) {
		k--
	} else if math.Pow(sampleRatio, k+1) <= float64(s) {
		k++
	}
	// The middle of the whole seconds in the bucket.
	lo, hi := math.Ceil(math.Pow(sampleRatio, k)), math.Ceil(math.Pow(sampleRatio, k+1))-1
	return int64(math.Round(math.Sqrt(lo * hi)))
}

// sampleName is the counter of a time sample of figure name
// (FigFirstResponse, FigResolution): name + ":" + SampleBucket(d).
func sampleName(name string, d time.Duration) string {
	return name + ":" + strconv.FormatInt(SampleBucket(d), 10)
}
