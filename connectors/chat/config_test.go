package chat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
)

func TestSettings(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "bot")
	os.WriteFile(tokenFile, []byte("xoxb-from-file\n"), 0o600)
	emptyFile := filepath.Join(dir, "empty")
	os.WriteFile(emptyFile, nil, 0o600)

	s, err := LoadSettings(config.Channel{Name: "s", Type: "slack", Slack: map[string]any{"bot_token_file": tokenFile, "signing_secret": "sec"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.BotToken != "xoxb-from-file" || s.Mode != ModeEvents || s.MaxBodyBytes != DefaultMaxBodyBytes ||
		s.UserCacheTTL.D() != time.Hour || *s.RateLimitRetries != 3 || s.LeaseTTL.D() != 30*time.Second {
		t.Fatalf("defaults: %+v", s)
	}

	for _, tc := range []struct {
		name  string
		slack map[string]any
		want  []string // every problem is reported, by key
	}{
		{"empty", nil, []string{"channels[s].slack.bot_token: is required", "signing_secret: is required in mode events"}},
		{"socket without app token", map[string]any{"bot_token": "xoxb-1", "mode": "socket"}, []string{"app_token: is required in mode socket"}},
		{"unknown mode and key", map[string]any{"bot_token": "xoxb-1", "signing_secret": "s", "mode": "rtm"}, []string{`mode: must be events or socket, not "rtm"`}},
		{"both secret and file", map[string]any{"bot_token": "xoxb-SECRETVALUE", "bot_token_file": tokenFile, "signing_secret": "s"}, []string{"bot_token_file: set either bot_token or bot_token_file, not both"}},
		{"empty secret file", map[string]any{"bot_token_file": emptyFile, "signing_secret": "s"}, []string{"bot_token_file: secret file", "is empty"}},
		{"bad values", map[string]any{"bot_token": "xoxb-1", "signing_secret": "s", "api_url": "ftp://x", "team_id": "nope", "lease_ttl": "10ms", "rate_limit_retries": 99},
			[]string{"api_url: must be an http(s) URL", "team_id: is not a Slack team id", "lease_ttl: must be at least 1s", "rate_limit_retries: must be between 0 and 10"}},
	} {
		_, err := LoadSettings(config.Channel{Name: "s", Type: "slack", Slack: tc.slack})
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "SECRETVALUE") {
			t.Errorf("%s: error shows a secret: %v", tc.name, err)
		}
	}
	// Unknown keys are refused (strict decode).
	if _, err := LoadSettings(config.Channel{Name: "s", Type: "slack", Slack: map[string]any{"bot_token": "x", "signing_secret": "s", "webhook_url": "x"}}); err == nil || !strings.Contains(err.Error(), "webhook_url") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestModesDecideAbilities(t *testing.T) {
	events, err := New(config.Channel{Name: "e", Type: "slack", Slack: map[string]any{"bot_token": "xoxb-1", "signing_secret": "s"}}, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if events.Socket() != nil || len(events.Routes()) != 2 || events.Routes()[0].Pattern != "POST /webhooks/slack/{channel}" ||
		events.Routes()[1].Pattern != "POST /webhooks/slack/{channel}/interactivity" {
		t.Fatalf("events mode: socket %v routes %v", events.Socket(), events.Routes())
	}
	// Socket Mode is a source that runs on one replica at a time, under
	// the lease slack:CHANNEL the hub holds for it.
	sock, err := New(config.Channel{Name: "s", Type: "slack", Slack: map[string]any{"bot_token": "xoxb-1", "app_token": "xapp-1", "mode": "socket"}}, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	var src any = sock.Socket()
	ls, ok := src.(connectors.LeasedSource)
	if !ok {
		t.Fatal("socket mode is not a leased source")
	}
	if _, isSource := src.(connectors.Source); isSource {
		t.Fatal("socket mode could run without its lease (it is a plain Source)")
	}
	if name, ttl := ls.LeaseSpec(); name != "slack:s" || ttl != 30*time.Second {
		t.Fatalf("lease %q, ttl %v", name, ttl)
	}
}

// A key that does not decode is reported with the section's other problems.
func TestSettingsDecodeProblemsComeWithTheRest(t *testing.T) {
	_, err := LoadSettings(config.Channel{Name: "s", Type: "slack", Slack: map[string]any{
		"bot_tokn": "xoxb-SECRETVALUE", "mode": "socket", "max_body_bytes": "lots"}})
	for _, w := range []string{
		`channels[s].slack: unknown key "bot_tokn" in slack; did you mean "bot_token"?`,
		`channels[s].slack.max_body_bytes: wrong type: want an integer, got a string`,
		`channels[s].slack.app_token: is required in mode socket`,
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "SECRETVALUE") {
		t.Errorf("error shows a secret: %v", err)
	}
}
