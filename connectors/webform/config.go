package webform

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/config"
)

// Field types.
const (
	TypeEmail    = "email"
	TypePhone    = "phone"
	TypeText     = "text"
	TypeTextarea = "textarea"
	TypeSelect   = "select"
	TypeCheckbox = "checkbox"
	TypeFile     = "file"
)

var fieldTypes = []string{TypeEmail, TypePhone, TypeText, TypeTextarea, TypeSelect, TypeCheckbox, TypeFile}

// Defaults applied by Settings.setDefaults.
const (
	DefaultMinFillTime    = 3 * time.Second
	DefaultTokenTTL       = 2 * time.Hour
	DefaultPerIP          = 10
	DefaultPerChannel     = 600
	DefaultWindow         = 10 * time.Minute
	DefaultMaxFileBytes   = int64(5 << 20)
	DefaultMaxTotalBytes  = int64(10 << 20)
	DefaultMaxBodyBytes   = int64(1 << 20)
	DefaultHoneypot       = "website"
	DefaultThankYouText   = "Thank you. We received your message."
	DefaultSubmitLabel    = "Send"
	minSecretBytes        = 16
	maxThreadKeyBytes     = 200
	defaultTextLength     = 500
	defaultTextareaLength = 10000
)

// DefaultAllowedTypes are the upload content types accepted when
// uploads.allowed_types is not set.
var DefaultAllowedTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}

// Settings are a webform channel's settings (the channel's `webform` section).
type Settings struct {
	// Fields are the form's fields, in the order they are shown and stored.
	// Only these are ever stored; anything else a client sends is dropped.
	Fields []FieldSpec `yaml:"fields"`
	// Consent, when set, turns a checkbox field into a recorded consent.
	Consent *ConsentSpec `yaml:"consent"`
	// ThankYouURL is where a plain HTML form is redirected (303) after a
	// submission. Without it, a small thank-you page is shown.
	ThankYouURL string `yaml:"thank_you_url"`
	// ThankYouText is shown by the embedded form after a submission.
	ThankYouText string `yaml:"thank_you_text"`
	// SubmitLabel is the embedded form's button text.
	SubmitLabel string `yaml:"submit_label"`
	// AllowedOrigins are the exact origins (scheme://host[:port]) whose pages
	// may submit from a browser. A request carrying any other Origin is
	// refused with 403; the hub's own origin is always allowed.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// Secret signs form tokens (HMAC-SHA256). Every replica needs the same
	// one. Prefer SecretFile.
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// RequireToken refuses submissions without a form token (default true).
	// Set it false to accept plain HTML forms that cannot fetch a token.
	RequireToken *bool `yaml:"require_token"`
	// MinFillTime: a token used sooner than this after it was issued is a
	// bot's. Default 3s; 0s turns the check off.
	MinFillTime *config.Duration `yaml:"min_fill_time"`
	// TokenTTL is how long a form token stays valid. Default 2h.
	TokenTTL  config.Duration `yaml:"token_ttl"`
	RateLimit RateLimit       `yaml:"rate_limit"`
	Uploads   Uploads         `yaml:"uploads"`
	// Honeypot names a hidden field people never fill. Default "website".
	Honeypot string `yaml:"honeypot"`
	// MaxBodyBytes caps a submission's body (413 above it). Default 1 MiB,
	// plus uploads.max_total_bytes when a file field is configured. Only a
	// multipart body can carry files, so only it gets the upload allowance:
	// with a file field, URL-encoded and JSON bodies are capped at 1 MiB
	// (or MaxBodyBytes when that is smaller); see plainMaxBytes.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// TextField names the field that becomes the message text. Default: the
	// first textarea field.
	TextField string `yaml:"text_field"`
	// NameField names the field that becomes the sender's display name.
	// Default: a text field called "name", if there is one.
	NameField string `yaml:"name_field"`
	// SubjectField names the field that becomes the conversation subject.
	SubjectField string `yaml:"subject_field"`

	// plainMaxBytes caps a body that cannot carry files (URL-encoded,
	// JSON): MaxBodyBytes without a file field, else at most 1 MiB.
	plainMaxBytes int64
}

