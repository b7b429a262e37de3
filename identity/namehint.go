package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/store"
)

// Names are not identities, but help (issue 22): when a message creates a
// customer with a name, and a customer of the same name has an email
// address of the same domain or a phone number of the same prefix, the pair
// is suggested as a weak hint (EvidenceNameHint), never merged
// automatically. The hints are found through the claim index under the
// type NameHintType, whose value is a hash of the name and the scope: the
// first customer of that name in that scope holds it, so a hint costs one
// claim per email or phone of a new customer, never a scan. Erasure
// removes them (NameHints gives the keys).

// EvidenceNameHint: the same name and email domain or phone prefix.
const EvidenceNameHint = "name_hint"

// NameHintType is the claim-index type under which name hints are kept.
const NameHintType = "namehint"

// NameHint is one name-hint key of a customer and what it stands for.
type NameHint struct {
	Key   string // claim-index value (a hash)
	Scope string // "email domain example.com", "phone prefix +35840"
}

// phonePrefixLen is how much of an E.164 number is a "prefix": the country
// code and the start of the subscriber number (+35840, +46 70...).
const phonePrefixLen = 6

// NameHints returns the name-hint keys of a customer named name with
// identities ids: one per email domain and phone prefix.
func NameHints(name string, ids []connectors.Identity) []NameHint {
	n := strings.Join(strings.Fields(strings.ToLower(name)), " ")
	if n == "" {
		return nil
	}
	var out []NameHint
	seen := map[string]bool{}
	for _, id := range ids {
		var scope string
		switch id.Type {
		case connectors.Email:
			at := strings.LastIndex(id.Value, "@")
			if at < 0 || at == len(id.Value)-1 {
				continue
			}
			scope = "email domain " + id.Value[at+1:]
		case connectors.Phone:
			if !strings.HasPrefix(id.Value, "+") || len(id.Value) < phonePrefixLen+4 {
				continue // raw unreadable text, or too short to have a prefix
			}
			scope = "phone prefix " + id.Value[:phonePrefixLen]
		default:
			continue
		}
		if !seen[scope] {
			seen[scope] = true
			out = append(out, NameHint{Key: hintKey(n, scope), Scope: scope})
		}
	}
	return out
}

func hintKey(name, scope string) string { return ids.Derived("nh_", name, scope) }

// nameHints suggests (weakly) the customers that share the new customer
// cust's name within one of its scopes.
func (r *Resolver) nameHints(ctx context.Context, cust string, msg connectors.Message, res *Resolution) error {
	for _, h := range NameHints(msg.SenderName, msg.Identities) {
		b, created, err := r.st.BindClaim(ctx, store.Binding{Type: NameHintType, Value: h.Key, CustomerID: cust,
			Channel: msg.Channel, MessageID: msg.ID, CreatedAt: r.clock().UTC()})
		if err != nil {
			return err
		}
		if created {
			continue
		}
		other, err := r.root(ctx, b.CustomerID)
		if errors.Is(err, store.ErrNotFound) {
			continue // erased
		}
		if err != nil {
			return err
		}
		if other == cust {
			continue
		}
		ev := evidence{kind: EvidenceNameHint, channel: msg.Channel,
			text: fmt.Sprintf("weak hint: new customer %s (message %s on channel %s) has the name %q, like customer %s, and the same %s; names are not identities, so this is never merged automatically",
				cust, msg.ID, msg.Channel, msg.SenderName, other, h.Scope)}
		if err := r.suggest(ctx, other, cust, msg.ID, ev, res); err != nil {
			return err
		}
	}
	return nil
}
