package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Webhook is one receiver of outgoing webhooks (issue 21): the hub posts
// the events it names, signed as the Standard Webhooks specification says.
type Webhook struct {
	Name string `yaml:"name"`
	// URL must be https unless AllowHTTP.
	URL string `yaml:"url"`
	// Events are event types (WebhookEvents) or "*" for all.
	Events []string `yaml:"events"`
	// Secret (or SecretFile) holds the signing secret, whsec_ + base64;
	// two separated by whitespace sign every delivery with both (a
	// rotation: the new one first).
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// AllowHTTP permits an http:// URL.
	AllowHTTP bool `yaml:"allow_http"`
	// AllowPrivateAddresses permits loopback, private and link-local
	// addresses (checked after DNS resolution).
	AllowPrivateAddresses bool `yaml:"allow_private_addresses"`
	// Enabled (default true): false keeps the endpoint but sends nothing.
	Enabled Toggle `yaml:"enabled"`
}

// IsEnabled reports whether the endpoint sends (Enabled, default true).
func (w Webhook) IsEnabled() bool { return !w.Enabled.Set || w.Enabled.On }

// Toggle is a boolean that knows whether it was set, for keys whose
// default is true.
type Toggle struct{ Set, On bool }

// UnmarshalText reads true/false (environment overrides).
func (t *Toggle) UnmarshalText(b []byte) error {
	v, err := strconv.ParseBool(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a boolean", b)
	}
	t.Set, t.On = true, v
	return nil
}

// UnmarshalYAML reads a YAML boolean.
func (t *Toggle) UnmarshalYAML(n *yaml.Node) error {
	var v bool
	if err := n.Decode(&v); err != nil {
		return err
	}
	t.Set, t.On = true, v
	return nil
}

// Secrets lists the signing secrets (one, or two during a rotation).
func (w Webhook) Secrets() []string { return strings.Fields(w.Secret) }

// WebhookEvents are the event types an endpoint may name (the same list as
// package webhooks, which a test holds it to).
var WebhookEvents = []string{
	"message.received", "message.sent", "message.status",
	"conversation.opened", "conversation.assigned", "conversation.resolved", "conversation.reopened",
	"customer.created", "customer.merged", "customer.unmerged", "customer.erased",
	"consent.changed", "csat.received", "channel.phase_changed", "automation.webhook",
}

var webhookNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func (v *validator) webhooks(ws []Webhook) {
	seen := map[string]bool{}
	for i, w := range ws {
		p := fmt.Sprintf("webhooks[%d]", i)
		switch {
		case !webhookNameRe.MatchString(w.Name):
			v.add(p+".name", "%q must match %s", w.Name, webhookNameRe)
		case seen[w.Name]:
			v.add(p+".name", "duplicate webhook %q", w.Name)
		}
		seen[w.Name] = true
		u, err := url.Parse(w.URL)
		switch {
		case err != nil || u.Host == "":
			v.add(p+".url", "%q is not an absolute URL", w.URL)
		case u.Scheme == "http" && !w.AllowHTTP:
			v.add(p+".url", "must be https (set allow_http: true to send over http)")
		case u.Scheme != "https" && u.Scheme != "http":
			v.add(p+".url", "scheme %q is not https", u.Scheme)
		case u.User != nil:
			v.add(p+".url", "must not carry user info")
		}
		if len(w.Events) == 0 {
			v.add(p+".events", "name at least one event type, or \"*\" for all")
		}
		for j, e := range w.Events {
			if e != "*" && !slices.Contains(WebhookEvents, e) {
				v.add(fmt.Sprintf("%s.events[%d]", p, j), "%q is not one of %s or \"*\"", e, strings.Join(WebhookEvents, ", "))
			}
		}
		secrets := w.Secrets()
		switch {
		case len(secrets) == 0:
			v.add(p+".secret_file", "is required (a signing secret, whsec_ + base64)")
		case len(secrets) > 2:
			v.add(p+".secret_file", "holds %d secrets; at most two (the new and the old one during a rotation)", len(secrets))
		}
		for _, s := range secrets {
			// The same rule as webhooks.CheckSecret, so a file config check
			// accepts is one serve starts with.
			if b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_")); !strings.HasPrefix(s, "whsec_") || err != nil || len(b) < 16 {
				v.add(p+".secret_file", "a secret must be whsec_ followed by base64 of at least 16 bytes")
			}
		}
	}
}

// WebhookDelivery tunes the dispatcher of outgoing webhooks.
type WebhookDelivery struct {
	// IngestShare puts ingest first: while messages are coming in and the
	// process is short of CPU, the dispatcher sends only during this
	// share of every 100 ms (webhooks.Options.IngestShare). Above 0, at
	// most 1; 1 turns the pacing off. Unset: DefaultIngestShare (a
	// pointer, so that an explicit 0 is refused rather than defaulted).
	IngestShare *float64 `yaml:"ingest_share"`
}

// Share is IngestShare, or DefaultIngestShare when it is not set.
func (d WebhookDelivery) Share() float64 {
	if d.IngestShare == nil {
		return DefaultIngestShare
	}
	return *d.IngestShare
}

// DefaultIngestShare is webhook_delivery.ingest_share's default.
const DefaultIngestShare = 0.1

func (c *Config) webhookDeliveryDefaults() {
	if c.WebhookDelivery.IngestShare == nil {
		s := DefaultIngestShare
		c.WebhookDelivery.IngestShare = &s
	}
}

func (c *Config) validateWebhookDelivery(v *validator) {
	if s := c.WebhookDelivery.Share(); !(s > 0 && s <= 1) {
		v.add("webhook_delivery.ingest_share", "must be above 0 and at most 1 (1: not paced), got %v", s)
	}
}