// bodyLimit is the most a submission of content type ct may hold: the
// upload allowance only for multipart/form-data.
func (s *Settings) bodyLimit(ct string) int64 {
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "multipart/form-data" {
		return s.MaxBodyBytes
	}
	if s.plainMaxBytes <= 0 {
		return s.MaxBodyBytes
	}
	return s.plainMaxBytes
}

// FieldSpec is one form field. In YAML a field may also be given as a bare
// name ("email", "phone", "message"), which picks its type from the name.
type FieldSpec struct {
	Name        string   `yaml:"name"`
	Type        string   `yaml:"type"`
	Label       string   `yaml:"label"`
	Placeholder string   `yaml:"placeholder"`
	Required    bool     `yaml:"required"`
	MaxLength   int      `yaml:"max_length"`
	Options     []string `yaml:"options"`
}

// UnmarshalText accepts the bare-name shorthand of a field.
func (f *FieldSpec) UnmarshalText(b []byte) error {
	name := strings.TrimSpace(string(b))
	*f = FieldSpec{Name: name, Type: TypeText}
	switch name {
	case "email", "phone":
		f.Type = name
	case "message", "text", "body", "comments":
		f.Type = TypeTextarea
	}
	return nil
}

// ConsentSpec makes a checkbox field a consent the customer gives.
type ConsentSpec struct {
	// Field is the checkbox field.
	Field string `yaml:"field"`
	// Purpose is what the consent is for ("marketing", "support").
	Purpose string `yaml:"purpose"`
	// Text is exactly what the customer is shown beside the checkbox; it is
	// recorded with the consent.
	Text string `yaml:"text"`
	// Version of Text, recorded with the consent.
	Version string `yaml:"version"`
}

// RateLimit caps submissions per client IP and per channel within a
// window. Counters are in memory, per replica.
type RateLimit struct {
	PerIP      int             `yaml:"per_ip"`
	PerChannel int             `yaml:"per_channel"`
	Window     config.Duration `yaml:"window"`
}

// Uploads limit files sent to file fields.
type Uploads struct {
	MaxFileBytes  int64    `yaml:"max_file_bytes"`
	MaxTotalBytes int64    `yaml:"max_total_bytes"`
	AllowedTypes  []string `yaml:"allowed_types"`
}

var fieldNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func (s *Settings) hasType(t string) bool {
	return slices.ContainsFunc(s.Fields, func(f FieldSpec) bool { return f.Type == t })
}

func (s *Settings) field(name string) (FieldSpec, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return FieldSpec{}, false
}

func (s *Settings) setDefaults() {
	for i := range s.Fields {
		f := &s.Fields[i]
		f.Type = strings.ToLower(strings.TrimSpace(f.Type))
		if f.Type == "" {
			f.Type = TypeText
		}
		if f.Label == "" {
			f.Label = labelOf(f.Name)
		}
		if f.MaxLength == 0 {
			switch f.Type {
			case TypeEmail:
				f.MaxLength = 320
			case TypePhone:
				f.MaxLength = 40
			case TypeTextarea:
				f.MaxLength = defaultTextareaLength
			default:
				f.MaxLength = defaultTextLength
			}
		}
	}
	if s.ThankYouText == "" {
		s.ThankYouText = DefaultThankYouText
	}
	if s.SubmitLabel == "" {
		s.SubmitLabel = DefaultSubmitLabel
	}
	if s.RequireToken == nil {
		t := true
		s.RequireToken = &t
	}
	if s.MinFillTime == nil {
		d := config.Duration(DefaultMinFillTime)
		s.MinFillTime = &d
	}
	if s.TokenTTL == 0 {
		s.TokenTTL = config.Duration(DefaultTokenTTL)
	}
	if s.RateLimit.PerIP == 0 {
		s.RateLimit.PerIP = DefaultPerIP
	}
	if s.RateLimit.PerChannel == 0 {
		s.RateLimit.PerChannel = DefaultPerChannel
	}
	if s.RateLimit.Window == 0 {
		s.RateLimit.Window = config.Duration(DefaultWindow)
	}
	if s.Uploads.MaxFileBytes == 0 {
		s.Uploads.MaxFileBytes = DefaultMaxFileBytes
	}
	if s.Uploads.MaxTotalBytes == 0 {
		s.Uploads.MaxTotalBytes = DefaultMaxTotalBytes
	}
	if s.Uploads.AllowedTypes == nil {
		s.Uploads.AllowedTypes = slices.Clone(DefaultAllowedTypes)
	}
	for i, t := range s.Uploads.AllowedTypes {
		s.Uploads.AllowedTypes[i] = strings.ToLower(strings.TrimSpace(t))
	}
	if s.Honeypot == "" {
		s.Honeypot = DefaultHoneypot
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
		if s.hasType(TypeFile) {
			s.MaxBodyBytes += s.Uploads.MaxTotalBytes
		}
	}
	s.plainMaxBytes = s.MaxBodyBytes
	if s.hasType(TypeFile) {
		s.plainMaxBytes = min(s.MaxBodyBytes, DefaultMaxBodyBytes)
	}
	if s.TextField == "" {
		for _, f := range s.Fields {
			if f.Type == TypeTextarea {
				s.TextField = f.Name
				break
			}
		}
	}
	if s.NameField == "" {
		if f, ok := s.field("name"); ok && f.Type == TypeText {
			s.NameField = "name"
		}
	}
}

