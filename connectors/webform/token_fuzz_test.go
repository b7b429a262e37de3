package webform

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzToken checks arbitrary form tokens, some re-signed with the channel's
// key (resign): a token is accepted only with the key's signature over its
// issue time and nonce, a non-empty nonce it hands back unchanged, and an
// issue time inside the token's lifetime; a refusal is one of the three
// token errors.
func FuzzToken(f *testing.F) {
	k := tokens{channel: "contact", secret: []byte("fuzz-secret-0123456789"), ttl: time.Hour}
	now := time.UnixMilli(1_750_000_000_000)
	for _, s := range []struct {
		tok    string
		resign bool
		ago    int64
	}{
		{k.issueWith(now, "AAAAAAAAAAAAAAAAAAAAAA"), false, 0},
		{k.issueWith(now.Add(-2*time.Hour), "AAAAAAAAAAAAAAAAAAAAAA"), false, 0},
		{k.issueWith(now.Add(time.Minute), "AAAAAAAAAAAAAAAAAAAAAA"), false, 0},
		{"v1.1750000000000.nonce.x", true, 1000},
		{"v1.+1750000000000.nonce.x", true, 0},
		{"v1.-9223372036854775808.nonce.x", true, 0},
		{"v1.9223372036854775807.nonce.x", true, 0},
		{"v1.1750000000000..x", true, 0},
		{"v1.1750000000000.a.b.c", true, 0},
		{"v2.1750000000000.nonce.x", true, 0},
		{"", false, 0},
		{"v1...", false, 0},
	} {
		f.Add(s.tok, s.resign, s.ago)
	}
	f.Fuzz(func(t *testing.T, tok string, resign bool, ago int64) {
		at := now.Add(time.Duration(ago) * time.Millisecond)
		parts := strings.Split(tok, ".")
		if resign && len(parts) >= 3 {
			parts[3%len(parts)] = base64.RawURLEncoding.EncodeToString(k.mac(parts[1], parts[2]))
			tok = strings.Join(parts, ".")
		}
		nonce, issued, err := k.verify(tok, at)
		if err != nil {
			if !errors.Is(err, errTokenMissing) && !errors.Is(err, errTokenInvalid) && !errors.Is(err, errTokenExpired) {
				t.Fatalf("refusal %v is not a token error", err)
			}
			if nonce != "" || !issued.IsZero() {
				t.Fatalf("refused with nonce %q and time %v", nonce, issued)
			}
			return
		}
		parts = strings.Split(tok, ".")
		if len(parts) != 4 || parts[0] != "v1" {
			t.Fatalf("accepted %q: not v1.ISSUED.NONCE.SIG", tok)
		}
		sig, err := base64.RawURLEncoding.DecodeString(parts[3])
		if err != nil || !hmac.Equal(sig, k.mac(parts[1], parts[2])) {
			t.Fatalf("accepted %q without the key's signature", tok)
		}
		if nonce == "" || nonce != parts[2] {
			t.Fatalf("accepted %q with nonce %q", tok, nonce)
		}
		if issued.After(at.Add(maxClockSkew)) || at.Sub(issued) > k.ttl {
			t.Fatalf("accepted %q issued %v at %v (ttl %v)", tok, issued, at, k.ttl)
		}
	})
}
