package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
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
	// EnvToken and EnvURL are the CLI's API token and hub URL. They are
	// not configuration keys: Load ignores them.
	EnvToken = "SWITCHBOARD_TOKEN"
	EnvURL   = "SWITCHBOARD_URL"
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

	DefaultReadHeaderTimeout  = Duration(10 * time.Second)
	DefaultReadTimeout        = Duration(30 * time.Second)
	DefaultWriteTimeout       = Duration(2 * time.Minute)
	DefaultIdleTimeout        = Duration(2 * time.Minute)
	DefaultBodyTimeout        = Duration(30 * time.Second)
	DefaultUploadTimeout      = Duration(5 * time.Minute)
	DefaultStreamKeepAlive    = Duration(15 * time.Second)
	DefaultMaxStreamsPerAgent = 8
	// MinSessionSecretBytes is the shortest http.session_secret accepted.
	MinSessionSecretBytes = 32
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
	Consent  Consent   `yaml:"consent"`
	Webhooks []Webhook `yaml:"webhooks"`
	// WebhookDelivery tunes the outgoing webhooks' dispatcher (webhooks.go).
	WebhookDelivery WebhookDelivery `yaml:"webhook_delivery"`
	// Retention configures the retention sweeper (retention.go).
	Retention Retention `yaml:"retention"`
	// BusinessHours and SLA are the SLA calendars and policies (sla.go).
	BusinessHours []BusinessHours `yaml:"business_hours"`
	SLA           []SLAPolicy     `yaml:"sla"`
	// APIKeys are tokens for systems, with scopes (apikeys.go).
	APIKeys []APIKey `yaml:"api_keys"`
	// Audit configures the audit log (apikeys.go).
	Audit Audit `yaml:"audit"`
	// Automation configures automation rules (automation.go).
	Automation Automation `yaml:"automation"`

	// loadErrs are problems found while loading (env overrides, secret
	// files) that Validate reports together with its own findings.
	loadErrs ValidationErrors
	// src records where values came from (nil for a hand-built Config).
	src *source
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

	// ReadHeaderTimeout bounds reading a request's headers. Default 10s.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request without a body (headers
	// included); requests with a body get BodyTimeout (UploadTimeout for
	// multipart) from the start of the handler instead. Default 30s.
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response (not the event stream, which
	// has StreamKeepAlive). Default 2m.
	WriteTimeout Duration `yaml:"write_timeout"`
	// IdleTimeout closes a keep-alive connection idle for that long.
	// Default 2m.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// BodyTimeout bounds reading a request body (webhooks, forms, sign-in,
	// API bodies): a body trickled slower is cut off. Default 30s.
	BodyTimeout Duration `yaml:"body_timeout"`
	// UploadTimeout is BodyTimeout for multipart/form-data bodies (files).
	// Default 5m.
	UploadTimeout Duration `yaml:"upload_timeout"`
	// StreamKeepAlive is how often the event stream sends a keep-alive
	// comment. Default 15s.
	StreamKeepAlive Duration `yaml:"stream_keepalive"`
	// DrainDelay: on SIGTERM /readyz answers 503 for this long while the
	// replica still serves, so a load balancer stops sending to it before
	// its listener closes. Default 0 (close at once).
	DrainDelay Duration `yaml:"drain_delay"`
	// MaxStreamsPerAgent bounds concurrent event streams of one agent on
	// one replica (429 beyond it). Default 8.
	MaxStreamsPerAgent int `yaml:"max_streams_per_agent"`
	// MetricsAddr, when set, serves /metrics (without authentication) on
	// its own listener, typically loopback, and no longer on Addr.
	MetricsAddr string `yaml:"metrics_addr"`
	// MetricsToken is a bearer token that may read /metrics on Addr
	// (besides admins). Prefer MetricsTokenFile.
	MetricsToken     string `yaml:"metrics_token"`
	MetricsTokenFile string `yaml:"metrics_token_file"`
	// SessionSecret is mixed into the web UI's session signing key, so a
	// copy of the store alone cannot mint session cookies. Every replica
	// needs the same one. Prefer SessionSecretFile.
	SessionSecret     string `yaml:"session_secret"`
	SessionSecretFile string `yaml:"session_secret_file"`
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
	// Blobs keeps attachments on S3-compatible object storage instead
	// (blobs.s3; config/blobs.go).
	Blobs *Blobs `yaml:"blobs"`
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
	// MinReplicasAck > 0: a message is acknowledged only after that many
	// replicas of its Redis master confirmed it (WAIT), within
	// MinReplicasTimeout (default 100ms); otherwise the ingest fails with a
	// retryable error (503). 0 (the default): acknowledged once the master
	// has it (docs/RELIABILITY.md).
	MinReplicasAck     int      `yaml:"min_replicas_ack"`
	MinReplicasTimeout Duration `yaml:"min_replicas_timeout"`
	// LegacyRecords writes entries and search documents in the format of
	// hubs before the compact records (json.Marshal of the record), which
	// those hubs can read: for a rolling upgrade from, or a rollback to,
	// such a hub. Both formats are always read.
	LegacyRecords bool `yaml:"legacy_records"`
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
	// Leads are agents who see the team's service report (issue 17).
	Leads []string `yaml:"leads"`
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
	// DefaultRegion reads this channel's phone numbers written without a
	// country code (ISO 3166-1 alpha-2, e.g. SE); empty: identity.default_region.
	DefaultRegion string `yaml:"default_region"`

	Email   map[string]any `yaml:"email"`
	SMS     map[string]any `yaml:"sms"`
	Slack   map[string]any `yaml:"slack"`
	Webform map[string]any `yaml:"webform"`
	Plugin  map[string]any `yaml:"plugin"`

	// Readiness are the criteria the channel's figures must meet before it
	// is promoted (readiness.go).
	Readiness Readiness `yaml:"readiness"`
	// Retention: entries of this channel older than this, in resolved
	// conversations, are deleted by the retention sweeper. 0: kept for ever.
	Retention Duration `yaml:"retention"`
	// CSAT is the satisfaction survey after a resolution (csat.go).
	CSAT CSAT `yaml:"csat"`
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
	// A *yaml.TypeError lets the decoder go on and report other problems.
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a duration must be a string like 30s", n.Line)}}
	}
	if err := d.UnmarshalText([]byte(n.Value)); err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
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
// defaults, reads *_file secrets and validates. It is Check without channel
// section checks.
//
// A file that cannot be read or parsed returns a nil *Config and the error.
// A file that parses but does not decode (unknown key, wrong type) returns
// a nil *Config and a ValidationErrors holding those problems together with
// every other one found. Otherwise the *Config is returned even when it is
// invalid, together with a ValidationErrors listing every problem (env
// overrides, secret files, Validate), so a caller may still print
// cfg.Redacted(); callers that only run must stop on any error.
func Load(path string, env []string) (*Config, error) {
	return Check(path, env, nil)
}

