package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigCheckGood(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "good.yaml", `store: {embedded: {path: `+filepath.Join(dir, "data")+`}}
teams: [{name: support}]
channels:
  - {name: crm, type: api}
  - name: form
    type: webform
    phase: shadow
    webform: {fields: [email, message], secret: 0123456789abcdef}
`)
	for _, args := range [][]string{{"config", "check", p}, {"config", "check", "--config", p}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, out.String(), errOut.String())
		}
		if want := p + ": OK; 2 channel(s): crm (api, live), form (webform, shadow)\n"; out.String() != want {
			t.Errorf("%v: stdout %q, want %q", args, out.String(), want)
		}
	}
	// The CLI's own variables are not configuration keys.
	t.Setenv("SWITCHBOARD_TOKEN", "some-api-token")
	t.Setenv("SWITCHBOARD_URL", "http://127.0.0.1:1")
	t.Setenv("SWITCHBOARD_CONFIG", p)
	var out bytes.Buffer
	if code := run([]string{"config", "check"}, &out, &bytes.Buffer{}); code != 0 || !strings.HasPrefix(out.String(), p+": OK") {
		t.Errorf("$SWITCHBOARD_CONFIG: exit %d, %q", code, out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("config check created the data directory (%v)", err)
	}
}

// badConfig has problems in channel sections and a plugin's settings,
// which serve used to find only after opening the store and writing the
// admin token; with topLevel, also an unknown key that config.Load finds.
func badConfig(t *testing.T, dir string, topLevel bool) (path string, want []string) {
	htp := "http: {addr: \"127.0.0.1:0\"}"
	if topLevel {
		htp = "htp: {addr: \"127.0.0.1:0\"}"
	}
	p := writeFile(t, dir, "bad.yaml", `store:
  embedded:
    path: `+filepath.Join(dir, "data")+`
`+htp+`
channels:
  - name: mail
    type: email
    email:
      imap: {adr: "imap.example.com:993", username: u, password: p}
      smtp: {addr: "smtp.example.com:587", from: support@example.com}
  - name: form
    type: webform
    webform:
      fields: [email, message]
      secret: short
  - name: tg
    type: plugin
    plugin: {name: telegram, lease_ttl: 100ms}
plugins:
  - name: telegram
    path: /bin/true
    settings:
      bot_token_file: /nonexistent/switchboard-test-token
`)
	want = []string{
		p + `:9: channels[mail].email: unknown key "adr" in email.imap; did you mean "addr"?`,
		p + `:15: channels[form].webform.secret: must be at least 16 bytes`,
		p + `:18: channels[tg].plugin.lease_ttl: 100ms is too short (at least 1s: the lease is renewed every third of it)`,
		p + `:23: plugins[telegram].settings.bot_token_file: reading secret file: open /nonexistent/switchboard-test-token: no such file or directory`,
	}
	if topLevel {
		want = append([]string{p + `:4: unknown key "htp" in the top level; did you mean "http"?`}, want...)
	}
	return p, want
}

func TestConfigCheckBad(t *testing.T) {
	dir := t.TempDir()
	p, want := badConfig(t, dir, true)
	var out, errOut bytes.Buffer
	code := run([]string{"config", "check", p}, &out, &errOut)
	if code == 0 {
		t.Fatalf("exit 0 for a bad config; stdout:\n%s", out.String())
	}
	if got := strings.TrimSuffix(out.String(), "\n"); got != strings.Join(want, "\n") {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if !strings.Contains(errOut.String(), "5 problem(s)") {
		t.Errorf("stderr %q does not count the problems", errOut.String())
	}
	if code := run([]string{"config", "check", filepath.Join(dir, "missing.yaml")}, &out, &errOut); code == 0 {
		t.Error("exit 0 for a missing file")
	}
	if code := run([]string{"config"}, &out, &errOut); code != 2 {
		t.Errorf("config without check: exit %d, want 2", code)
	}
}

// serve reports the same problems (every one of them passes config.Load)
// and neither opens the store nor writes the bootstrap admin token.
func TestServeBadConfigWritesNothing(t *testing.T) {
	dir := t.TempDir()
	p, want := badConfig(t, dir, false)
	var out, errOut bytes.Buffer
	if code := run([]string{"serve", "--config", p}, &out, &errOut); code == 0 {
		t.Fatal("serve started with a bad config")
	}
	for _, w := range want {
		if !strings.Contains(errOut.String(), w) {
			t.Errorf("serve's error does not contain %q:\n%s", w, errOut.String())
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "bad.yaml" {
			t.Errorf("serve wrote %s", e.Name())
		}
	}
}
