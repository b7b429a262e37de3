// Package stagelat is a temporary measuring aid (branch h23tail): per-stage
// latency histograms, on only with SB_STAGES=1, printed to stderr every 5 s.
package stagelat

import (
	"fmt"
	"math/bits"
	"os"
	"os/signal"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var On = os.Getenv("SB_STAGES") == "1"

// Temporary toggles to isolate the tail's causes.
var (
	NoSearch   = os.Getenv("SB_NOSEARCH") == "1"
	APLoops, _ = strconv.Atoi(os.Getenv("SB_APLOOPS"))
	OldAP      = os.Getenv("SB_OLDAP") == "1"
)

type hist struct {
	b   [64]atomic.Int64 // bucket i: [2^i, 2^(i+1)) µs/8 (i.e. 125ns units)
	n   atomic.Int64
	max atomic.Int64
}

var (
	mu    sync.Mutex
	hists = map[string]*hist{}
)

func get(name string) *hist {
	mu.Lock()
	defer mu.Unlock()
	h := hists[name]
	if h == nil {
		h = &hist{}
		hists[name] = h
	}
	return h
}

func Since(name string, t time.Time) {
	if !On {
		return
	}
	Add(name, time.Since(t))
}

func Add(name string, d time.Duration) {
	if !On {
		return
	}
	h := get(name)
	u := int64(d / 125) // 125 ns units
	if u < 1 {
		u = 1
	}
	h.b[63-bits.LeadingZeros64(uint64(u))].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			break
		}
	}
}

func pct(h *hist, snap [64]int64, n int64, p float64) time.Duration {
	want := int64(float64(n) * p)
	var c int64
	for i, v := range snap {
		c += v
		if c > want {
			return time.Duration(int64(1)<<(i+1)) * 125 // bucket upper bound
		}
	}
	return time.Duration(h.max.Load())
}

func init() {
	if !On {
		return
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	go func() {
		for range c {
			Dump()
		}
	}()
}

// Dump prints every histogram and resets them.
func Dump() {
	mu.Lock()
	names := make([]string, 0, len(hists))
	for k := range hists {
		names = append(names, k)
	}
	mu.Unlock()
	sort.Strings(names)
	var sb strings.Builder
	fmt.Fprintf(&sb, "STAGES %s\n", time.Now().Format("15:04:05"))
	for _, k := range names {
		h := get(k)
		var snap [64]int64
		var n int64
		for i := range snap {
			snap[i] = h.b[i].Swap(0)
			n += snap[i]
		}
		h.n.Store(0)
		mx := h.max.Swap(0)
		if n == 0 {
			continue
		}
		fmt.Fprintf(&sb, "  %-22s n=%7d p50<%-9s p90<%-9s p99<%-9s p999<%-9s max=%s\n", k, n,
			pct(h, snap, n, .5), pct(h, snap, n, .9), pct(h, snap, n, .99), pct(h, snap, n, .999), time.Duration(mx).Round(time.Microsecond))
	}
	rt(&sb)
	os.Stderr.WriteString(sb.String())
}

var prev = map[string][]uint64{}

// rt prints the runtime's scheduling latency and GC pause histograms since the last dump.
func rt(sb *strings.Builder) {
	ss := []metrics.Sample{{Name: "/sched/latencies:seconds"}, {Name: "/gc/pauses:seconds"}, {Name: "/gc/cycles/total:gc-cycles"}, {Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}}
	metrics.Read(ss)
	for _, s := range ss[:2] {
		h := s.Value.Float64Histogram()
		p := prev[s.Name]
		d := make([]uint64, len(h.Counts))
		var n uint64
		for i, c := range h.Counts {
			d[i] = c
			if p != nil {
				d[i] -= p[i]
			}
			n += d[i]
		}
		prev[s.Name] = append([]uint64(nil), h.Counts...)
		q := func(f float64) string {
			var c uint64
			for i, v := range d {
				c += v
				if float64(c) > f*float64(n) {
					return time.Duration(h.Buckets[i+1] * 1e9).String()
				}
			}
			return "-"
		}
		var mx string
		for i := len(d) - 1; i >= 0; i-- {
			if d[i] > 0 {
				mx = time.Duration(h.Buckets[i+1] * 1e9).String()
				break
			}
		}
		fmt.Fprintf(sb, "  rt %-20s n=%7d p50<%s p99<%s p999<%s max<%s\n", s.Name, n, q(.5), q(.99), q(.999), mx)
	}
	fmt.Fprintf(sb, "  rt gc-cycles=%d gc-cpu=%.2fs total-cpu=%.2fs\n", ss[2].Value.Uint64(), ss[3].Value.Float64(), ss[4].Value.Float64())
}
