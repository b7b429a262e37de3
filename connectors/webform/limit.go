package webform

import (
	"math"
	"net"
	"net/http"
	"sync"
	"time"
)

// limiter is a set of token buckets keyed by client (or one key for the
// whole channel): each holds up to n tokens and refills n per window, so
// n submissions within one window pass and the next one waits. Buckets are
// in memory, per replica: with R replicas behind a load balancer a client
// gets up to R·n per window.
type limiter struct {
	mu       sync.Mutex
	capacity float64
	perSec   float64
	max      int // buckets kept before full ones are swept
	buckets  map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

const maxBuckets = 100_000

func newLimiter(n int, window time.Duration) *limiter {
	return &limiter{capacity: float64(n), perSec: float64(n) / window.Seconds(), max: maxBuckets, buckets: map[string]*bucket{}}
}

// allow takes one token from key's bucket. When none is left it returns
// false and how long until one is.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.sweep(now)
		}
		b = &bucket{tokens: l.capacity, last: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(l.capacity, b.tokens+el*l.perSec)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.perSec * float64(time.Second))
	return false, wait
}

// sweep drops buckets that have refilled (they hold no information); if a
// flood of distinct keys leaves none full, it drops arbitrary ones so
// memory stays bounded (the channel-wide bucket still holds the flood back).
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.perSec >= l.capacity {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < l.max*9/10 {
			break
		}
		delete(l.buckets, k)
	}
}

// clientKey is the rate-limit key of a request's client: its IP from
// RemoteAddr (a proxy's X-Forwarded-For is not trusted), IPv6 addresses
// by their /64, since one host usually holds a whole /64.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
