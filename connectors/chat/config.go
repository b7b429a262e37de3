package chat

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/config"
)

// Modes of receiving events.
const (
	ModeEvents = "events" // Events API webhooks (needs a public URL)
	ModeSocket = "socket" // Socket Mode (outbound WebSocket; no public URL)
)

// Defaults of Settings.
const (
	DefaultUserCacheTTL     = time.Hour
	DefaultMaxBodyBytes     = int64(1 << 20)
	DefaultRateLimitRetries = 3
	DefaultMaxRetryAfter    = 30 * time.Second
	DefaultLeaseTTL         = 30 * time.Second
)

// Settings is the `slack` section of a slack channel.
type Settings struct {
	// BotToken (xoxb-...) calls the Web API: users.info, chat.postMessage,
	// conversations.open, auth.test. Required.
	BotToken     string `yaml:"bot_token"`
	BotTokenFile string `yaml:"bot_token_file"`
	// SigningSecret checks Events API requests. Required in mode events;
	// in mode socket the webhook route is served only when it is set.
	SigningSecret     string `yaml:"signing_secret"`
	SigningSecretFile string `yaml:"signing_secret_file"`
	// AppToken (xapp-...) opens Socket Mode connections. Required in mode socket.
	AppToken     string `yaml:"app_token"`
	AppTokenFile string `yaml:"app_token_file"`
	// Mode is events (default) or socket.
	Mode string `yaml:"mode"`
	// APIURL is the Web API base URL (default https://slack.com/api/; tests
	// point it at a slacktest server).
	APIURL string `yaml:"api_url"`
	// TeamID, when set, is the only workspace whose events are accepted;
	// events of other workspaces are acknowledged and dropped.
	TeamID string `yaml:"team_id"`
	// BotUserID is the app's own bot user; default: asked with auth.test.
	BotUserID string `yaml:"bot_user_id"`
	// UserCacheTTL is how long a users.info profile (email, name, avatar)
	// is reused before it is fetched again. Default 1h.
	UserCacheTTL config.Duration `yaml:"user_cache_ttl"`
	// MaxBodyBytes caps an Events API request body (413 above). Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RateLimitRetries is how often Send waits out a 429 (Retry-After)
	// before handing the reply back to the hub's retry queue. Default 3.
	RateLimitRetries *int `yaml:"rate_limit_retries"`
	// MaxRetryAfter: a 429 asking to wait longer than this is not waited
	// out inside Send but returned as a retryable error. Default 30s.
	MaxRetryAfter config.Duration `yaml:"max_retry_after"`
	// LeaseTTL of the Socket Mode lease that lets one replica at a time hold
	// the connection. Default 30s.
	LeaseTTL config.Duration `yaml:"lease_ttl"`
}

var (
	teamIDRe = regexp.MustCompile(`^[TE][A-Z0-9]{1,30}$`)
	userIDRe = regexp.MustCompile(`^[UWB][A-Z0-9]{1,30}$`)
)

// LoadSettings decodes the slack section of cfg strictly, reads *_file
// secrets, applies defaults and validates, reporting every problem at once.
// Errors name keys, never secret values.
func LoadSettings(cfg config.Channel) (Settings, error) {
	var s Settings
	// A key that does not decode is reported with every other problem.
	decodeErrs, err := config.DecodeErrors(cfg.Decode(config.TypeSlack, &s))
	if err != nil {
		return s, err
	}
	where := fmt.Sprintf("channels[%s].slack", cfg.Name)
	errs := decodeErrs
	add := func(key, msg string) { errs = append(errs, config.FieldError{Path: where + "." + key, Msg: msg}) }
	for _, sec := range []struct {
		key        string
		val, file  *string
		fileKeyVal string
	}{
		{"bot_token", &s.BotToken, &s.BotTokenFile, "bot_token_file"},
		{"signing_secret", &s.SigningSecret, &s.SigningSecretFile, "signing_secret_file"},
		{"app_token", &s.AppToken, &s.AppTokenFile, "app_token_file"},
	} {
		switch {
		case *sec.file == "":
		case *sec.val != "":
			add(sec.fileKeyVal, fmt.Sprintf("set either %s or %s, not both", sec.key, sec.fileKeyVal))
		default:
			v, err := config.ReadSecretFile(*sec.file)
			if err != nil {
				add(sec.fileKeyVal, err.Error())
				v = "unread" // reported: no "is required" besides
			}
			*sec.val = v
		}
		*sec.val = strings.TrimSpace(*sec.val)
	}
	if s.Mode == "" {
		s.Mode = ModeEvents
	}
	if s.UserCacheTTL == 0 {
		s.UserCacheTTL = config.Duration(DefaultUserCacheTTL)
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.RateLimitRetries == nil {
		n := DefaultRateLimitRetries
		s.RateLimitRetries = &n
	}
	if s.MaxRetryAfter == 0 {
		s.MaxRetryAfter = config.Duration(DefaultMaxRetryAfter)
	}
	if s.LeaseTTL == 0 {
		s.LeaseTTL = config.Duration(DefaultLeaseTTL)
	}
	if s.BotToken == "" {
		add("bot_token", "is required (or bot_token_file)")
	}
	switch s.Mode {
	case ModeEvents:
		if s.SigningSecret == "" {
			add("signing_secret", "is required in mode events (or signing_secret_file)")
		}
	case ModeSocket:
		if s.AppToken == "" {
			add("app_token", "is required in mode socket (or app_token_file)")
		}
	default:
		add("mode", fmt.Sprintf("must be %s or %s, not %q", ModeEvents, ModeSocket, s.Mode))
	}
	if s.APIURL != "" {
		u, err := url.Parse(s.APIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("api_url", "must be an http(s) URL")
		} else if !strings.HasSuffix(s.APIURL, "/") {
			s.APIURL += "/"
		}
	}
	if s.TeamID != "" && !teamIDRe.MatchString(s.TeamID) {
		add("team_id", "is not a Slack team id (T...)")
	}
	if s.BotUserID != "" && !userIDRe.MatchString(s.BotUserID) {
		add("bot_user_id", "is not a Slack user id (U...)")
	}
	if s.UserCacheTTL < 0 {
		add("user_cache_ttl", "must not be negative")
	}
	if s.MaxBodyBytes < 0 {
		add("max_body_bytes", "must not be negative")
	}
	if *s.RateLimitRetries < 0 || *s.RateLimitRetries > 10 {
		add("rate_limit_retries", "must be between 0 and 10")
	}
	if s.MaxRetryAfter < 0 {
		add("max_retry_after", "must not be negative")
	}
	if s.LeaseTTL.D() < time.Second {
		add("lease_ttl", "must be at least 1s")
	}
	if len(errs) > 0 {
		return s, errs
	}
	return s, nil
}
