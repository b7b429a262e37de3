package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Environment variable names with a fixed meaning.
const (
	// EnvPrefix starts every environment override.
	EnvPrefix = "SWITCHBOARD_"
	// EnvConfigFile names the config file when no --config flag is given.
	// Load ignores it; FilePath reads it.
	EnvConfigFile = "SWITCHBOARD_CONFIG"
)

// Channel types.
const (
	TypeAPI     = "api"
	TypeEmail   = "email"
	TypeSMS     = "sms"
	TypeSlack   = "slack"
	TypeWebform = "webform"
	TypePlugin  = "plugin"
)

// Channel phases, in the order a channel normally moves through them.
const (
	PhaseOff    = "off"
	PhaseShadow = "shadow"
	PhasePilot  = "pilot"
	PhaseLive   = "live"
)

// Agent roles.
const (
	RoleAdmin = "admin"
	RoleAgent = "agent"
)

// Defaults applied by SetDefaults.
const (
	DefaultHTTPAddr        = "127.0.0.1:8080"
	DefaultMaxBodyBytes    = int64(1 << 20)
	DefaultEmbeddedPath    = "./switchboard-data"
	DefaultRedisPrefix     = "sb"
	DefaultWorkers         = 16
	DefaultMaxAttempts     = 5
	DefaultClaimAfter      = Duration(30 * time.Second)
	DefaultMaxOpenPerAgent = 20
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "json"
)

// Config is the whole configuration of the hub.
type Config struct {
	HTTP     HTTP      `yaml:"http"`
	Store    Store     `yaml:"store"`
	Identity Identity  `yaml:"identity"`
	Router   Router    `yaml:"router"`
	Agents   []Agent   `yaml:"agents"`
	Teams    []Team    `yaml:"teams"`
	Routing  []Route   `yaml:"routing"`
	Channels []Channel `yaml:"channels"`
	Plugins  []Plugin  `yaml:"plugins"`
	Log      Log       `yaml:"log"`

	// loadErrs are problems found while loading (env overrides, secret
	// files) that Validate reports together with its own findings.
	loadErrs ValidationErrors
}