// SectionCheck checks the settings section of one channel (the section
// named like its type) by the channel type's own rules, typically by
// decoding it with Channel.Decode. cfg is the whole configuration (for
// http.public_url and the like). It returns nil, a ValidationErrors or a
// FieldError naming keys like channels[NAME].email.imap.addr, or any other
// error, which is reported at the channel's section.
type SectionCheck func(ch Channel, cfg *Config) error

// Check is Load followed by sections[ch.Type] for every channel, and
// reports the problems of every stage at once: the file's unknown keys
// (with the closest known key as a suggestion) and wrong types, unknown
// SWITCHBOARD_* variables, unreadable *_file secrets, Validate's findings
// (cross-references included) and each channel section's. Each problem's
// Where is FILE:LINE of its key (or of the nearest enclosing key the file
// has), or the SWITCHBOARD_* variable that set the value; problems are
// ordered by line. A problem inside a part of the file that did not decode
// (a value of the wrong type, a mapping with a key written twice) is left
// out: it would only repeat the decode error. Each of more is a check of
// the whole configuration (a caller's own rules), run last; what it
// returns is reported like a SectionCheck's. Return values are as Load's.
func Check(path string, env []string, sections map[string]SectionCheck, more ...func(*Config) error) (*Config, error) {
	cfg := &Config{src: &source{file: path, idx: indexYAML(nil), env: map[string]string{}}}
	var errs ValidationErrors
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		cfg.src.idx = indexYAML(data)
		derrs, fatal := decode(data, cfg, path, true)
		if fatal {
			return nil, derrs
		}
		errs = derrs
	}
	decoded := len(errs) == 0
	cfg.loadErrs = append(cfg.loadErrs, applyEnv(cfg, env)...)
	cfg.SetDefaults()
	cfg.loadErrs = append(cfg.loadErrs, resolveSecrets(cfg)...)
	var later ValidationErrors
	if err := cfg.Validate(); err != nil {
		later = append(later, err.(ValidationErrors)...)
	}
	for _, ch := range cfg.Channels {
		if check := sections[ch.Type]; check != nil {
			later = append(later, asFieldErrors(check(ch, cfg), fmt.Sprintf("channels[%s].%s", ch.Name, ch.Type))...)
		}
	}
	for _, check := range more {
		later = append(later, asFieldErrors(check(cfg), "")...)
	}
	errs = cfg.locate(cfg.dropRedundant(append(errs, later...)))
	switch {
	case !decoded:
		return nil, errs
	case len(errs) > 0:
		return cfg, errs
	}
	return cfg, nil
}

