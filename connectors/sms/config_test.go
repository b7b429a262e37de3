package sms

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
)

func TestLoadSettingsDefaults(t *testing.T) {
	s, err := LoadSettings(testChannel(map[string]any{"public_url": nil, "from": "+1 415 555 0100"}), "https://hub.example.com/base/")
	if err != nil {
		t.Fatal(err)
	}
	if s.PublicURL != "https://hub.example.com/base" || s.From != testFrom || s.MaxBodyBytes != DefaultMaxBodyBytes ||
		s.MaxLength != 1600 || s.SendTimeout.D() != DefaultSendTimeout || s.Media.MaxBytes != DefaultMediaMaxBytes ||
		s.Media.Attempts != 3 || s.Media.Timeout.D() != DefaultMediaTimeout || len(s.Media.AllowedTypes) != len(DefaultMediaTypes) {
		t.Fatalf("defaults: %+v", s)
	}
	ch, err := NewWithSettings(channelName, s, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	if ch.WebhookURL() != "https://hub.example.com/base/webhooks/twilio/sms-support" || ch.StatusURL() != ch.WebhookURL()+"/status" {
		t.Fatalf("urls: %s %s", ch.WebhookURL(), ch.StatusURL())
	}
}

func TestLoadSettingsTokenFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "token")
	os.WriteFile(p, []byte(testToken+"\n"), 0o600)
	s, err := LoadSettings(testChannel(map[string]any{"auth_token": nil, "auth_token_file": p}), "")
	if err != nil || s.AuthToken != testToken {
		t.Fatalf("token file: %v", err)
	}
	_, err = LoadSettings(testChannel(map[string]any{"auth_token_file": p}), "")
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("token and file: %v", err)
	}
	_, err = LoadSettings(testChannel(map[string]any{"auth_token": nil, "auth_token_file": p + ".missing"}), "")
	if err == nil || !strings.Contains(err.Error(), "auth_token_file") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestLoadSettingsInvalid(t *testing.T) {
	for _, tc := range []struct {
		extra map[string]any
		says  string
	}{
		{map[string]any{"account_sid": nil}, "account_sid: is required"},
		{map[string]any{"account_sid": "AC123"}, "account_sid: is not a Twilio account SID"},
		{map[string]any{"auth_token": nil}, "auth_token: is required"},
		{map[string]any{"auth_token": "s3cr3t-with-dash"}, "auth_token: must be letters and digits"},
		{map[string]any{"from": nil}, "from: is required"},
		{map[string]any{"from": "0401234567"}, "is not a phone number in E.164"},
		{map[string]any{"messaging_service_sid": "MG0123456789abcdef0123456789abcdef"}, "not both"},
		{map[string]any{"from": nil, "messaging_service_sid": "MG1"}, "messaging_service_sid: is not a Messaging Service SID"},
		{map[string]any{"public_url": nil}, "public_url: is required (or http.public_url)"},
		{map[string]any{"public_url": "hub.example.com"}, "public_url: \"hub.example.com\" is not an absolute"},
		{map[string]any{"api_base_url": "ftp://x"}, "api_base_url: must be an http(s) URL"},
		{map[string]any{"max_length": 1601}, "max_length: must be between 1 and 1600"},
		{map[string]any{"max_body_bytes": 10}, "max_body_bytes: must be at least 1024"},
		{map[string]any{"send_timeout": "10ms"}, "send_timeout: must be at least 1s"},
		{map[string]any{"media": map[string]any{"allowed_types": []any{"image/png", "nonsense"}}}, "media.allowed_types[1]"},
		{map[string]any{"media": map[string]any{"attempts": 11}}, "media.attempts"},
		{map[string]any{"media": map[string]any{"timeout": "20s"}}, "media.timeout: must be between 100ms and 14s"},
		{map[string]any{"colour": "red"}, "colour"},
	} {
		_, err := LoadSettings(testChannel(tc.extra), "")
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%v: error %v, want it to say %q", tc.extra, err, tc.says)
			continue
		}
		if !strings.Contains(err.Error(), "channels[sms-support].") {
			t.Errorf("%v: error %q does not name the channel", tc.extra, err)
		}
		if strings.Contains(err.Error(), testToken) {
			t.Errorf("%v: error contains the auth token", tc.extra)
		}
	}
	// Every problem at once.
	_, err := LoadSettings(config.Channel{Name: "x", Type: "sms", SMS: map[string]any{}}, "")
	if err == nil || strings.Count(err.Error(), "\n") < 3 {
		t.Fatalf("empty section: %v", err)
	}
}

func testEnv() connectors.Env {
	return connectors.Env{Sink: connectors.SinkFunc(nil), Logger: discardLogger()}
}

// A key that does not decode is reported with the section's other problems;
// an unreadable token file is not also "required".
func TestLoadSettingsDecodeProblemsComeWithTheRest(t *testing.T) {
	_, err := LoadSettings(config.Channel{Name: "texts", Type: "sms", SMS: map[string]any{
		"account_sid": "nope", "auth_token_file": "/nonexistent/token", "form": "+14155550100", "max_length": "lots"}}, "https://hub.example.com")
	for _, w := range []string{
		`channels[texts].sms: unknown key "form" in sms; did you mean "from"?`,
		`channels[texts].sms.max_length: wrong type: want an integer, got a string`,
		`channels[texts].sms.account_sid: is not a Twilio account SID`,
		`channels[texts].sms.auth_token_file: reading secret file`,
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "auth_token: is required") {
		t.Errorf("an unreadable token file is also reported missing:\n%v", err)
	}
}
