package connectors

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
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

// Normalize returns the identity in canonical form: e-mail lower-cased,
// phone numbers in E.164 (numbers without a country code are read in
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
		addr, err := mail.ParseAddress(v)
		if err != nil {
			return id, fmt.Errorf("%w: email %q: %v", ErrInvalid, v, err)
		}
		id.Value = strings.ToLower(addr.Address)
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

// ParseKey parses "type:value" (as used by the CLI and the API).
func ParseKey(s string) (Identity, error) {
	t, v, ok := strings.Cut(s, ":")
	if !ok || t == "" || v == "" {
		return Identity{}, fmt.Errorf("%w: identity %q is not TYPE:VALUE", ErrInvalid, s)
	}
	return Identity{Type: t, Value: v}, nil
}

func validUTF8(s string) bool { return utf8.ValidString(s) }
