package store

import (
	"hash/fnv"
	"math"
	"math/bits"
)

// HLLRegisters is the size of an HLL sketch: 2^12 one-byte registers, a
// standard error of about 1.6 %, and exact (linear counting) for a few
// dozen items. The embedded backend keeps distinct senders in these; Redis
// has its own (PFADD/PFCOUNT).
const HLLRegisters = 1 << hllP

const hllP = 12

// HLLAdd adds item to the sketch regs (len HLLRegisters) and reports
// whether a register changed.
func HLLAdd(regs []byte, item string) bool {
	h := fnv.New64a()
	h.Write([]byte(item))
	x := h.Sum64()
	// fmix64 (MurmurHash3's finaliser): FNV's high bits are too regular
	// for register selection on short, similar strings.
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	idx := x >> (64 - hllP)
	rank := byte(bits.LeadingZeros64(x<<hllP|1<<(hllP-1)) + 1)
	if regs[idx] < rank {
		regs[idx] = rank
		return true
	}
	return false
}

// HLLMerge keeps in dst the larger register of dst and src.
func HLLMerge(dst, src []byte) {
	for i, r := range src[:min(len(src), len(dst))] {
		if r > dst[i] {
			dst[i] = r
		}
	}
}

// HLLCount estimates the number of distinct items added to regs.
func HLLCount(regs []byte) int64 {
	m := float64(len(regs))
	sum, zeros := 0.0, 0
	for _, r := range regs {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	e := 0.7213 / (1 + 1.079/m) * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		e = m * math.Log(m/float64(zeros))
	}
	return int64(math.Round(e))
}
