package sms

import (
	"fmt"
	"mime"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
)

// Defaults of Settings.
const (
	// DefaultMaxBodyBytes caps a webhook body. Twilio's message webhooks are
	// a few kilobytes (1,600 characters of text and up to ten media URLs).
	DefaultMaxBodyBytes = int64(64 << 10)
	// MaxLength is the longest body Twilio accepts (it answers error 21617
	// above it) and the default of Settings.MaxLength.
	MaxLength          = 1600
	DefaultSendTimeout = 15 * time.Second
	// DefaultMediaMaxBytes is Twilio's own limit for one MMS (5 MB).
	DefaultMediaMaxBytes = int64(5 << 20)
	DefaultMediaAttempts = 3
	// DefaultMediaTimeout bounds fetching all media of one message, retries
	// included. Twilio waits 15 s for the webhook's answer.
	DefaultMediaTimeout = 8 * time.Second
)

// DefaultMediaTypes are the content types kept by default: what phones send
// by MMS. image/svg+xml is left out on purpose (script in an image).
var DefaultMediaTypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif",
	"audio/*", "video/*", "application/pdf", "text/vcard", "text/x-vcard", "text/calendar"}

// Settings is the `sms` section of an sms channel.
type Settings struct {
	// AccountSID (AC + 32 hex digits) and AuthToken authenticate REST calls
	// and media downloads; the auth token also signs Twilio's webhooks.
	AccountSID    string `yaml:"account_sid"`
	AuthToken     string `yaml:"auth_token"`
	AuthTokenFile string `yaml:"auth_token_file"`
	// From is the channel's number in E.164; or MessagingServiceSID (MG...)
	// sends through a Messaging Service. Exactly one is required.
	From                string `yaml:"from"`
	MessagingServiceSID string `yaml:"messaging_service_sid"`
	// PublicURL is the base URL Twilio reaches the hub at (default:
	// http.public_url). The webhook URLs are PublicURL/webhooks/twilio/NAME
	// and .../status; Twilio signs the exact URL it calls, so this must be
	// what is configured in the Twilio console, before any proxy rewrites.
	PublicURL string `yaml:"public_url"`
	// APIBaseURL replaces https://*.twilio.com for REST calls and media
	// downloads (tests point it at a mock). Default: Twilio itself.
	APIBaseURL string `yaml:"api_base_url"`
	// MaxBodyBytes caps a webhook body (413 above). Default 64 KiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxLength is the longest reply in characters (UTF-16 code units, as
	// Twilio counts). Longer replies fail with a clear error and are not
	// sent; never split. Default and upper bound 1600.
	MaxLength int `yaml:"max_length"`
	// SendTimeout bounds one CreateMessage call. Default 15s.
	SendTimeout config.Duration `yaml:"send_timeout"`
	Media       MediaSettings   `yaml:"media"`
}

// MediaSettings control how MMS media is fetched and kept.
type MediaSettings struct {
	// MaxBytes per media item. Default 5 MB.
	MaxBytes int64 `yaml:"max_bytes"`
	// AllowedTypes: content types kept ("image/png" or "image/*"); others
	// are recorded on the entry as omitted. Default DefaultMediaTypes.
	AllowedTypes []string `yaml:"allowed_types"`
	// Attempts per media item before it is recorded as failed. Default 3.
	Attempts int `yaml:"attempts"`
	// Timeout for fetching every media item of a message, retries
	// included; the text is delivered when it runs out. Default 8s.
	Timeout config.Duration `yaml:"timeout"`
}

