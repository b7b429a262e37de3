package email

import (
	"strings"

	"github.com/switchboard-hub/switchboard/connectors"
)

// AuthResult is one Authentication-Results header (RFC 8601): the
// authserv-id of the server that added it and the results it reports.
type AuthResult struct {
	// AuthServID is lower-cased.
	AuthServID string
	Methods    []AuthMethod
}

// AuthMethod is one "method=result" of an Authentication-Results header
// with its properties ("header.d" -> "example.com"). Method, result and
// property names are lower-cased; values are as written, unquoted.
type AuthMethod struct {
	Method string
	Result string
	Props  map[string]string
}

// maxAuthResults bounds how many Authentication-Results headers are read
// (a hostile mail may carry thousands; only the receiving server's count).
const maxAuthResults = 50

// parseAuthResults parses one Authentication-Results header value. It
// returns false when the value has no authserv-id.
func parseAuthResults(v string) (AuthResult, bool) {
	segs := splitOutsideQuotes(stripComments(v), ';')
	head := strings.Fields(segs[0])
	if len(head) == 0 {
		return AuthResult{}, false
	}
	ar := AuthResult{AuthServID: strings.ToLower(unquote(head[0]))}
	for _, seg := range segs[1:] {
		toks := tokens(seg)
		if len(toks) == 0 {
			continue
		}
		method, result, ok := strings.Cut(toks[0], "=")
		if !ok {
			continue // "none" (no results) or garbage
		}
		if i := strings.IndexByte(method, '/'); i >= 0 {
			method = method[:i] // method version, e.g. dkim/1
		}
		m := AuthMethod{Method: strings.ToLower(method), Result: strings.ToLower(unquote(result)), Props: map[string]string{}}
		for _, t := range toks[1:] {
			k, v, ok := strings.Cut(t, "=")
			if !ok || !strings.Contains(k, ".") {
				continue // reason=... or garbage
			}
			k = strings.ToLower(k)
			if _, dup := m.Props[k]; !dup {
				m.Props[k] = unquote(v)
			}
		}
		ar.Methods = append(ar.Methods, m)
	}
	return ar, true
}

// stripComments removes RFC 5322 comments "(...)" (nested, with quoted
// pairs) outside quoted strings.
func stripComments(s string) string {
	var b strings.Builder
	depth, quoted, esc := 0, false, false
	for _, r := range s {
		switch {
		case esc:
			esc = false
			if depth == 0 {
				b.WriteRune(r)
			}
			continue
		case r == '\\' && (quoted || depth > 0):
			esc = true
			if depth == 0 {
				b.WriteRune(r)
			}
			continue
		case quoted:
			if r == '"' {
				quoted = false
			}
		case r == '"' && depth == 0:
			quoted = true
		case r == '(':
			depth++
			continue
		case r == ')' && depth > 0:
			depth--
			b.WriteRune(' ')
			continue
		}
		if depth == 0 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// splitOutsideQuotes splits s at sep outside quoted strings.
func splitOutsideQuotes(s string, sep rune) []string {
	var out []string
	start, quoted, esc := 0, false, false
	for i, r := range s {
		switch {
		case esc:
			esc = false
		case r == '\\' && quoted:
			esc = true
		case r == '"':
			quoted = !quoted
		case r == sep && !quoted:
			out = append(out, s[start:i])
			start = i + len(string(sep))
		}
	}
	return append(out, s[start:])
}

// tokens splits a resinfo into "name=value" tokens, joining the spaces
// RFC 8601 allows around "=" and ".".
func tokens(s string) []string {
	var out []string
	var cur strings.Builder
	quoted, esc, pending := false, false, false
	for _, r := range s {
		if !quoted && (r == ' ' || r == '\t' || r == '\r' || r == '\n') {
			pending = cur.Len() > 0
			continue
		}
		if pending {
			c := cur.String()
			if !strings.HasSuffix(c, "=") && !strings.HasSuffix(c, ".") && r != '=' && r != '.' {
				out = append(out, c)
				cur.Reset()
			}
			pending = false
		}
		switch {
		case esc:
			esc = false
		case r == '\\' && quoted:
			esc = true
		case r == '"':
			quoted = !quoted
		}
		cur.WriteRune(r)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
		s = strings.ReplaceAll(s, `\"`, `"`)
		s = strings.ReplaceAll(s, `\\`, `\`)
	}
	return s
}

// Authenticated reports whether the mail's From address is authenticated
// by a server the operator trusts (email.trusted_authserv_ids), and so may
// be a verified identity. The rule:
//
//   - The From header must hold exactly one address (DMARC authenticates
//     that one; a mail without From, or identified by Sender, is claimed).
//   - Only Authentication-Results headers whose authserv-id is in trusted
//     count; anyone can add one naming any other server. Of those, only
//     the topmost decides: the receiving server adds its header above the
//     ones the mail arrived with, and RFC 8601 §5 has it remove forged
//     ones bearing its own authserv-id.
//   - When that header reports dmarc, dmarc=pass verifies and any other
//     result does not.
//   - Without a dmarc result, dkim=pass verifies when its signing domain
//     (header.d, else the domain of header.i) is the From domain itself
//     (strict alignment; compared after IDNA normalisation).
//
// Without trusted ids, nothing is authenticated: every From is claimed.
func (p *Parsed) Authenticated(trusted []string) bool {
	if p.From == nil || !p.fromHeader || len(trusted) == 0 {
		return false
	}
	from, err := connectors.NormalizeEmail(p.From.Address)
	if err != nil {
		return false
	}
	fromDomain := from[strings.LastIndexByte(from, '@')+1:]
	for _, ar := range p.AuthResults {
		if !trustedID(ar.AuthServID, trusted) {
			continue
		}
		dmarc := false
		for _, m := range ar.Methods {
			if m.Method == "dmarc" {
				if m.Result != "pass" {
					return false
				}
				dmarc = true
			}
		}
		if dmarc {
			return true
		}
		for _, m := range ar.Methods {
			if m.Method != "dkim" || m.Result != "pass" {
				continue
			}
			d := m.Props["header.d"]
			if d == "" {
				if i := strings.LastIndexByte(m.Props["header.i"], '@'); i >= 0 {
					d = m.Props["header.i"][i+1:]
				}
			}
			if d == "" {
				continue
			}
			if nd, err := connectors.NormalizeEmail("x@" + d); err == nil && nd[2:] == fromDomain {
				return true
			}
		}
		return false // the topmost trusted header decides
	}
	return false
}

func trustedID(id string, trusted []string) bool {
	for _, t := range trusted {
		if strings.EqualFold(id, t) {
			return true
		}
	}
	return false
}
