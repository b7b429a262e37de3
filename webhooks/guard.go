package webhooks

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ErrForbiddenAddress: an endpoint's host resolved to an address the hub
// does not send to (loopback, private, link-local, metadata, ...).
var ErrForbiddenAddress = errors.New("webhook address not allowed")

// CheckURL reports what is wrong with an endpoint URL: it must be an
// absolute https URL (http too with allowHTTP) without user info.
func CheckURL(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("url %q is not an absolute URL", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	case u.Scheme == "http":
		return fmt.Errorf("url must be https (set allow_http to send over http)")
	default:
		return fmt.Errorf("url scheme %q is not https", u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("url must not carry user info")
	}
	return nil
}

// metadata are cloud metadata addresses outside the ranges refused anyway.
var metadata = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),     // carrier-grade NAT (Alibaba's metadata is 100.100.100.200)
	netip.MustParsePrefix("192.0.0.0/24"),      // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),     // benchmarking
	netip.MustParsePrefix("fd00:ec2::254/128"), // AWS IMDS over IPv6 (within fc00::/7 too)
}

// forbidden reports whether an address is one the hub never sends to
// without allow_private_addresses.
func forbidden(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || !a.IsValid() {
		return true
	}
	for _, p := range metadata {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// guardedDialer returns the dialer of endpoints with (or without)
// allow_private_addresses. The address check runs on the address actually
// dialled, after DNS resolution, so a name that resolves to a private
// address is refused like the address itself. The client (client.go) uses
// no proxy (it would dial for us) and follows no redirect (the 3xx is the
// answer).
func guardedDialer(allowPrivate bool, timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
			}
			if forbidden(ap.Addr()) {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, ap.Addr())
			}
			return nil
		}
	}
	return d
}
