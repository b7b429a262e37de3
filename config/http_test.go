package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHTTPHardeningKeys: the http timeouts, stream, metrics and session
// secret keys have their defaults, are read from the file, the environment
// and secret files, and are validated.
func TestHTTPHardeningKeys(t *testing.T) {
	c, err := Load(writeConfig(t, "channels: [{name: a, type: api}]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := c.HTTP
	eq(t, h.ReadHeaderTimeout.D(), 10*time.Second)
	eq(t, h.ReadTimeout.D(), 30*time.Second)
	eq(t, h.WriteTimeout.D(), 2*time.Minute)
	eq(t, h.IdleTimeout.D(), 2*time.Minute)
	eq(t, h.BodyTimeout.D(), 30*time.Second)
	eq(t, h.UploadTimeout.D(), 5*time.Minute)
	eq(t, h.StreamKeepAlive.D(), 15*time.Second)
	eq(t, h.MaxStreamsPerAgent, 8)
	eq(t, h.MetricsAddr, "")
	eq(t, h.SessionSecret, "")

	dir := t.TempDir()
	secret := strings.Repeat("s", 40)
	os.WriteFile(filepath.Join(dir, "session"), []byte(secret+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "metrics"), []byte("scrape\n"), 0o600)
	c, err = Load(writeConfig(t, `http:
  body_timeout: 5s
  metrics_addr: 127.0.0.1:9090
  metrics_token_file: `+filepath.Join(dir, "metrics")+`
  session_secret_file: `+filepath.Join(dir, "session")+`
channels: [{name: a, type: api}]
`), []string{"SWITCHBOARD_HTTP_IDLE_TIMEOUT=7s", "SWITCHBOARD_HTTP_MAX_STREAMS_PER_AGENT=3"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, c.HTTP.BodyTimeout.D(), 5*time.Second)
	eq(t, c.HTTP.IdleTimeout.D(), 7*time.Second)
	eq(t, c.HTTP.MaxStreamsPerAgent, 3)
	eq(t, c.HTTP.MetricsAddr, "127.0.0.1:9090")
	eq(t, c.HTTP.MetricsToken, "scrape")
	eq(t, c.HTTP.SessionSecret, secret)
	if r := c.Redacted(); r.HTTP.SessionSecret != RedactedValue || r.HTTP.MetricsToken != RedactedValue {
		t.Errorf("secrets not redacted: %q %q", r.HTTP.SessionSecret, r.HTTP.MetricsToken)
	}

	os.WriteFile(filepath.Join(dir, "short"), []byte("too short\n"), 0o600)
	for _, tt := range []struct{ yaml, want string }{
		{"  idle_timeout: -1s\n", "http.idle_timeout: must be positive"},
		{"  max_streams_per_agent: -1\n", "http.max_streams_per_agent: must be at least 1"},
		{"  metrics_addr: nope\n", "http.metrics_addr:"},
		{"  addr: 127.0.0.1:8080\n  metrics_addr: 127.0.0.1:8080\n", "http.metrics_addr: must differ from http.addr"},
		{"  session_secret_file: " + filepath.Join(dir, "short") + "\n", "http.session_secret_file: must be at least 32 bytes"},
		{"  session_secret: short\n", "http.session_secret: must be at least 32 bytes"},
	} {
		_, err := Load(writeConfig(t, "http:\n"+tt.yaml+"channels: [{name: a, type: api}]\n"), nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
