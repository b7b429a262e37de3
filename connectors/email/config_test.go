package email

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/config"
)

func load(settings map[string]any) (Settings, error) {
	return LoadSettings(config.Channel{Name: "mail", Type: "email", Email: settings})
}

func TestSettingsDefaults(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "imap")
	os.WriteFile(pw, []byte("imap-secret\n"), 0o600)
	s, err := load(map[string]any{
		"imap": map[string]any{"addr": "imap.example.com:993", "username": "support", "password_file": pw},
		"smtp": map[string]any{"addr": "smtp.example.com:587", "from": "support@example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.IMAP.Password != "imap-secret" || s.IMAP.TLS != TLSImplicit || s.SMTP.TLS != TLSStart || s.Domain != "example.com" ||
		len(s.IMAP.Folders) != 1 || s.IMAP.Folders[0] != "INBOX" || s.IMAP.IdleRefresh.D() != DefaultIdleRefresh ||
		s.Limits.MaxAttachmentBytes != DefaultMaxAttachmentBytes || s.SMTP.Hostname != "example.com" {
		t.Fatalf("settings = %+v", s)
	}
}

func TestSettingsReportEveryProblemWithoutSecrets(t *testing.T) {
	_, err := load(map[string]any{
		"imap": map[string]any{"addr": "no-port", "username": "u", "password": "Sup3r-Secret-IMAP", "tls": "none",
			"idle_refresh": "45m", "backfill_since": "last year", "folders": []any{"INBOX", "INBOX"}, "move_to": "INBOX"},
		"smtp":   map[string]any{"addr": "smtp.example.com:25", "from": "Support <support@example.com>", "password": "x", "password_file": "/nonexistent"},
		"limits": map[string]any{"max_attachment_bytes": 1 << 40},
	})
	if err == nil {
		t.Fatal("bad settings accepted")
	}
	msg := err.Error()
	for _, want := range []string{"imap.addr", "imap.tls", "allow_insecure", "imap.idle_refresh", "imap.backfill_since", "imap.folders[1]", "imap.move_to", "smtp.from", "smtp.password_file", "limits.max_attachment_bytes"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "Sup3r-Secret-IMAP") {
		t.Fatalf("error shows the password:\n%s", msg)
	}
	if _, err := load(map[string]any{"imap": map[string]any{"addr": "a:1", "username": "u", "password": "p", "bogus": 1},
		"smtp": map[string]any{"addr": "a:2", "from": "s@example.com"}}); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown key accepted: %v", err)
	}
}
