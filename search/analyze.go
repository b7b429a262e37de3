package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-hub/switchboard/connectors"
)

// Term prefixes: a plain word has none; exact identity values and the
// channel filter carry one, so a word never collides with them.
const (
	prefixPhone   = "tel:"
	prefixEmail   = "mail:"
	prefixChannel = "ch:"
	maxTermLen    = 64
)

// ChannelTerm is the term every document of channel carries, so the
// channel filter intersects on the index like any word.
func ChannelTerm(channel string) string { return prefixChannel + strings.ToLower(channel) }

// words splits s into lower-case words of letters and digits, with their
// byte offsets in s.
func words(s string, f func(w string, start, end int)) {
	rawWords(s, func(w string, a, b int) { f(strings.ToLower(w), a, b) })
}

// rawWords is words without lower-casing (no allocation per word).
func rawWords(s string, f func(w string, start, end int)) {
	start := -1
	for i, r := range s {
		alnum := unicode.IsLetter(r) || unicode.IsDigit(r)
		if alnum && start < 0 {
			start = i
		}
		if !alnum && start >= 0 {
			f(s[start:i], start, i)
			start = -1
		}
	}
	if start >= 0 {
		f(s[start:], start, len(s))
	}
}

// textTerms adds the words of s to set.
func textTerms(s string, set map[string]struct{}) {
	words(s, func(w string, _, _ int) {
		if len(w) <= maxTermLen {
			set[w] = struct{}{}
		}
	})
}

// identityTerms adds the exact terms of one identity: an email address
// whole (and its words), a phone number in E.164, any other id (a chat
// user id) as its words.
func identityTerms(id connectors.Identity, set map[string]struct{}) {
	v := strings.TrimSpace(id.Value)
	switch id.Type {
	case connectors.Email:
		if n, err := connectors.NormalizeEmail(v); err == nil {
			v = n
		}
		set[prefixEmail+v] = struct{}{}
		textTerms(v, set)
	case connectors.Phone:
		set[prefixPhone+v] = struct{}{}
		// The national digits without the country code are a word too,
		// so a number typed in part still finds its owner.
		textTerms(strings.TrimPrefix(v, "+"), set)
	default:
		textTerms(v, set)
	}
}

// Terms returns the distinct terms d is indexed under: the words of its
// subject, text and customer name, its customer's identities, and its
// channel's term.
func Terms(d Doc) []string {
	set := map[string]struct{}{}
	textTerms(d.Subject, set)
	textTerms(d.Text, set)
	textTerms(d.Name, set)
	for _, id := range d.Identities {
		identityTerms(id, set)
	}
	if d.Channel != "" {
		set[ChannelTerm(d.Channel)] = struct{}{}
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	return out
}

// Parsed is a query analysed into the terms every hit must carry and the
// words to highlight.
type Parsed struct {
	Terms []string // every one must match (AND)
	Words []string // plain words, for ranking and highlights
}

// Parse analyses q: a query that is a phone number in any format (digits
// with spaces, dashes, dots, brackets, a leading + or 00) becomes its
// E.164 term with region as the default country; an email address
// becomes its exact term; everything else is words.
func Parse(q, region string) Parsed {
	var p Parsed
	q = strings.TrimSpace(q)
	if q == "" {
		return p
	}
	if looksLikePhone(q) {
		id, err := connectors.Normalize(connectors.Identity{Type: connectors.Phone, Value: q}, region)
		if err == nil {
			p.Terms = append(p.Terms, prefixPhone+id.Value)
			return p
		}
	}
	seen := map[string]bool{}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			p.Terms = append(p.Terms, t)
		}
	}
	for _, chunk := range strings.Fields(q) {
		if strings.Contains(chunk, "@") {
			if a, err := connectors.NormalizeEmail(strings.Trim(chunk, "<>,;")); err == nil {
				add(prefixEmail + a)
				continue
			}
		}
		words(chunk, func(w string, _, _ int) {
			if len(w) > maxTermLen {
				w = w[:maxTermLen]
				for !utf8.ValidString(w) {
					w = w[:len(w)-1]
				}
			}
			if !seen[w] {
				p.Words = append(p.Words, w)
			}
			add(w)
		})
	}
	return p
}

// looksLikePhone: only phone punctuation and at least six digits.
func looksLikePhone(q string) bool {
	digits := 0
	for i, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/':
		default:
			return false
		}
	}
	return digits >= 6
}
