package connectors

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalize: a normalised identity is valid UTF-8, keeps its type, and
// is idempotent (normalising it again gives the same identity); a refusal
// wraps ErrInvalid.
func FuzzNormalize(f *testing.F) {
	for _, s := range [][3]string{
		{"email", "Kate@Example.COM", ""},
		{"email", "Kate Example <kate@example.com>", ""},
		{"email", "\u212Aate@example.com", ""},
		{"email", "İNFO@example.com", ""},
		{"email", `"kate example"@example.com`, ""},
		{"email", "kate@[192.0.2.1]", ""},
		{"email", "not an address", ""},
		{"phone", "+358 40 123 4567", ""},
		{"phone", "040 1234567", "FI"},
		{"phone", "(415) 555-0123", "us"},
		{"phone", "+1 415 555 0123 ext. 9", ""},
		{"phone", "12", "FI"},
		{"slack", "T012AB:U045CD", ""},
		{" Telegram ", " 12345 ", ""},
		{"web form", "x", ""},
		{"email", "", ""},
		{"", "x", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, typ, value, region string) {
		n, err := Normalize(Identity{Type: typ, Value: value, Verified: true}, region)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Normalize(%q, %q) error does not wrap ErrInvalid: %v", typ, value, err)
			}
			return
		}
		if !utf8.ValidString(n.Type) || !utf8.ValidString(n.Value) || n.Type == "" || n.Value == "" || !n.Verified {
			t.Fatalf("Normalize(%q, %q) = %+v", typ, value, n)
		}
		if n.Type != strings.ToLower(strings.TrimSpace(typ)) {
			t.Fatalf("Normalize(%q, %q) changed the type to %q", typ, value, n.Type)
		}
		again, err := Normalize(n, region)
		if err != nil || again != n {
			t.Fatalf("not idempotent: %q:%q -> %q -> %q, %v", typ, value, n.Value, again.Value, err)
		}
		// The key form parses back to the identity (the CLI and the API
		// name identities by it).
		k, err := ParseKey(n.Key())
		if err != nil || k.Type != n.Type || k.Value != n.Value {
			t.Fatalf("key %q parses to %+v, %v", n.Key(), k, err)
		}
	})
}

// FuzzParseKey: "type:value" parses into a type without a colon and a
// value that give the same key back; anything else wraps ErrInvalid.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"email:kate@example.com", "phone:+358401234567", "slack:T1:U2", "telegram:42",
		"email:", ":x", "nocolon", "", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseKey(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseKey(%q) error does not wrap ErrInvalid: %v", s, err)
			}
			return
		}
		if id.Type == "" || id.Value == "" || strings.Contains(id.Type, ":") || id.Key() != s || id.Verified {
			t.Fatalf("ParseKey(%q) = %+v", s, id)
		}
	})
}
