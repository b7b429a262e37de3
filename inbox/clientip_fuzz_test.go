package inbox

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientIP: the address sign-in failures are counted against. From an
// untrusted peer X-Forwarded-For is ignored; from a trusted one the answer
// is the peer or an address of the header, every hop right of it is a
// trusted proxy, and it is itself untrusted unless every hop is trusted.
func FuzzClientIP(f *testing.F) {
	for _, s := range [][2]string{
		{"10.0.0.2:4711", "198.51.100.7"},
		{"10.0.0.2:4711", "198.51.100.7, 10.0.0.9"},
		{"10.0.0.2:4711", "203.0.113.1, 198.51.100.7, 192.0.2.1"},
		{"10.0.0.2:4711", "10.0.0.3, 10.0.0.4"},
		{"10.0.0.2:4711", "[2001:db8::1]:443, 10.1.2.3"},
		{"10.0.0.2:4711", "garbage, 198.51.100.7"},
		{"10.0.0.2:4711", "198.51.100.7, garbage"},
		{"[::ffff:10.0.0.2]:80", "::ffff:198.51.100.7"},
		{"198.51.100.9:1234", "10.0.0.1"},
		{"192.0.2.1:1", "unknown"},
		{"not an address", "198.51.100.7"},
		{"[fe80::1%eth0]:80", "fe80::2%eth0"},
		{"10.0.0.2:4711", ""},
	} {
		f.Add(s[0], s[1])
	}
	trusted, err := ParseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32"})
	if err != nil {
		f.Fatal(err)
	}
	ss := &sessions{trusted: trusted}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		for _, h := range strings.Split(xff, "\n") {
			r.Header.Add("X-Forwarded-For", h)
		}
		got := ss.clientIP(r)
		host, _, err := net.SplitHostPort(remote)
		if err != nil {
			host = remote
		}
		peer, err := netip.ParseAddr(host)
		if err != nil || !ss.trustedProxy(peer) {
			if got != host {
				t.Fatalf("untrusted peer %q: client %q, want the peer", remote, got)
			}
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil || a.Is4In6() || a.String() != got {
			t.Fatalf("client %q is not a canonical address", got)
		}
		var hops []string
		for _, h := range r.Header.Values("X-Forwarded-For") {
			for _, p := range strings.Split(h, ",") {
				hops = append(hops, strings.TrimSpace(p))
			}
		}
		hop := func(s string) (netip.Addr, bool) {
			if a, err := netip.ParseAddr(s); err == nil {
				return a.Unmap(), true
			}
			if ap, err := netip.ParseAddrPort(s); err == nil {
				return ap.Addr().Unmap(), true
			}
			return netip.Addr{}, false
		}
		// The walk from the right stops at a hop that is not an address:
		// nothing left of it can be the answer.
		start := 0
		for i := len(hops) - 1; i >= 0; i-- {
			if _, ok := hop(hops[i]); !ok {
				start = i + 1
				break
			}
		}
		// Every hop from start on is an address. The answer came from the
		// leftmost of them that equals it with only trusted proxies right of
		// it (the same address may stand in several hops), or from none: the
		// peer itself, which the walk keeps only when no hop is left to take.
		trustedFrom := func(i int) bool {
			for _, s := range hops[i:] {
				if h, _ := hop(s); !ss.trustedProxy(h) {
					return false
				}
			}
			return true
		}
		at := len(hops)
		for i := start; i < len(hops); i++ {
			if h, _ := hop(hops[i]); h == a && trustedFrom(i+1) {
				at = i
				break
			}
		}
		if at == len(hops) {
			if a != peer.Unmap() {
				t.Fatalf("client %q is neither the peer %q nor a hop right of any garbage in X-Forwarded-For %q", got, remote, hops)
			}
			if start < len(hops) {
				t.Fatalf("client %q is the peer although hop %q could be taken (%q)", got, hops[len(hops)-1], hops)
			}
			return
		}
		// A trusted answer means the walk went as far left as it could: to
		// the leftmost hop, or to one right of a hop that is not an address.
		if ss.trustedProxy(a) && at != start {
			t.Fatalf("client %q is a trusted proxy although %q is left of it (%q)", got, hops[at-1], hops)
		}
	})
}
