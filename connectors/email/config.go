package email

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-hub/switchboard/config"
)

// Transport security of an IMAP or SMTP connection.
const (
	TLSImplicit = "tls"      // TLS from the first byte (IMAPS 993, SMTPS 465)
	TLSStart    = "starttls" // plaintext greeting, then STARTTLS
	TLSNone     = "none"     // plaintext: only with allow_insecure: true
)

// Defaults of Settings.
const (
	DefaultPollInterval       = time.Minute
	DefaultIdleRefresh        = 25 * time.Minute
	MaxIdleRefresh            = 29 * time.Minute // RFC 2177
	DefaultBatchSize          = 100
	DefaultMaxMessageBytes    = int64(25 << 20)
	DefaultMaxAttachmentBytes = int64(10 << 20)
	DefaultLeaseTTL           = 30 * time.Second
	DefaultSMTPTimeout        = 30 * time.Second
)

// Settings is the `email` section of an email channel.
type Settings struct {
	IMAP   IMAP   `yaml:"imap"`
	SMTP   SMTP   `yaml:"smtp"`
	Limits Limits `yaml:"limits"`
	// Domain is the right-hand side of the Message-IDs the hub generates.
	// Default: the domain of smtp.from.
	Domain string `yaml:"domain"`
	// LeaseTTL of the mailbox lease (one replica polls at a time). Default 30s.
	LeaseTTL config.Duration `yaml:"lease_ttl"`
	// TrustedAuthservIDs are the authserv-ids (RFC 8601) of the receiving
	// servers whose Authentication-Results headers are believed, e.g.
	// mx.example.com. A sender's From is a verified identity only when the
	// topmost header of one of them says dmarc=pass (or, without a dmarc
	// result, dkim=pass for the From domain itself); see
	// Parsed.Authenticated. Default none: every From is claimed.
	TrustedAuthservIDs []string `yaml:"trusted_authserv_ids"`
	// ThreadWindow is how long after a conversation's last activity a mail
	// from the same customer with the same subject (prefixes like Re:,
	// AW:, VS: removed) and no other thread clue still joins it: the last,
	// conservative step of the threading chain. Default 14 days (336h); a
	// negative value turns the step off.
	ThreadWindow config.Duration `yaml:"thread_window"`
	// AutomaticLimit is how many automatic mails (surveys,
	// acknowledgements: connectors.Outgoing.Automatic) one address gets
	// from this channel within 24 hours, one count for every replica
	// (connectors.Env.Budgets); more are not
	// sent (ErrPermanent), which ends ping-pong with a misbehaving
	// auto-responder. Default 5; a negative value means no limit.
	AutomaticLimit int `yaml:"automatic_limit"`
}

// Defaults of the threading and loop-protection settings.
const (
	DefaultThreadWindow   = 14 * 24 * time.Hour
	DefaultAutomaticLimit = 5
	AutomaticLimitWindow  = 24 * time.Hour
)

// IMAP is the inbound mailbox.
type IMAP struct {
	// Addr is host:port, e.g. imap.example.com:993. Required.
	Addr         string `yaml:"addr"`
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// TLS is tls (default), starttls or none.
	TLS string `yaml:"tls"`
	// AllowInsecure permits tls: none (plaintext passwords on the wire).
	AllowInsecure bool `yaml:"allow_insecure"`
	Conn          `yaml:",inline"`
	// Folders to fetch from. Default [INBOX].
	Folders []string `yaml:"folders"`
	// PollInterval is how often a server without IDLE is polled. Default 1m.
	PollInterval config.Duration `yaml:"poll_interval"`
	// DisableIdle polls even when the server offers IDLE (for servers or
	// proxies whose IDLE is broken).
	DisableIdle bool `yaml:"disable_idle"`
	// IdleRefresh re-issues IDLE (and re-checks the folder) at least this
	// often. Default 25m, at most 29m.
	IdleRefresh config.Duration `yaml:"idle_refresh"`
	// BackfillSince (YYYY-MM-DD): on the first run, fetch mail received on
	// or after this date. Empty: start with mail arriving from now on.
	BackfillSince string `yaml:"backfill_since"`
	// MarkSeen sets \Seen on fetched mail (the fetch itself never does).
	MarkSeen bool `yaml:"mark_seen"`
	// MoveTo moves fetched mail to this folder (must not be watched).
	MoveTo string `yaml:"move_to"`
	// BatchSize is how many mails one FETCH asks for. Default 100.
	BatchSize int `yaml:"batch_size"`

	since time.Time
}

