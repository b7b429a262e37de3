package search

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse: any query parses without panicking into terms of bounded
// length that are their own analysis (a word term is a word of the query),
// and any text highlights back to itself.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"invoice", "040 123 4567", "+358 (40) 123-4567", "Bob.Stone@Example.com", "ÄIJÄLÄ lasku", "<script>", "a@b", "00358401234567", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		p := Parse(q, "FI")
		for _, term := range p.Terms {
			if term == "" || len(term) > 400 || !utf8.ValidString(term) && utf8.ValidString(q) {
				t.Fatalf("term %q from %q", term, q)
			}
		}
		var b strings.Builder
		for _, s := range Highlight(q, p.Words, 0) {
			b.WriteString(s.Text)
		}
		if b.String() != q {
			t.Fatalf("highlight of %q reads %q", q, b.String())
		}
	})
}
