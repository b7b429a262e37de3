package connectors_test

import (
	"errors"
	"testing"

	"github.com/switchboard-hub/switchboard/connectors"
)

func normEmail(t *testing.T, v string) (string, error) {
	t.Helper()
	id, err := connectors.Normalize(connectors.Identity{Type: connectors.Email, Value: v}, "")
	return id.Value, err
}

// Ordinary ASCII addresses normalise exactly as the hub always stored
// them (lower-cased), so existing bindings keep matching.
func TestNormalizeEmailASCIIUnchanged(t *testing.T) {
	for in, want := range map[string]string{
		"ann@example.com":               "ann@example.com",
		"Ann@Example.COM":               "ann@example.com",
		"  Ann Customer <ANN@x.ORG>  ":  "ann@x.org",
		"first.last+tag@sub.example.io": "first.last+tag@sub.example.io",
		"a_b@foo_bar.example":           "a_b@foo_bar.example",
		"KATE@EXAMPLE.COM":              "kate@example.com",
		"x@XN--BCHER-KVA.example":       "x@xn--bcher-kva.example",
	} {
		got, err := normEmail(t, in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// The Kelvin sign (U+212A) and other compatibility characters are refused:
// Unicode lower-casing would make "\u212Aate@" the customer kate@.
func TestNormalizeEmailRefusesCompatibilityCharacters(t *testing.T) {
	for _, in := range []string{
		"\u212Aate@example.com",   // Kelvin sign
		"kate@e\u212Aample.com",   // Kelvin sign in the domain
		"\uff4bate@example.com",   // fullwidth k
		"kate@\uff45xample.com",   // fullwidth e in the domain
		"\ufb01nance@example.com", // fi ligature
		"\u2126mega@example.com",  // ohm sign
	} {
		got, err := normEmail(t, in)
		if !errors.Is(err, connectors.ErrInvalid) {
			t.Errorf("Normalize(%q) = %q, %v; want an error wrapping ErrInvalid", in, got, err)
		}
	}
}

// A non-ASCII capital never folds into an ASCII letter: "İNFO@" (dotted
// capital I, U+0130) stays distinct from info@.
func TestNormalizeEmailDottedCapitalIStaysDistinct(t *testing.T) {
	got, err := normEmail(t, "\u0130NFO@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got == "info@example.com" || got != "\u0130nfo@example.com" {
		t.Fatalf("Normalize(İNFO@example.com) = %q; want İnfo@example.com, never info@example.com", got)
	}
	plain, _ := normEmail(t, "INFO@example.com")
	if plain == got {
		t.Fatalf("İNFO@ and INFO@ are one identity %q", got)
	}
}

// Non-ASCII local parts are lower-cased where that is safe, in NFC; IDN
// domains become punycode, so the Unicode and ASCII forms are one domain.
func TestNormalizeEmailInternationalised(t *testing.T) {
	for in, want := range map[string]string{
		"J\u00dcRGEN@example.de":                 "j\u00fcrgen@example.de",
		"ju\u0308rgen@example.de":                "j\u00fcrgen@example.de", // decomposed ü: NFC
		"x@b\u00fccher.example":                  "x@xn--bcher-kva.example",
		"x@B\u00dcCHER.example":                  "x@xn--bcher-kva.example",
		"x@xn--bcher-kva.example":                "x@xn--bcher-kva.example",
		"\u0391\u03bd\u03bd\u03b1@x.gr":          "\u03b1\u03bd\u03bd\u03b1@x.gr",
		"\u7528\u6237@\u4f8b\u5b50.\u4e2d\u56fd": "\u7528\u6237@xn--fsqu00a.xn--fiqs8s",
	} {
		got, err := normEmail(t, in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := normEmail(t, "x@-bad-.\u00fc"); !errors.Is(err, connectors.ErrInvalid) {
		t.Errorf("an invalid IDN domain was accepted: %v", err)
	}
}

// Normalising twice changes nothing (a stored value is its own key).
func TestNormalizeEmailIdempotent(t *testing.T) {
	for _, in := range []string{"Ann@Example.COM", "J\u00dcRGEN@B\u00dcCHER.example", "\u0130NFO@example.com", "\u03a3\u03a3@x.gr"} {
		once, err := normEmail(t, in)
		if err != nil {
			t.Fatal(err)
		}
		twice, err := normEmail(t, once)
		if err != nil || twice != once {
			t.Errorf("%q -> %q -> %q, %v", in, once, twice, err)
		}
	}
}