// SMTP is the outbound server.
type SMTP struct {
	// Addr is host:port, e.g. smtp.example.com:587. Required.
	Addr         string `yaml:"addr"`
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// TLS is starttls (default), tls or none.
	TLS           string `yaml:"tls"`
	AllowInsecure bool   `yaml:"allow_insecure"`
	Conn          `yaml:",inline"`
	// From is the channel's address (support@example.com). Required.
	From     string `yaml:"from"`
	FromName string `yaml:"from_name"`
	// Hostname sent in EHLO. Default: the domain.
	Hostname string          `yaml:"hostname"`
	Timeout  config.Duration `yaml:"timeout"`
}

// OAuth 2.0 SASL mechanisms (oauth2_mechanism).
const (
	MechXOAUTH2     = "xoauth2"     // Gmail, Microsoft 365
	MechOAUTHBEARER = "oauthbearer" // RFC 7628
)

// Conn holds the TLS trust and OAuth 2.0 settings IMAP and SMTP share.
type Conn struct {
	// TLSCAFile is a PEM file of certificates trusted besides the
	// system's roots (a private CA, a self-signed server).
	TLSCAFile string `yaml:"tls_ca_file"`
	// InsecureSkipVerify accepts any server certificate: the connection
	// is encrypted but not authenticated. For tests only; logged.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// OAuth2TokenFile holds an OAuth 2.0 access token used instead of a
	// password. It is read again at every login, so an external
	// refresher can rotate it.
	OAuth2TokenFile string `yaml:"oauth2_token_file"`
	// OAuth2Mechanism is xoauth2 (default) or oauthbearer.
	OAuth2Mechanism string `yaml:"oauth2_mechanism"`

	roots *x509.CertPool
}

// load validates the shared connection settings of one side.
func (c *Conn) load(prefix, tlsMode string, hasPassword bool, add func(key, msg string)) {
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			add(prefix+".tls_ca_file", fmt.Sprintf("cannot read: %v", err))
		} else {
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				add(prefix+".tls_ca_file", "holds no PEM certificate")
			}
			c.roots = pool
		}
	}
	if (c.TLSCAFile != "" || c.InsecureSkipVerify) && tlsMode == TLSNone {
		add(prefix+".tls", "tls_ca_file and insecure_skip_verify need tls: tls or starttls")
	}
	if c.OAuth2TokenFile != "" {
		if hasPassword {
			add(prefix+".oauth2_token_file", "set either a password or oauth2_token_file, not both")
		}
		if _, err := readToken(c.OAuth2TokenFile); err != nil {
			add(prefix+".oauth2_token_file", err.Error())
		}
	}
	switch c.OAuth2Mechanism {
	case "":
		c.OAuth2Mechanism = MechXOAUTH2
	case MechXOAUTH2, MechOAUTHBEARER:
	default:
		add(prefix+".oauth2_mechanism", fmt.Sprintf("must be xoauth2 or oauthbearer, not %q", c.OAuth2Mechanism))
	}
}

// tlsConfig is the TLS configuration for a server at host.
func (c *Conn) tlsConfig(host string) *tls.Config {
	return &tls.Config{ServerName: host, RootCAs: c.roots, InsecureSkipVerify: c.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
}

// readToken reads an OAuth 2.0 access token file (one line).
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the token: %v", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" || strings.ContainsAny(tok, "\r\n\x00\x01") {
		return "", errors.New("the token file must hold one non-empty line")
	}
	return tok, nil
}

// Limits bound what is kept of one mail.
type Limits struct {
	// MaxMessageBytes: the most of one raw mail that is fetched and kept.
	// A larger mail is kept truncated and flagged. Default 25 MiB.
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// MaxAttachmentBytes: larger attachments are recorded as omitted.
	// Default 10 MiB.
	MaxAttachmentBytes int64 `yaml:"max_attachment_bytes"`
}