// labelOf turns a field name into a default label ("first_name" → "First name").
func labelOf(name string) string {
	l := strings.NewReplacer("_", " ", "-", " ").Replace(name)
	if l == "" {
		return l
	}
	return strings.ToUpper(l[:1]) + l[1:]
}

// validate reports every problem at once; where is "channels[NAME].webform".
// No message quotes the secret.
func (s *Settings) validate(where string) error {
	var errs config.ValidationErrors
	add := func(path, format string, args ...any) {
		errs = append(errs, config.FieldError{Path: where + path, Msg: fmt.Sprintf(format, args...)})
	}
	if len(s.Fields) == 0 {
		add(".fields", "at least one field is required")
	}
	seen := map[string]bool{}
	for i, f := range s.Fields {
		p := fmt.Sprintf(".fields[%d]", i)
		if !fieldNameRe.MatchString(f.Name) {
			add(p+".name", "must be 1-64 of a-z, 0-9, _ and -, starting with a letter or digit")
		} else if seen[f.Name] {
			add(p+".name", "field %q is defined twice", f.Name)
		}
		seen[f.Name] = true
		if !slices.Contains(fieldTypes, f.Type) {
			add(p+".type", "must be one of %s", strings.Join(fieldTypes, ", "))
		}
		if f.MaxLength < 0 {
			add(p+".max_length", "must not be negative")
		}
		if f.Type == TypeSelect && len(f.Options) == 0 {
			add(p+".options", "a select field needs options")
		}
		if f.Type != TypeSelect && len(f.Options) > 0 {
			add(p+".options", "only select fields have options")
		}
	}
	if !s.hasType(TypeEmail) && !s.hasType(TypePhone) {
		add(".fields", "an email or a phone field is required: a submission needs a way to reach its sender")
	}
	if seen[s.Honeypot] {
		add(".honeypot", "%q is also a field; name the honeypot something else", s.Honeypot)
	} else if !fieldNameRe.MatchString(s.Honeypot) {
		add(".honeypot", "must be 1-64 of a-z, 0-9, _ and -")
	}
	for _, ref := range []struct{ key, name string }{{"text_field", s.TextField}, {"name_field", s.NameField}, {"subject_field", s.SubjectField}} {
		if ref.name == "" {
			continue
		}
		f, ok := s.field(ref.name)
		if !ok {
			add("."+ref.key, "names no field")
		} else if f.Type != TypeText && f.Type != TypeTextarea && f.Type != TypeSelect {
			add("."+ref.key, "must be a text, textarea or select field")
		}
	}
	if c := s.Consent; c != nil {
		if f, ok := s.field(c.Field); !ok || f.Type != TypeCheckbox {
			add(".consent.field", "must name a checkbox field")
		}
		if strings.TrimSpace(c.Purpose) == "" {
			add(".consent.purpose", "is required")
		}
		if strings.TrimSpace(c.Text) == "" {
			add(".consent.text", "is required: it is what the customer consents to, and it is recorded")
		}
	}
	if s.ThankYouURL != "" {
		if u, err := url.Parse(s.ThankYouURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(".thank_you_url", "must be an absolute http(s) URL")
		}
	}
	for i, o := range s.AllowedOrigins {
		if !isOrigin(o) {
			add(fmt.Sprintf(".allowed_origins[%d]", i), "must be an origin like https://www.example.com (scheme, host, optional port; no path, no wildcard)")
		}
	}
	switch {
	case s.Secret != "" && s.SecretFile != "":
		add(".secret", "give secret or secret_file, not both")
	case s.Secret == "" && s.SecretFile == "":
		add(".secret", "a secret (or secret_file) signing form tokens is required")
	case s.Secret != "" && len(s.Secret) < minSecretBytes:
		add(".secret", "must be at least %d bytes", minSecretBytes)
	}
	if s.MinFillTime != nil && s.MinFillTime.D() < 0 {
		add(".min_fill_time", "must not be negative")
	}
	if s.TokenTTL.D() <= 0 {
		add(".token_ttl", "must be positive")
	} else if s.MinFillTime != nil && s.MinFillTime.D() >= s.TokenTTL.D() {
		add(".token_ttl", "must be longer than min_fill_time")
	}
	if s.RateLimit.PerIP < 0 || s.RateLimit.PerChannel < 0 {
		add(".rate_limit", "per_ip and per_channel must be positive")
	}
	if s.RateLimit.Window.D() <= 0 {
		add(".rate_limit.window", "must be positive")
	}
	if s.Uploads.MaxFileBytes < 0 || s.Uploads.MaxTotalBytes < 0 {
		add(".uploads", "limits must be positive")
	}
	for i, t := range s.Uploads.AllowedTypes {
		if mt, sub, ok := strings.Cut(t, "/"); !ok || mt == "" || sub == "" || mt == "*" {
			add(fmt.Sprintf(".uploads.allowed_types[%d]", i), "must be a media type like image/png or image/*")
		}
	}
	if s.MaxBodyBytes < 1024 {
		add(".max_body_bytes", "must be at least 1024")
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// LoadSettings decodes the webform section of cfg strictly, applies
// defaults, reads secret_file and validates, reporting every problem at
// once, as New does before it builds the channel. Errors name keys, never
// the secret.
func LoadSettings(cfg config.Channel) (Settings, error) {
	var s Settings
	// A key that does not decode is reported with every other problem.
	decodeErrs, err := config.DecodeErrors(cfg.Decode(config.TypeWebform, &s))
	if err != nil {
		return s, err
	}
	s.setDefaults()
	where := fmt.Sprintf("channels[%s].webform", cfg.Name)
	errs := decodeErrs
	if s.SecretFile != "" && s.Secret == "" {
		secret, err := config.ReadSecretFile(s.SecretFile)
		switch {
		case err != nil:
			errs = append(errs, config.FieldError{Path: where + ".secret_file", Msg: err.Error()})
		case len(secret) < minSecretBytes:
			errs = append(errs, config.FieldError{Path: where + ".secret_file", Msg: fmt.Sprintf("the secret must be at least %d bytes", minSecretBytes)})
		}
		if len(errs) > 0 {
			secret = strings.Repeat("x", minSecretBytes) // reported above; validate the rest
		}
		s.Secret, s.SecretFile = secret, ""
	}
	var ve config.ValidationErrors
	if err := s.validate(where); errors.As(err, &ve) {
		errs = append(errs, ve...)
	}
	if len(errs) > 0 {
		return s, errs
	}
	return s, nil
}

// isOrigin reports whether o is exactly scheme://host[:port].
func isOrigin(o string) bool {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	return u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil && !strings.Contains(u.Host, "*") &&
		o == u.Scheme+"://"+u.Host
}
