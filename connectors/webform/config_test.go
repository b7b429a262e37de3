package webform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
)

// LoadSettings reports every problem of the section at once, as config
// check shows them, and agrees with New on a good section.
func TestLoadSettingsReportsAll(t *testing.T) {
	short := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(short, []byte("too-short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadSettings(config.Channel{Name: "form", Type: "webform", Webform: map[string]any{
		"fields":      []any{"name", "message"},
		"secret_file": short,
		"rate_limit":  map[string]any{"windw": "1m"},
		"text_field":  "nope",
	}})
	if err == nil {
		t.Fatal("LoadSettings accepted a bad section")
	}
	for _, want := range []string{
		`channels[form].webform: unknown key "windw" in webform.rate_limit; did you mean "window"?`,
		"channels[form].webform.secret_file: the secret must be at least 16 bytes",
		"channels[form].webform.fields: an email or a phone field is required",
		"channels[form].webform.text_field: names no field",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "too-short") {
		t.Errorf("the secret leaked into %v", err)
	}

	good := config.Channel{Name: "form", Type: "webform", Webform: map[string]any{
		"fields": []any{"email", "message"}, "secret": "0123456789abcdef"}}
	s, err := LoadSettings(good)
	if err != nil {
		t.Fatalf("LoadSettings(good): %v", err)
	}
	if s.TextField != "message" || *s.RequireToken != true {
		t.Errorf("defaults not applied: %+v", s)
	}
}

// New refuses exactly what LoadSettings (and so `switchboard config
// check`) refuses, with the same report: every problem at once, and a
// secret given twice (inline and as a file) is an error, not the file
// silently winning.
func TestNewAppliesLoadSettingsRules(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("0123456789abcdef-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, section := range map[string]map[string]any{
		"several problems": {"fields": []any{"name", "message"}, "secret": "short", "rate_limit": map[string]any{"windw": "1m"}},
		"secret twice":     {"fields": []any{"email", "message"}, "secret": "0123456789abcdef", "secret_file": file},
	} {
		cfg := config.Channel{Name: "form", Type: "webform", Webform: section}
		_, want := LoadSettings(cfg)
		if want == nil {
			t.Fatalf("%s: LoadSettings accepted the section", name)
		}
		_, err := New(cfg, connectors.Env{})
		if err == nil || err.Error() != want.Error() {
			t.Errorf("%s: New: %v\nwant LoadSettings' report: %v", name, err, want)
		}
	}
}
