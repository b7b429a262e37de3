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

// A key that does not decode is reported with the section's other
// problems, not alone; a missing password file is not also "required".
func TestSettingsDecodeProblemsComeWithTheRest(t *testing.T) {
	_, err := load(map[string]any{
		"imap": map[string]any{"adr": "imap.example.com:993", "username": "u", "password_file": "/nonexistent/pw", "batch_size": "many"},
		"smtp": map[string]any{"addr": "smtp.example.com", "from": "support@example.com"},
	})
	want := []string{
		`channels[mail].email: unknown key "adr" in email.imap; did you mean "addr"?`,
		`channels[mail].email.imap.batch_size: wrong type: want an integer, got a string`,
		`channels[mail].email.imap.addr: is required (host:port)`,
		`channels[mail].email.imap.password_file: reading secret file`,
		`channels[mail].email.smtp.addr: "smtp.example.com" is not host:port`,
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), "imap.password: is required") {
		t.Errorf("an unreadable password file is also reported missing:\n%v", err)
	}
}

// trusted_authserv_ids: none by default (every From claimed), lower-cased,
// and a value that cannot be an authserv-id is reported by key.
func TestSettingsTrustedAuthservIDs(t *testing.T) {
	base := func(ids any) map[string]any {
		m := map[string]any{
			"imap": map[string]any{"addr": "imap.example.com:993", "username": "support", "password": "pw"},
			"smtp": map[string]any{"addr": "smtp.example.com:587", "from": "support@example.com"},
		}
		if ids != nil {
			m["trusted_authserv_ids"] = ids
		}
		return m
	}
	s, err := load(base(nil))
	if err != nil || len(s.TrustedAuthservIDs) != 0 {
		t.Fatalf("default: %v, %v", s.TrustedAuthservIDs, err)
	}
	s, err = load(base([]any{"MX.Example.COM", "mx2.example.com"}))
	if err != nil || len(s.TrustedAuthservIDs) != 2 || s.TrustedAuthservIDs[0] != "mx.example.com" {
		t.Fatalf("ids: %v, %v", s.TrustedAuthservIDs, err)
	}
	_, err = load(base([]any{"mx.example.com", "", "mx; dmarc=pass"}))
	if err == nil || !strings.Contains(err.Error(), "trusted_authserv_ids[1]") || !strings.Contains(err.Error(), "trusted_authserv_ids[2]") ||
		strings.Contains(err.Error(), "trusted_authserv_ids[0]") {
		t.Fatalf("bad ids: %v", err)
	}
}