// HTTP is the single HTTP listener (API, webhooks, UI, health, metrics).
type HTTP struct {
	// Addr is host:port to listen on. Default 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// PublicURL is the base URL the hub is reached at from outside (e.g.
	// https://hub.example.com), used to check webhook signatures that cover
	// the full request URL. Optional.
	PublicURL string `yaml:"public_url"`
	// MaxBodyBytes caps every request body. Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// TrustedProxies are the reverse proxies (IP addresses or CIDR
	// prefixes) whose X-Forwarded-For header is believed: the web UI's
	// sign-in lockout counts failures per client address, which behind a
	// proxy is the rightmost X-Forwarded-For address that is not one of
	// these. Empty: the TCP peer is the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Store selects the persistence backend: exactly one of Embedded or Redis.
// When neither is set, Embedded with the default path is used.
type Store struct {
	Embedded *Embedded `yaml:"embedded"`
	Redis    *Redis    `yaml:"redis"`
	// BlobsPath is where attachment content is kept. Default: "blobs" inside
	// the embedded data directory, or ./switchboard-blobs with Redis (every
	// replica must see the same directory).
	BlobsPath string `yaml:"blobs_path"`
}

// Embedded is the single-node on-disk store.
type Embedded struct {
	// Path is the data directory. Default ./switchboard-data.
	Path string `yaml:"path"`
}

// Redis is the shared store for several replicas: standalone (one address),
// Sentinel (sentinel addresses plus MasterName) or Cluster (Cluster: true).
type Redis struct {
	Addrs        []string `yaml:"addrs"`
	Cluster      bool     `yaml:"cluster"`
	MasterName   string   `yaml:"master_name"`
	Username     string   `yaml:"username"`
	Password     string   `yaml:"password"`
	PasswordFile string   `yaml:"password_file"`
	DB           int      `yaml:"db"`
	// Prefix starts every key. Default "sb". Must not contain { or }.
	Prefix string `yaml:"prefix"`
}

// Identity configures identity normalisation.
type Identity struct {
	// DefaultRegion is the ISO 3166-1 alpha-2 region (upper-case, e.g. FI)
	// for phone numbers written without a country code. Empty (the default)
	// means every number must carry its country code.
	DefaultRegion string `yaml:"default_region"`
}

// Router configures the ingest workers.
type Router struct {
	// Workers sets how many messages a replica's router processes at once
	// (32 per worker). Default 16.
	Workers int `yaml:"workers"`
	// MaxAttempts before a message goes to the dead-letter queue. Default 5.
	MaxAttempts int `yaml:"max_attempts"`
	// ClaimAfter is how long a delivered but unacknowledged message waits
	// before another worker claims it. Default 30s.
	ClaimAfter Duration `yaml:"claim_after"`
	// MaxOpenPerAgent caps open conversations auto-assigned to one agent.
	// Default 20.
	MaxOpenPerAgent int `yaml:"max_open_per_agent"`
}

// Agent is a person (or service account) using the inbox and API.
type Agent struct {
	Name string `yaml:"name"`
	// Role is admin or agent. Default agent.
	Role string `yaml:"role"`
	// Token is the API token. Prefer TokenFile or TokenSHA256.
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	// TokenSHA256 is the lower-case hex SHA-256 of the token, for configs
	// that must not hold the token itself.
	TokenSHA256 string   `yaml:"token_sha256"`
	Teams       []string `yaml:"teams"`
	// PasswordHash lets the agent sign in to the web UI: a bcrypt hash
	// ($2a$, $2b$ or $2y$) or an argon2id PHC string
	// ($argon2id$v=19$m=…,t=…,p=…$SALT$HASH). Never the password itself.
	PasswordHash string `yaml:"password_hash"`
	// PasswordHashFile is a file holding the password hash (a mounted secret).
	PasswordHashFile string `yaml:"password_file"`
}

// Team is a group of agents conversations are routed to.
type Team struct {
	Name string `yaml:"name"`
}

// Route sends conversations of a channel ("*" for every channel) to a team.
type Route struct {
	Channel string `yaml:"channel"`
	Team    string `yaml:"team"`
}

// Plugin is an out-of-process channel binary.
type Plugin struct {
	Name string `yaml:"name"`
	Path string `yaml:"path"`
	// SHA256 is the optional lower-case hex SHA-256 of the binary; the host
	// refuses to launch a binary that does not match.
	SHA256   string            `yaml:"sha256"`
	Settings map[string]string `yaml:"settings"`
	// VerifiedKinds are the hub's own identity kinds (email, phone, slack)
	// this plugin may vouch for. Without them, identities of those kinds
	// from the plugin are stored as claimed whatever it declares.
	VerifiedKinds []string `yaml:"verified_kinds"`
}

// Log configures structured logging.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is json or text. Default json.
	Format string `yaml:"format"`
}

// Channel is one configured channel. The section matching Type (Email for
// type email, ...) holds the type's settings raw; the connector decodes it
// strictly with Decode.
type Channel struct {
	// Name is [a-z0-9_-]{1,64}; it appears in URLs (/webhooks/twilio/NAME).
	Name string `yaml:"name"`
	// Type is api, email, sms, slack, webform or plugin.
	Type string `yaml:"type"`
	// Phase is off, shadow, pilot or live. The default is live for type api
	// (the hub's own API has nothing to roll out) and off for every other
	// type, so a new external channel never goes live by accident.
	Phase string `yaml:"phase"`
	// PilotTeam is the team that sees the channel's conversations in the
	// pilot phase. Required when Phase is pilot.
	PilotTeam string `yaml:"pilot_team"`
	// Trusted (api channels only): identities the caller sends are treated
	// as verified instead of claimed.
	Trusted bool `yaml:"trusted"`
	// Team conversations of this channel route to. Optional.
	Team string `yaml:"team"`

	Email   map[string]any `yaml:"email"`
	SMS     map[string]any `yaml:"sms"`
	Slack   map[string]any `yaml:"slack"`
	Webform map[string]any `yaml:"webform"`
	Plugin  map[string]any `yaml:"plugin"`
}