var (
	accountSIDRe = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSIDRe = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	alnumRe      = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// LoadSettings decodes the sms section of cfg strictly, reads the token
// file, applies defaults and validates, reporting every problem at once.
// publicURL is the hub's http.public_url. Errors never quote a secret.
func LoadSettings(cfg config.Channel, publicURL string) (Settings, error) {
	var s Settings
	// A key that does not decode is reported with every other problem.
	decodeErrs, err := config.DecodeErrors(cfg.Decode(config.TypeSMS, &s))
	if err != nil {
		return s, err
	}
	where := fmt.Sprintf("channels[%s].sms", cfg.Name)
	errs := decodeErrs
	add := func(key, msg string, args ...any) {
		errs = append(errs, config.FieldError{Path: where + "." + key, Msg: fmt.Sprintf(msg, args...)})
	}
	switch {
	case s.AuthTokenFile == "":
	case s.AuthToken != "":
		add("auth_token_file", "set either auth_token or auth_token_file, not both")
	default:
		v, err := config.ReadSecretFile(s.AuthTokenFile)
		if err != nil {
			add("auth_token_file", "%v", err)
			v = "unread" // reported: no "auth_token is required" besides
		}
		s.AuthToken = v
	}
	s.AuthToken = strings.TrimSpace(s.AuthToken)
	s.AccountSID = strings.TrimSpace(s.AccountSID)
	switch {
	case s.AccountSID == "":
		add("account_sid", "is required")
	case !accountSIDRe.MatchString(s.AccountSID):
		add("account_sid", "is not a Twilio account SID (AC followed by 32 hex digits)")
	}
	switch {
	case s.AuthToken == "":
		add("auth_token", "is required (or auth_token_file)")
	case !alnumRe.MatchString(s.AuthToken):
		// twilio-go refuses such a token before sending anything.
		add("auth_token", "must be letters and digits only")
	}
	switch {
	case s.From == "" && s.MessagingServiceSID == "":
		add("from", "is required (the channel's number in E.164), or messaging_service_sid")
	case s.From != "" && s.MessagingServiceSID != "":
		add("from", "set either from or messaging_service_sid, not both")
	case s.From != "":
		id, err := connectors.Normalize(connectors.Identity{Type: connectors.Phone, Value: s.From}, "")
		if err != nil || !strings.HasPrefix(strings.TrimSpace(s.From), "+") {
			add("from", "%q is not a phone number in E.164 (+ and country code)", s.From)
		} else {
			s.From = id.Value
		}
	case !serviceSIDRe.MatchString(s.MessagingServiceSID):
		add("messaging_service_sid", "is not a Messaging Service SID (MG followed by 32 hex digits)")
	}
	if s.PublicURL == "" {
		s.PublicURL = publicURL
	}
	s.PublicURL = strings.TrimRight(s.PublicURL, "/")
	if s.PublicURL == "" {
		add("public_url", "is required (or http.public_url): Twilio signs the URL it calls, and status callbacks need an absolute URL")
	} else if u, err := url.Parse(s.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		add("public_url", "%q is not an absolute http(s) URL without query", s.PublicURL)
	}
	if s.APIBaseURL != "" {
		u, err := url.Parse(s.APIBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			add("api_base_url", "must be an http(s) URL without credentials or query")
		}
		s.APIBaseURL = strings.TrimRight(s.APIBaseURL, "/")
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.MaxBodyBytes < 1024 {
		add("max_body_bytes", "must be at least 1024")
	}
	if s.MaxLength == 0 {
		s.MaxLength = MaxLength
	}
	if s.MaxLength < 1 || s.MaxLength > MaxLength {
		add("max_length", "must be between 1 and %d (Twilio refuses longer bodies)", MaxLength)
	}
	if s.SendTimeout == 0 {
		s.SendTimeout = config.Duration(DefaultSendTimeout)
	}
	if s.SendTimeout.D() < time.Second {
		add("send_timeout", "must be at least 1s")
	}
	m := &s.Media
	if m.MaxBytes == 0 {
		m.MaxBytes = DefaultMediaMaxBytes
	}
	if m.MaxBytes < 0 {
		add("media.max_bytes", "must not be negative")
	}
	if m.AllowedTypes == nil {
		m.AllowedTypes = append([]string(nil), DefaultMediaTypes...)
	}
	for i, t := range m.AllowedTypes {
		t = strings.ToLower(strings.TrimSpace(t))
		m.AllowedTypes[i] = t
		if mt, _, err := mime.ParseMediaType(t); err != nil || mt != t || strings.Count(t, "/") != 1 || strings.HasPrefix(t, "*") {
			add(fmt.Sprintf("media.allowed_types[%d]", i), "%q is not a content type (type/subtype or type/*)", t)
		}
	}
	if m.Attempts == 0 {
		m.Attempts = DefaultMediaAttempts
	}
	if m.Attempts < 1 || m.Attempts > 10 {
		add("media.attempts", "must be between 1 and 10")
	}
	if m.Timeout == 0 {
		m.Timeout = config.Duration(DefaultMediaTimeout)
	}
	if m.Timeout.D() < 100*time.Millisecond || m.Timeout.D() > 14*time.Second {
		add("media.timeout", "must be between 100ms and 14s (Twilio waits 15s for the webhook)")
	}
	if len(errs) > 0 {
		return s, errs
	}
	return s, nil
}
