package inbox

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
)

// ---- scoped API keys (issue 21) -------------------------------------------

// Scopes an APIKey may hold.
const (
	ScopeIngest   = "ingest"   // POST /api/v1/channels/{name}/messages to the key's channels
	ScopeRead     = "read"     // customers and timelines
	ScopeWebhooks = "webhooks" // the webhook admin API
)

// RoleKey is the role of a principal authenticated by an API key.
const RoleKey = "key"

// APIKey is a token for a system, separate from agents: it reaches only
// what its scopes name (never the inbox, the event stream or an agent's
// routes). Several digests under one name are all active at once, which is
// how a key is rotated without downtime.
type APIKey struct {
	Name string
	// TokenSHA256 are the hex SHA-256 digests of the key's tokens.
	TokenSHA256 []string
	Channels    []string
	Scopes      []string
}

// KeyPrefix starts the principal name of an API key ("key:crm"): what
// posted_by and the audit log record for it.
const KeyPrefix = "key:"

// IsKey reports whether p is an API key.
func (p Principal) IsKey() bool { return p.Role == RoleKey }

// HasScope reports whether p is a key holding scope.
func (p Principal) HasScope(scope string) bool { return p.IsKey() && slices.Contains(p.Scopes, scope) }

// lookupKey finds the key whose digest is got (hex), in constant time over
// every digest of every key.
func (a *authenticator) lookupKey(got string) (Principal, bool) {
	var found *APIKey
	for i := range a.keys {
		for _, d := range a.keys[i].TokenSHA256 {
			if subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(d))) == 1 {
				found = &a.keys[i]
			}
		}
	}
	if found == nil {
		return Principal{}, false
	}
	return Principal{Name: KeyPrefix + found.Name, Role: RoleKey, Scopes: slices.Clone(found.Scopes), Channels: slices.Clone(found.Channels)}, true
}

// keyRoutes are the routes a scope opens (r.Pattern as registered).
var keyRoutes = map[string][]string{
	ScopeIngest: {"POST /api/v1/channels/{name}/messages"},
	ScopeRead: {"GET /api/v1/customers", "GET /api/v1/customers/{id}", "GET /api/v1/customers/{id}/timeline",
		"GET /api/v1/version"},
	ScopeWebhooks: {"GET /api/v1/webhooks", "POST /api/v1/webhooks", "GET /api/v1/webhooks/{name}",
		"PATCH /api/v1/webhooks/{name}", "DELETE /api/v1/webhooks/{name}", "GET /api/v1/webhooks/{name}/deliveries",
		"POST /api/v1/webhooks/{name}/replay", "POST /api/v1/webhooks/{name}/ping"},
}

// keyAllows reports whether key principal p may use the route r matched.
// An ingest key's channel is checked by the handler (apiChannelMessage),
// which names the channel in its refusal.
func keyAllows(p Principal, r *http.Request) bool {
	for _, scope := range p.Scopes {
		if slices.Contains(keyRoutes[scope], r.Pattern) {
			return true
		}
	}
	return false
}

// mayPost decides whether p may post to api channel name: a key needs the
// ingest scope and the channel listed; on a trusted channel (whose
// identities are taken as verified, so a post may merge customers) only
// such keys and admins may post, never an agent's token.
func mayPost(p Principal, name string, trusted bool) (bool, string) {
	switch {
	case p.IsKey():
		if !p.HasScope(ScopeIngest) || !slices.Contains(p.Channels, name) {
			return false, "this API key may not post to channel " + name
		}
		return true, ""
	case p.IsAdmin():
		return true, ""
	case trusted:
		return false, "channel " + name + " is trusted: only API keys scoped to it (and admins) may post"
	}
	return true, ""
}
