package webform

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	k := tokens{channel: "contact", secret: []byte("0123456789abcdef"), ttl: time.Hour}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tok := k.issue(now)
	nonce, issued, err := k.verify(tok, now.Add(time.Minute))
	if err != nil || nonce == "" || !issued.Equal(now) {
		t.Fatalf("verify = %q %v %v", nonce, issued, err)
	}
	if tok2 := k.issue(now); tok2 == tok {
		t.Fatal("two tokens share a nonce")
	}
	other := tokens{channel: "other", secret: k.secret, ttl: time.Hour}
	for _, c := range []struct {
		name, tok string
		at        time.Time
		err       error
	}{
		{"another channel's", other.issue(now), now, errTokenInvalid},
		{"expired", tok, now.Add(time.Hour + time.Second), errTokenExpired},
		{"from the future", k.issue(now.Add(time.Hour)), now, errTokenInvalid},
		{"truncated", tok[:len(tok)-2], now, errTokenInvalid},
		{"empty", "", now, errTokenMissing},
		{"huge", strings.Repeat("v1.", 100), now, errTokenInvalid},
		{"bad time", k.issueWith(now, "n") + "x", now, errTokenInvalid},
	} {
		if _, _, err := k.verify(c.tok, c.at); err != c.err {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(2, time.Minute)
	now := time.Unix(1000, 0)
	for i := 0; i < 2; i++ {
		if ok, _ := l.allow("a", now); !ok {
			t.Fatalf("call %d refused", i)
		}
	}
	ok, wait := l.allow("a", now)
	if ok || wait != 30*time.Second {
		t.Fatalf("3rd call: %v wait %s, want refused for 30s", ok, wait)
	}
	if ok, _ := l.allow("a", now.Add(30*time.Second)); !ok {
		t.Fatal("refused after the refill time")
	}
	// Memory stays bounded under a flood of distinct clients.
	l.max = 100
	for i := 0; i < 1000; i++ {
		l.allow(strings.Repeat("x", i%7)+string(rune('a'+i%26))+time.Duration(i).String(), now)
	}
	if len(l.buckets) > 100 {
		t.Fatalf("%d buckets kept", len(l.buckets))
	}
}

func TestClientKey(t *testing.T) {
	for addr, want := range map[string]string{
		"198.51.100.7:1234":       "198.51.100.7",
		"[2001:db8:1:2:3::4]:443": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.1]:80":   "192.0.2.1",
		"not an address":          "not an address",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		if got := clientKey(r); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", addr, got, want)
		}
	}
}
