package connectors

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// Identity types known to the hub. Plugins may add their own kinds (any
// lower-case word); those are compared exactly after trimming.
const (
	Email = "email"
	Phone = "phone"
	Slack = "slack"
)

// Identity is one typed way to reach a customer, with how it was learned.
type Identity struct {
	Type  string `json:"type"`
	Value string `json:"value"`
	// Verified means the channel itself vouches for it (the SMS sender
	// number, a Slack user id). Anything typed by the customer is claimed.
	Verified bool `json:"verified"`
}

// Key is the identity's canonical "type:value" form.
func (i Identity) Key() string { return i.Type + ":" + i.Value }

func (i Identity) String() string { return i.Key() }

// Normalize returns the identity in canonical form: e-mail addresses as
// NormalizeEmail says, phone numbers in E.164 (numbers without a country code are read in
// defaultRegion, e.g. "FI"). It fails with an error wrapping ErrInvalid
// when the value cannot be an identity of that type.
func Normalize(id Identity, defaultRegion string) (Identity, error) {
	id.Type = strings.ToLower(strings.TrimSpace(id.Type))
	v := strings.TrimSpace(id.Value)
	if id.Type == "" || v == "" {
		return id, fmt.Errorf("%w: identity %q:%q is empty", ErrInvalid, id.Type, id.Value)
	}
	if !utf8.ValidString(v) || len(v) > 320 {
		return id, fmt.Errorf("%w: identity value is not valid", ErrInvalid)
	}
	switch id.Type {
	case Email:
		n, err := NormalizeEmail(v)
		if err != nil {
			return id, err
		}
		id.Value = n
		// The canonical form must read back as itself ("a b"@x loses its
		// quotes and would not), or normalising is not idempotent.
		if again, err := mail.ParseAddress(id.Value); err != nil || again.Address != id.Value || len(id.Value) > 320 {
			return id, fmt.Errorf("%w: email %q has no canonical form", ErrInvalid, v)
		}
	case Phone:
		num, err := phonenumbers.Parse(v, strings.ToUpper(defaultRegion))
		if err != nil || !phonenumbers.IsPossibleNumber(num) {
			if err == nil {
				err = fmt.Errorf("not a possible number")
			}
			return id, fmt.Errorf("%w: phone %q: %v", ErrInvalid, v, err)
		}
		id.Value = phonenumbers.Format(num, phonenumbers.E164)
		// Likewise the E.164 form must read back as itself (it does not
		// for some digit salads the parser still accepts).
		if again, err := phonenumbers.Parse(id.Value, ""); err != nil || phonenumbers.Format(again, phonenumbers.E164) != id.Value {
			return id, fmt.Errorf("%w: phone %q has no canonical form", ErrInvalid, v)
		}
	default:
		for _, r := range id.Type {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
				return id, fmt.Errorf("%w: identity type %q", ErrInvalid, id.Type)
			}
		}
		id.Value = v
	}
	return id, nil
}

// NormalizeEmail returns the canonical form of an email address (a bare
// address or "Name <address>"; only the address is kept), or an error
// wrapping ErrInvalid. The rule, chosen so that two addresses are one
// identity only when they reach the same mailbox, never because Unicode
// case mapping or compatibility folding made them look alike:
//
//   - Compatibility characters are refused anywhere in the address: a
//     character whose NFKC form is not itself (the Kelvin sign U+212A,
//     the ohm sign, fullwidth letters, ligatures, ...) would otherwise
//     alias an ordinary address. Then the address is put in NFC (a
//     decomposed ü is the composed ü: canonically equivalent text is one
//     address).
//   - An ASCII local part is lower-cased (ASCII letters only), exactly as
//     the hub always stored it.
//   - A non-ASCII local part (RFC 6531) is lower-cased with a safe fold:
//     ASCII letters are lower-cased; a non-ASCII letter is lower-cased only
//     when its lower case is itself non-ASCII and maps back to it
//     (Ü→ü, Σ→σ), so no non-ASCII character ever folds into an ASCII one
//     (İ, U+0130, stays İ: "İNFO@" is "İnfo@", never "info@") and no two
//     capitals fold into one small letter. The result is NFC.
//   - The domain is lower-cased when it is ASCII (as before); a non-ASCII
//     (internationalised) domain is converted by IDNA's lookup profile
//     (UTS #46 mapping, then punycode), so "bücher.example" and
//     "xn--bcher-kva.example" are one domain, as they are in DNS.
func NormalizeEmail(v string) (string, error) {
	addr, err := mail.ParseAddress(strings.TrimSpace(v))
	if err != nil {
		return "", fmt.Errorf("%w: email %q: %v", ErrInvalid, v, err)
	}
	a := addr.Address
	for _, r := range a {
		// Checked rune by rune: NFC itself maps some singletons (the
		// Kelvin sign to K, the ohm sign to omega).
		if r >= utf8.RuneSelf && norm.NFKC.String(string(r)) != string(r) {
			return "", fmt.Errorf("%w: email %q holds the compatibility character %U, which would alias another address", ErrInvalid, a, r)
		}
	}
	a = norm.NFC.String(a)
	if norm.NFKC.String(a) != a {
		return "", fmt.Errorf("%w: email %q holds compatibility characters that would alias another address", ErrInvalid, a)
	}
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 {
		return "", fmt.Errorf("%w: email %q has no local part or domain", ErrInvalid, a)
	}
	local, domain := a[:at], a[at+1:]
	if isASCII(local) {
		local = strings.ToLower(local)
	} else {
		local = norm.NFC.String(strings.Map(safeLower, local))
		if norm.NFKC.String(local) != local {
			return "", fmt.Errorf("%w: email %q: its lower case holds compatibility characters", ErrInvalid, a)
		}
	}
	if isASCII(domain) {
		domain = strings.ToLower(domain)
	} else {
		d, err := idna.Lookup.ToASCII(domain)
		if err != nil {
			return "", fmt.Errorf("%w: email %q: domain: %v", ErrInvalid, a, err)
		}
		domain = strings.ToLower(d)
	}
	return local + "@" + domain, nil
}

// safeLower lower-cases r unless that could make two different local
// parts one: a non-ASCII rune never becomes an ASCII one, and only a
// rune whose lower case upper-cases back to it is changed.
func safeLower(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}
	l := unicode.ToLower(r)
	if l == r || l < utf8.RuneSelf || unicode.ToUpper(l) != r {
		return r
	}
	return l
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// ParseKey parses "type:value" (as used by the CLI and the API).
func ParseKey(s string) (Identity, error) {
	t, v, ok := strings.Cut(s, ":")
	if !ok || t == "" || v == "" {
		return Identity{}, fmt.Errorf("%w: identity %q is not TYPE:VALUE", ErrInvalid, s)
	}
	return Identity{Type: t, Value: v}, nil
}

func validUTF8(s string) bool { return utf8.ValidString(s) }
