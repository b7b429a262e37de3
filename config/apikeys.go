package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// API key scopes (issue 21).
const (
	ScopeIngest   = "ingest"   // post to the api channels the key names
	ScopeRead     = "read"     // customers and timelines
	ScopeWebhooks = "webhooks" // the webhook admin API
)

// APIKeyScopes are the scopes an api key may hold.
var APIKeyScopes = []string{ScopeIngest, ScopeRead, ScopeWebhooks}

// APIKey is a token for a system (a CRM, an order system), separate from
// agents: it reaches only what its scopes name, never the inbox. Two
// entries with the same name and different tokens are both active: that is
// how a key is rotated without downtime (add the new token, move the
// system over, remove the old one).
type APIKey struct {
	Name string `yaml:"name"`
	// Token (or TokenFile, or its hex SHA-256 in TokenSHA256).
	Token       string `yaml:"token"`
	TokenFile   string `yaml:"token_file"`
	TokenSHA256 string `yaml:"token_sha256"`
	// Channels are the api channels an ingest key may post to.
	Channels []string `yaml:"channels"`
	// Scopes: ingest, read, webhooks.
	Scopes []string `yaml:"scopes"`
}

// Digest is the lower-case hex SHA-256 of the key's token ("" when none).
func (k APIKey) Digest() string {
	if k.Token != "" {
		sum := sha256.Sum256([]byte(k.Token))
		return hex.EncodeToString(sum[:])
	}
	return strings.ToLower(k.TokenSHA256)
}

// Audit configures the audit log.
type Audit struct {
	// Retention: records older than this are removed by the retention
	// sweeper. Default DefaultAuditRetention; a negative value is an error.
	Retention Duration `yaml:"retention"`
}

// DefaultAuditRetention keeps audit records for 400 days (a year and a
// bit, so a yearly review still sees last year's same month).
const DefaultAuditRetention = Duration(400 * 24 * time.Hour)

func (c *Config) auditDefaults() {
	if c.Audit.Retention == 0 {
		c.Audit.Retention = DefaultAuditRetention
	}
}

func (c *Config) validateAudit(v *validator) {
	if c.Audit.Retention < 0 {
		v.add("audit.retention", "must be positive (got %s)", c.Audit.Retention)
	}
}

// validateAPIKeys checks api_keys against the channels and agents.
func (c *Config) validateAPIKeys(v *validator) {
	apiChannels := map[string]bool{}
	for _, ch := range c.Channels {
		if ch.Type == TypeAPI {
			apiChannels[ch.Name] = true
		}
	}
	agentDigests := map[string]bool{}
	for _, a := range c.Agents {
		d := strings.ToLower(a.TokenSHA256)
		if a.Token != "" {
			sum := sha256.Sum256([]byte(a.Token))
			d = hex.EncodeToString(sum[:])
		}
		if d != "" {
			agentDigests[d] = true
		}
	}
	first := map[string]int{}
	digests := map[string]int{}
	for i, k := range c.APIKeys {
		p := fmt.Sprintf("api_keys[%d]", i)
		switch {
		case k.Name == "":
			v.add(p+".name", "is required")
		case !nameRe.MatchString(k.Name):
			v.add(p+".name", "%q must match %s", k.Name, nameRe)
		}
		hasToken := k.Token != "" || k.TokenFile != ""
		switch {
		case !hasToken && k.TokenSHA256 == "":
			v.add(p, "needs a token source: token_file or token_sha256")
		case hasToken && k.TokenSHA256 != "":
			v.add(p+".token_sha256", "set either token_sha256 or token/token_file, not both")
		case k.TokenSHA256 != "" && !hex64Re.MatchString(k.TokenSHA256):
			v.add(p+".token_sha256", "must be 64 hex digits (the SHA-256 of the token)")
		}
		if d := k.Digest(); d != "" && (k.TokenSHA256 == "" || hex64Re.MatchString(k.TokenSHA256)) {
			if j, dup := digests[d]; dup {
				v.add(p, "has the same token as api_keys[%d]", j)
			} else {
				digests[d] = i
			}
			if agentDigests[d] {
				v.add(p, "has the same token as an agent; a key needs a token of its own")
			}
		}
		if len(k.Scopes) == 0 {
			v.add(p+".scopes", "is required: one or more of %s", strings.Join(APIKeyScopes, ", "))
		}
		for j, s := range k.Scopes {
			v.oneOf(fmt.Sprintf("%s.scopes[%d]", p, j), s, APIKeyScopes)
		}
		if slices.Contains(k.Scopes, ScopeIngest) && len(k.Channels) == 0 {
			v.add(p+".channels", "an ingest key needs the api channels it may post to")
		}
		for j, ch := range k.Channels {
			if !apiChannels[ch] {
				v.add(fmt.Sprintf("%s.channels[%d]", p, j), "%q is not a configured channel of type api", ch)
			}
		}
		// A second entry of one name is a rotation: it must grant the same.
		if j, seen := first[k.Name]; seen && k.Name != "" {
			o := c.APIKeys[j]
			if !sameSet(o.Scopes, k.Scopes) || !sameSet(o.Channels, k.Channels) {
				v.add(p, "repeats the name of api_keys[%d] (a rotation) with other scopes or channels; a rotated key grants the same", j)
			}
		} else {
			first[k.Name] = i
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
