package inbox

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
)

// Principal is an authenticated agent or admin.
type Principal struct {
	Name  string
	Role  string // admin | agent
	Teams []string
	// Scopes and Channels: what an API key (Role RoleKey) may do (apikeys.go).
	Scopes   []string `json:"-"`
	Channels []string `json:"-"`
}

// IsAdmin reports whether p may use admin routes.
func (p Principal) IsAdmin() bool { return p.Role == "admin" }

// Credential is how one principal authenticates: the SHA-256 of its bearer
// token (tokens themselves are never kept in memory longer than loading).
type Credential struct {
	Principal   Principal
	TokenSHA256 string // hex; empty: no API token (password sign-in only)
	// PasswordHash (bcrypt or argon2id) lets the agent sign in to the web UI.
	PasswordHash string
}

type authenticator struct {
	creds []Credential
	keys  []APIKey // apikeys.go
}

func (a *authenticator) lookup(token string) (Principal, bool) {
	if token == "" {
		return Principal{}, false
	}
	sum := sha256.Sum256([]byte(token))
	got := hex.EncodeToString(sum[:])
	var found *Principal
	for i := range a.creds {
		// Compare every credential in constant time.
		if subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(a.creds[i].TokenSHA256))) == 1 {
			found = &a.creds[i].Principal
		}
	}
	if found == nil {
		return a.lookupKey(got)
	}
	return *found, true
}

type principalKey struct{}

func principalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// bearer extracts the token of an "Authorization: Bearer TOKEN" header.
// A token is never taken from the URL (EventSource, which cannot set
// headers, uses a stream ticket: tickets.go).
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// HashToken returns the hex SHA-256 of a token, as kept in Credential.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