// asFieldErrors turns what a SectionCheck returned into FieldErrors; an
// error of another kind is reported at where.
func asFieldErrors(err error, where string) ValidationErrors {
	var ve ValidationErrors
	var fe FieldError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		return ve
	case errors.As(err, &fe):
		return ValidationErrors{fe}
	}
	return ValidationErrors{{Path: where, Msg: err.Error()}}
}

// SetDefaults fills every unset key with its default. Load calls it; code
// that builds a Config by hand may call it before Validate. It also
// normalises identity.default_region to upper case.
func (c *Config) SetDefaults() {
	c.retentionDefaults()
	c.automationDefaults()
	c.auditDefaults()
	c.webhookDeliveryDefaults()
	c.blobsDefaults()
	if c.HTTP.Addr == "" {
		c.HTTP.Addr = DefaultHTTPAddr
	}
	if c.HTTP.MaxBodyBytes == 0 {
		c.HTTP.MaxBodyBytes = DefaultMaxBodyBytes
	}
	for _, d := range []struct {
		p   *Duration
		def Duration
	}{{&c.HTTP.ReadHeaderTimeout, DefaultReadHeaderTimeout}, {&c.HTTP.ReadTimeout, DefaultReadTimeout},
		{&c.HTTP.WriteTimeout, DefaultWriteTimeout}, {&c.HTTP.IdleTimeout, DefaultIdleTimeout},
		{&c.HTTP.BodyTimeout, DefaultBodyTimeout}, {&c.HTTP.UploadTimeout, DefaultUploadTimeout},
		{&c.HTTP.StreamKeepAlive, DefaultStreamKeepAlive}} {
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	if c.HTTP.MaxStreamsPerAgent == 0 {
		c.HTTP.MaxStreamsPerAgent = DefaultMaxStreamsPerAgent
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
		ch.DefaultRegion = strings.ToUpper(ch.DefaultRegion)
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

// decodeStrict decodes one YAML document into out, rejecting unknown keys,
// and returns nil or a ValidationErrors. where names the source: a file
// path (withLine: each error's Where is FILE:LINE), or a channel section
// such as channels[x].email, whose lines mean nothing to the user (it is
// re-encoded): its errors' paths are the keys' paths below where.
func decodeStrict(data []byte, out any, where string, withLine bool) error {
	errs, _ := decode(data, out, where, withLine)
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// decode is decodeStrict returning the errors; fatal means nothing was
// decoded (the document does not parse). Otherwise out holds every value
// that did decode.
func decode(data []byte, out any, where string, withLine bool) (errs ValidationErrors, fatal bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, false // empty document
		}
		var te *yaml.TypeError
		return yamlError(err, data, out, where, withLine), !errors.As(err, &te)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return yamlError(err, data, out, where, withLine), true
		}
		return ValidationErrors{{Where: where, Msg: "holds more than one YAML document"}}, true
	}
	return nil, false
}

// dropRedundant leaves out problems that only repeat a decode error: those
// at or below a key left undecoded, and those at a key an unknown key was
// probably meant to be.
func (c *Config) dropRedundant(errs ValidationErrors) ValidationErrors {
	var skip, meant []string
	for _, e := range errs {
		if e.skip != "" {
			skip = append(skip, c.indexed(e.skip))
		}
		if e.meant != "" {
			meant = append(meant, c.indexed(e.meant))
		}
	}
	if len(skip)+len(meant) == 0 {
		return errs
	}
	out := errs[:0:0]
	for _, e := range errs {
		p := e.at
		if p == "" {
			p = e.Path
		}
		p = c.indexed(p)
		if !e.decode && (slices.Contains(meant, p) || slices.ContainsFunc(skip, func(s string) bool { return under(p, s) })) {
			continue
		}
		out = append(out, e)
	}
	return out
}

var (
	lineRe     = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)
	notFoundRe = regexp.MustCompile(`field (\S+) not found in type (.+)$`)
	dupKeyRe   = regexp.MustCompile(`^mapping key "(.*)" already defined`)
	backtickRe = regexp.MustCompile(" ?`[^`]*`")
	typeRe     = regexp.MustCompile(`^cannot unmarshal !!(\w+) into (\S+)$`)
	indexRe    = regexp.MustCompile(`\[\d+\]`)
	rawTypeRe  = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `([^`]*)`)? into ")
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
	case t == "config.Duration":
		return "a duration"
	}
	if strings.Contains(t, ".") {
		return "a mapping" // a struct of a connector's settings
	}
	return t
}

// yamlError turns a yaml.v3 error into ValidationErrors with one entry per
// problem, each marked as a decode error with the key path it left
// undecoded (a value of the wrong type, a mapping with a duplicate key) or
// the key an unknown key was probably meant to be, for dropRedundant.
// Where known, the problem names its key path; an unknown key gets the
// closest key of its mapping, or the place it belongs, as a suggestion. Values quoted by yaml.v3 (`...`) are cut so
// that a secret written in the wrong place never reaches an error.
//
// withLine: where is a file, and each error's Where is FILE:LINE. Without
// it, where is a channel section whose lines mean nothing to the user (it
// is re-encoded): each error's Path is where plus the key's path in it.
func yamlError(err error, data []byte, out any, where string, withLine bool) ValidationErrors {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var idx *pathIndex
	var known map[string][]string
	errs := make(ValidationErrors, 0, len(msgs))
	for _, m := range msgs {
		fe := FieldError{Path: where, decode: true}
		if withLine {
			fe = FieldError{Where: where, decode: true}
		}
		key := "" // the problem's key path in data
		line := 0 // its line in data
		if sm := lineRe.FindStringSubmatch(m); sm != nil {
			line, _ = strconv.Atoi(sm[1])
			m = m[len(sm[0]):]
			if idx == nil {
				idx = indexYAML(data)
			}
			if ps := idx.valueAt[line]; len(ps) == 1 {
				key = ps[0]
			} else if sm := rawTypeRe.FindStringSubmatch(m); sm != nil {
				key = idx.valueOn(line, sm[1], sm[2]) // several values on the line: the one meant
			}
		}
		m = backtickRe.ReplaceAllString(m, "")
		switch {
		case notFoundRe.MatchString(m):
			sm := notFoundRe.FindStringSubmatch(m)
			name := sm[1]
			key = idx.keyNamed(line, name)
			if known == nil {
				known = knownKeys(reflect.TypeOf(out))
			}
			in := sectionOf[sm[2]]
			switch {
			case !withLine:
				in = where[strings.LastIndexByte(where, '.')+1:]
				if parent := parentPath(key); parent != "" {
					in += "." + parent
				}
			case in == "":
				in = "type " + sm[2]
			}
			hint, meant := didYouMean(name, known[sm[2]])
			if hint == "" {
				parent := indexRe.ReplaceAllString(parentPath(key), "[]")
				hint = elsewhere(name, parent, keyPaths(reflect.TypeOf(out)))
			}
			m = "unknown key " + strconv.Quote(name) + " in " + in + hint
			fe.at = joinPath(where, key)
			if withLine {
				fe.at = key
			}
			if meant != "" && key != "" {
				fe.meant = joinPath(parentPath(fe.at), meant)
			}
			key = "" // the message names it
		case dupKeyRe.MatchString(m):
			if k := idx.keyNamed(line, dupKeyRe.FindStringSubmatch(m)[1]); k != "" {
				fe.skip = parentPath(k)
				if !withLine {
					fe.skip = joinPath(where, fe.skip)
				}
			}
		default:
			if sm := typeRe.FindStringSubmatch(m); sm != nil {
				got := yamlTagNames[sm[1]]
				if got == "" {
					got = sm[1]
				}
				m = "wrong type: want " + goTypeName(sm[2]) + ", got " + got
			}
			if key != "" {
				fe.skip = key
				if !withLine {
					fe.skip = joinPath(where, key)
				}
			}
		}
		if line > 0 && withLine {
			fe.Where, fe.line = fmt.Sprintf("%s:%d", where, line), line
		}
		if key != "" {
			if withLine {
				fe.Path = key
			} else {
				fe.Path = joinPath(where, key)
			}
		}
		fe.Msg = m
		errs = append(errs, fe)
	}
	return errs
}