// Duration is a time.Duration written as a Go duration string ("30s",
// "1m30s") in YAML and in environment variables.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalText parses a Go duration string. A bare number other than 0 is
// rejected: the unit must be explicit.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("is not a duration (use a unit, e.g. 30s, 5m, 1h30m)")
	}
	*d = Duration(v)
	return nil
}

// MarshalText formats d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalYAML accepts a scalar duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a duration must be a string like 30s", n.Line)
	}
	if err := d.UnmarshalText([]byte(n.Value)); err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	return nil
}

// MarshalYAML writes d as a duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// FilePath returns the config file to load: flag when non-empty, else the
// value of SWITCHBOARD_CONFIG in env (a list like os.Environ()), else "".
func FilePath(flag string, env []string) string {
	if flag != "" {
		return flag
	}
	path := ""
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == EnvConfigFile {
			path = v
		}
	}
	return path
}

// Load reads the YAML file at path ("" means no file: all defaults), applies
// the SWITCHBOARD_* overrides found in env (a list like os.Environ()), fills
// defaults, reads *_file secrets and validates.
//
// A file that cannot be read or decoded (bad YAML, unknown key, wrong type)
// returns a nil *Config and the error. Otherwise the *Config is returned
// even when it is invalid, together with a ValidationErrors listing every
// problem (env overrides, secret files, Validate), so a caller may still
// print cfg.Redacted(); callers that only run must stop on any error.
func Load(path string, env []string) (*Config, error) {
	cfg := &Config{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := decodeStrict(data, cfg, path, true); err != nil {
			return nil, err
		}
	}
	cfg.loadErrs = append(cfg.loadErrs, applyEnv(cfg, env)...)
	cfg.SetDefaults()
	cfg.loadErrs = append(cfg.loadErrs, resolveSecrets(cfg)...)
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// SetDefaults fills every unset key with its default. Load calls it; code
// that builds a Config by hand may call it before Validate. It also
// normalises identity.default_region to upper case.
func (c *Config) SetDefaults() {
	if c.HTTP.Addr == "" {
		c.HTTP.Addr = DefaultHTTPAddr
	}
	if c.HTTP.MaxBodyBytes == 0 {
		c.HTTP.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Store.Embedded == nil && c.Store.Redis == nil {
		c.Store.Embedded = &Embedded{}
	}
	if c.Store.Embedded != nil && c.Store.Embedded.Path == "" {
		c.Store.Embedded.Path = DefaultEmbeddedPath
	}
	if c.Store.Redis != nil && c.Store.Redis.Prefix == "" {
		c.Store.Redis.Prefix = DefaultRedisPrefix
	}
	c.Identity.DefaultRegion = strings.ToUpper(c.Identity.DefaultRegion)
	if c.Router.Workers == 0 {
		c.Router.Workers = DefaultWorkers
	}
	if c.Router.MaxAttempts == 0 {
		c.Router.MaxAttempts = DefaultMaxAttempts
	}
	if c.Router.ClaimAfter == 0 {
		c.Router.ClaimAfter = DefaultClaimAfter
	}
	if c.Router.MaxOpenPerAgent == 0 {
		c.Router.MaxOpenPerAgent = DefaultMaxOpenPerAgent
	}
	for i := range c.Agents {
		if c.Agents[i].Role == "" {
			c.Agents[i].Role = RoleAgent
		}
	}
	for i := range c.Channels {
		ch := &c.Channels[i]
		if ch.Phase == "" {
			if ch.Type == TypeAPI {
				ch.Phase = PhaseLive
			} else {
				ch.Phase = PhaseOff
			}
		}
	}
	if c.Log.Level == "" {
		c.Log.Level = DefaultLogLevel
	}
	if c.Log.Format == "" {
		c.Log.Format = DefaultLogFormat
	}
}

// decodeStrict decodes one YAML document into out, rejecting unknown keys.
// where names the source in errors (a file path, or channels[x].email).
func decodeStrict(data []byte, out any, where string, withLine bool) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty document
		}
		return yamlError(err, data, where, withLine)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return yamlError(err, data, where, withLine)
		}
		return ValidationErrors{{Path: where, Msg: "holds more than one YAML document"}}
	}
	return nil
}