// LoadSettings decodes the email section of cfg strictly, reads *_file
// secrets, applies defaults and validates, reporting every problem at
// once. Errors name keys, never secret values.
func LoadSettings(cfg config.Channel) (Settings, error) {
	var s Settings
	// A key that does not decode is reported with every other problem.
	decodeErrs, err := config.DecodeErrors(cfg.Decode(config.TypeEmail, &s))
	if err != nil {
		return s, err
	}
	where := fmt.Sprintf("channels[%s].email", cfg.Name)
	errs := decodeErrs
	add := func(key, msg string) { errs = append(errs, config.FieldError{Path: where + "." + key, Msg: msg}) }
	secret := func(prefix string, val, file *string) {
		switch {
		case *file == "":
		case *val != "":
			add(prefix+".password_file", "set either password or password_file, not both")
		default:
			v, err := config.ReadSecretFile(*file)
			if err != nil {
				add(prefix+".password_file", err.Error())
				v = "unread" // reported: no "password is required" besides
			}
			*val = v
		}
		*val = strings.TrimRight(*val, "\r\n")
	}
	secret("imap", &s.IMAP.Password, &s.IMAP.PasswordFile)
	secret("smtp", &s.SMTP.Password, &s.SMTP.PasswordFile)

	checkAddr := func(key, addr string) {
		if addr == "" {
			add(key, "is required (host:port)")
			return
		}
		if h, p, err := net.SplitHostPort(addr); err != nil || h == "" || p == "" {
			add(key, fmt.Sprintf("%q is not host:port", addr))
		}
	}
	checkTLS := func(key string, v *string, def string, insecure bool) {
		if *v == "" {
			*v = def
		}
		switch *v {
		case TLSImplicit, TLSStart:
		case TLSNone:
			if !insecure {
				add(key, "none sends the password in plaintext; set allow_insecure: true to allow it")
			}
		default:
			add(key, fmt.Sprintf("must be tls, starttls or none, not %q", *v))
		}
	}

	// IMAP
	checkAddr("imap.addr", s.IMAP.Addr)
	checkTLS("imap.tls", &s.IMAP.TLS, TLSImplicit, s.IMAP.AllowInsecure)
	if s.IMAP.Username == "" {
		add("imap.username", "is required")
	}
	s.IMAP.Conn.load("imap", s.IMAP.TLS, s.IMAP.Password != "", add)
	if s.IMAP.Password == "" && s.IMAP.OAuth2TokenFile == "" {
		add("imap.password", "is required (or password_file, or oauth2_token_file)")
	}
	if len(s.IMAP.Folders) == 0 {
		s.IMAP.Folders = []string{"INBOX"}
	}
	seen := map[string]bool{}
	for i, f := range s.IMAP.Folders {
		if strings.TrimSpace(f) == "" || strings.ContainsAny(f, "\r\n\x00") {
			add(fmt.Sprintf("imap.folders[%d]", i), "is not a folder name")
		}
		if seen[f] {
			add(fmt.Sprintf("imap.folders[%d]", i), fmt.Sprintf("%q is listed twice", f))
		}
		seen[f] = true
	}
	if s.IMAP.MoveTo != "" && seen[s.IMAP.MoveTo] {
		add("imap.move_to", "must not be one of the watched folders")
	}
	if s.IMAP.PollInterval == 0 {
		s.IMAP.PollInterval = config.Duration(DefaultPollInterval)
	}
	if s.IMAP.PollInterval.D() < time.Second {
		add("imap.poll_interval", "must be at least 1s")
	}
	if s.IMAP.IdleRefresh == 0 {
		s.IMAP.IdleRefresh = config.Duration(DefaultIdleRefresh)
	}
	if d := s.IMAP.IdleRefresh.D(); d < time.Second || d > MaxIdleRefresh {
		add("imap.idle_refresh", "must be between 1s and 29m (RFC 2177)")
	}
	if s.IMAP.BackfillSince != "" {
		t, err := time.Parse("2006-01-02", s.IMAP.BackfillSince)
		if err != nil {
			add("imap.backfill_since", "must be a date YYYY-MM-DD")
		}
		s.IMAP.since = t
	}
	if s.IMAP.BatchSize == 0 {
		s.IMAP.BatchSize = DefaultBatchSize
	}
	if s.IMAP.BatchSize < 1 || s.IMAP.BatchSize > 10000 {
		add("imap.batch_size", "must be between 1 and 10000")
	}

	// SMTP
	checkAddr("smtp.addr", s.SMTP.Addr)
	checkTLS("smtp.tls", &s.SMTP.TLS, TLSStart, s.SMTP.AllowInsecure)
	s.SMTP.Conn.load("smtp", s.SMTP.TLS, s.SMTP.Password != "", add)
	if s.SMTP.Username != "" && s.SMTP.Password == "" && s.SMTP.OAuth2TokenFile == "" {
		add("smtp.password", "is required with smtp.username (or password_file, or oauth2_token_file)")
	}
	if s.SMTP.OAuth2TokenFile != "" && s.SMTP.Username == "" {
		add("smtp.username", "is required with smtp.oauth2_token_file (the account the token is for)")
	}
	if s.SMTP.From == "" {
		add("smtp.from", "is required (the channel's address)")
	} else if a, err := mail.ParseAddress(s.SMTP.From); err != nil || a.Name != "" {
		add("smtp.from", "must be a bare address like support@example.com (the name goes in from_name)")
	} else if s.Domain == "" {
		s.Domain = a.Address[strings.LastIndexByte(a.Address, '@')+1:]
	}
	if strings.ContainsAny(s.SMTP.FromName, "\r\n") {
		add("smtp.from_name", "must be one line")
	}
	if s.Domain != "" && !validDomain(s.Domain) {
		add("domain", fmt.Sprintf("%q is not a domain name", s.Domain))
	}
	if s.SMTP.Hostname == "" {
		s.SMTP.Hostname = s.Domain
	}
	if s.SMTP.Hostname != "" && !validDomain(s.SMTP.Hostname) {
		add("smtp.hostname", fmt.Sprintf("%q is not a host name", s.SMTP.Hostname))
	}
	if s.SMTP.Timeout == 0 {
		s.SMTP.Timeout = config.Duration(DefaultSMTPTimeout)
	}

	// Limits
	if s.Limits.MaxMessageBytes == 0 {
		s.Limits.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if s.Limits.MaxAttachmentBytes == 0 {
		s.Limits.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	if s.Limits.MaxMessageBytes < 4096 || s.Limits.MaxMessageBytes > 1<<30 {
		add("limits.max_message_bytes", "must be between 4096 and 1 GiB")
	}
	if s.Limits.MaxAttachmentBytes < 1 || s.Limits.MaxAttachmentBytes > s.Limits.MaxMessageBytes {
		add("limits.max_attachment_bytes", "must be between 1 and max_message_bytes")
	}
	for i, id := range s.TrustedAuthservIDs {
		id = strings.ToLower(strings.TrimSpace(id))
		if id == "" || strings.ContainsAny(id, " \t\r\n;()\"\\=") || !utf8.ValidString(id) || len(id) > 255 {
			add(fmt.Sprintf("trusted_authserv_ids[%d]", i), fmt.Sprintf("%q is not an authserv-id (the receiving server's name, as in its Authentication-Results headers)", s.TrustedAuthservIDs[i]))
		}
		s.TrustedAuthservIDs[i] = id
	}
	if s.LeaseTTL == 0 {
		s.LeaseTTL = config.Duration(DefaultLeaseTTL)
	}
	if s.ThreadWindow == 0 {
		s.ThreadWindow = config.Duration(DefaultThreadWindow)
	}
	if s.AutomaticLimit == 0 {
		s.AutomaticLimit = DefaultAutomaticLimit
	}
	if s.LeaseTTL.D() < time.Second {
		add("lease_ttl", "must be at least 1s")
	}
	if len(errs) > 0 {
		return s, errs
	}
	return s, nil
}

func validDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
