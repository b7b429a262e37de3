package csat

import (
	"context"
	"testing"
	"time"
)

// keyOnly is the part of store.Sessions the signer uses.
type keyOnly struct{ key []byte }

func (k *keyOnly) GetOrCreateSessionKey(_ context.Context, key []byte) ([]byte, error) {
	if k.key == nil {
		k.key = key
	}
	return k.key, nil
}
func (k *keyOnly) SessionEpoch(context.Context, string) (int64, error)     { return 0, nil }
func (k *keyOnly) BumpSessionEpoch(context.Context, string) (int64, error) { return 0, nil }
func (k *keyOnly) UseOnce(context.Context, string, time.Duration) (bool, error) {
	return true, nil
}

var tokenNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func TestTokenRoundTripAndRefusals(t *testing.T) {
	ctx := context.Background()
	g := &signer{st: &keyOnly{key: []byte("0123456789abcdef0123456789abcdef")}}
	tok, err := g.sign(ctx, token{Survey: "s_abc", Score: 4, Expiry: tokenNow.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.verify(ctx, tok, tokenNow)
	if err != nil || got.Survey != "s_abc" || got.Score != 4 {
		t.Fatalf("verify = %+v, %v", got, err)
	}
	if _, err := g.verify(ctx, tok, tokenNow.Add(time.Hour)); err != ErrBadToken {
		t.Fatalf("expired: %v", err)
	}
	other := &signer{st: &keyOnly{key: []byte("another key, another hub........")}}
	if _, err := other.verify(ctx, tok, tokenNow); err != ErrBadToken {
		t.Fatalf("another key: %v", err)
	}
	for _, bad := range []string{"", ".", "abc", tok + "x", "x" + tok, tok[:len(tok)-2]} {
		if _, err := g.verify(ctx, bad, tokenNow); err != ErrBadToken {
			t.Fatalf("verify(%q) = %v, want ErrBadToken", bad, err)
		}
	}
}

// FuzzVerifyToken: any string either fails with ErrBadToken or is a token
// this signer made; nothing panics.
func FuzzVerifyToken(f *testing.F) {
	ctx := context.Background()
	g := &signer{st: &keyOnly{key: []byte("0123456789abcdef0123456789abcdef")}}
	good, _ := g.sign(ctx, token{Survey: "s_abc", Score: 4, Expiry: tokenNow.Add(time.Hour)})
	for _, s := range []string{good, "", ".", "AAAA.BBBB", good[:10], "czE.x|1|2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := g.verify(ctx, s, tokenNow)
		if err != nil {
			if err != ErrBadToken {
				t.Fatalf("verify(%q) = %v", s, err)
			}
			return
		}
		again, _ := g.sign(ctx, got)
		if again != s {
			t.Fatalf("verify accepted %q, not a token it made (%q)", s, again)
		}
	})
}