var (
	lineRe     = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)
	notFoundRe = regexp.MustCompile(`field (\S+) not found in type (\S+)`)
	backtickRe = regexp.MustCompile(" ?`[^`]*`")
	typeRe     = regexp.MustCompile(`^cannot unmarshal !!(\w+) into (\S+)$`)
)

// sectionOf names where a Go type of this package sits in the file.
var sectionOf = map[string]string{
	"config.Config":   "the top level",
	"config.HTTP":     "http",
	"config.Store":    "store",
	"config.Embedded": "store.embedded",
	"config.Redis":    "store.redis",
	"config.Identity": "identity",
	"config.Router":   "router",
	"config.Agent":    "agents[]",
	"config.Team":     "teams[]",
	"config.Route":    "routing[]",
	"config.Channel":  "channels[]",
	"config.Plugin":   "plugins[]",
	"config.Log":      "log",
}

var yamlTagNames = map[string]string{
	"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean",
	"seq": "a list", "map": "a mapping", "null": "null", "timestamp": "a timestamp", "binary": "binary data",
}

// goTypeName describes a Go type named in a yaml.v3 error.
func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), sectionOf[t] != "":
		return "a mapping"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "a boolean"
	}
	return t
}

// yamlError turns a yaml.v3 error into ValidationErrors with one entry per
// problem. Where known, the message starts with the key path found at the
// reported line of data. Values quoted by yaml.v3 (`...`) are cut so that a
// secret written in the wrong place never reaches an error.
//
// withLine appends the line to where (for a file: FILE:LINE); without it the
// line is dropped (a channel section is re-encoded, so its lines mean
// nothing to the user).
func yamlError(err error, data []byte, where string, withLine bool) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var lines map[int][]string
	out := make(ValidationErrors, 0, len(msgs))
	for _, m := range msgs {
		path, key := where, ""
		m = backtickRe.ReplaceAllString(m, "")
		if sm := lineRe.FindStringSubmatch(m); sm != nil {
			if withLine {
				path = where + ":" + sm[1]
			}
			m = m[len(sm[0]):]
			if lines == nil {
				lines = lineIndex(data)
			}
			n, _ := strconv.Atoi(sm[1])
			if ps := lines[n]; len(ps) == 1 {
				key = ps[0]
			}
		}
		if sm := notFoundRe.FindStringSubmatch(m); sm != nil {
			in := sectionOf[sm[2]]
			if in == "" {
				in = "type " + sm[2]
			}
			m, key = "unknown key "+strconv.Quote(sm[1])+" in "+in, ""
		} else if sm := typeRe.FindStringSubmatch(m); sm != nil {
			got := yamlTagNames[sm[1]]
			if got == "" {
				got = sm[1]
			}
			m = "wrong type: want " + goTypeName(sm[2]) + ", got " + got
		}
		if key != "" {
			m = key + ": " + m
		}
		out = append(out, FieldError{Path: path, Msg: m})
	}
	return out
}

// lineIndex maps a line of a YAML document to the key paths whose value
// starts on it (scalars and flow collections written on the key's line).
func lineIndex(data []byte) map[int][]string {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return map[int][]string{}
	}
	idx := map[int][]string{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := joinPath(path, k.Value)
				if v.Kind == yaml.ScalarNode || v.Line == k.Line {
					idx[v.Line] = append(idx[v.Line], p)
				}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if c.Kind == yaml.ScalarNode {
					idx[c.Line] = append(idx[c.Line], p)
				}
				walk(c, p)
			}
		}
	}
	walk(&doc, "")
	return idx
}
