package connectors

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizeSubject(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Broken lamp", "broken lamp"},
		{"Re: Broken lamp", "broken lamp"},
		{"RE: Broken lamp", "broken lamp"},
		{"AW: Broken lamp", "broken lamp"},
		{"VS: SV: Re: AW: Fwd: VL: RE: Broken lamp", "broken lamp"},
		{"Fw: Fwd: FW: broken   lamp", "broken lamp"},
		{"Re[2]: Re(3): Re^4: Re : Broken lamp", "broken lamp"},
		{"Antw: Ynt: Odp: Rif: Tr: WG: Broken lamp", "broken lamp"},
		{"Re: Broken lamp [#4F2KQX]", "broken lamp"},
		{"[#4F2KQX] Re: Broken lamp", "broken lamp"},
		{"[EXTERNAL] RE: Broken lamp (fwd)", "broken lamp"},
		{"回复：Broken lamp", "broken lamp"},
		{"Re:", ""},
		{"Re: Re: ", ""},
		{"Reply needed: lamp", "reply needed: lamp"}, // not a prefix
		{"Regarding: lamp", "regarding: lamp"},
		{"Vsop: order", "vsop: order"},
		{"Broken\r\n lamp", "broken lamp"},
	} {
		if got := NormalizeSubject(tc.in); got != tc.want {
			t.Errorf("NormalizeSubject(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSubjectToken(t *testing.T) {
	tok := ConversationToken("v_0123")
	if len(tok) != 6 || tok != ConversationToken("v_0123") || tok == ConversationToken("v_0124") {
		t.Fatalf("token %q not a stable 6-character reference", tok)
	}
	for _, tc := range []struct{ in, want string }{
		{"Re: lamp [#" + tok + "]", tok},
		{"Re: lamp [#" + strings.ToLower(tok) + "]", tok},
		{"[#12345] lamp", ""},   // too short
		{"[#ABCDEFG] lamp", ""}, // too long
		{"[#ABCDEU] lamp", ""},  // U is not Crockford base32
		{"[# [#ABC123]", "ABC123"},
		{"no token", ""},
	} {
		if got := SubjectToken(tc.in); got != tc.want {
			t.Errorf("SubjectToken(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzNormalizeSubject: no subject makes the normaliser panic or grow; the
// result is valid lower-case UTF-8 without control characters, and
// normalising is idempotent on a reply prefix: "Re: "+s normalises as s.
func FuzzNormalizeSubject(f *testing.F) {
	for _, s := range []string{"Re: Broken lamp", "VS: SV: AW: Fwd: VL: RE: x", "Re[2]: [#4F2KQX] x (fwd)", "回复：x", "[", "Re", "Re:::", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeSubject(s)
		if !utf8.ValidString(n) {
			t.Fatalf("invalid UTF-8 %q", n)
		}
		if len(n) > 4*len(s)+8 {
			t.Fatalf("grew from %d to %d bytes", len(s), len(n))
		}
		for _, r := range n {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("control character in %q", n)
			}
		}
		if n != "" && strings.Count(s, ":") < maxSubjectPrefixes-1 {
			if m := NormalizeSubject("Re: " + n); m != NormalizeSubject(n) {
				t.Fatalf("Re: %q normalises to %q, %q to %q", n, m, n, NormalizeSubject(n))
			}
		}
		_ = SubjectToken(s)
	})
}
