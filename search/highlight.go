package search

import (
	"slices"
	"unicode/utf8"
)

// Highlight cuts s into segments, marking the words of s that are among
// words. With width > 0 the result is a snippet of about width bytes
// around the first match (or the start), with "…" where it was cut.
func Highlight(s string, query []string, width int) []Segment {
	if s == "" {
		return nil
	}
	type span struct{ a, b int }
	var spans []span
	words(s, func(w string, a, b int) {
		if slices.Contains(query, w) {
			spans = append(spans, span{a, b})
		}
	})
	lo, hi := 0, len(s)
	if width > 0 && len(s) > width {
		first := 0
		if len(spans) > 0 {
			first = spans[0].a
		}
		lo = max(0, first-width/4)
		hi = min(len(s), lo+width)
		for lo > 0 && !utf8.RuneStart(s[lo]) {
			lo--
		}
		for hi < len(s) && !utf8.RuneStart(s[hi]) {
			hi++
		}
	}
	var out []Segment
	if lo > 0 {
		out = append(out, Segment{Text: "…"})
	}
	at := lo
	for _, sp := range spans {
		if sp.a < lo || sp.b > hi {
			continue
		}
		if sp.a > at {
			out = append(out, Segment{Text: s[at:sp.a]})
		}
		out = append(out, Segment{Text: s[sp.a:sp.b], Match: true})
		at = sp.b
	}
	if at < hi {
		out = append(out, Segment{Text: s[at:hi]})
	}
	if hi < len(s) {
		out = append(out, Segment{Text: "…"})
	}
	return out
}
