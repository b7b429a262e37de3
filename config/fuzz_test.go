package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoad loads arbitrary YAML with arbitrary SWITCHBOARD_* variables (one
// per line of env): never a panic, and either a config that passes
// Validate and no error, or a non-empty list of problems (with the config,
// when the file decoded, for printing it redacted), never an empty one,
// and within seconds.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"valid/minimal.yaml", "valid/channels.yaml", "valid/redis-sentinel.yaml",
		"invalid/duplicate-key.yaml", "invalid/bad-duration.yaml", "invalid/trusted-proxies.yaml", "invalid/two-docs.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "")
	}
	f.Add("", "SWITCHBOARD_HTTP_ADDR=:8081\nSWITCHBOARD_AGENTS_0_NAME=alice\nSWITCHBOARD_AGENTS_0_TOKEN=tok-123456789")
	f.Add("", "SWITCHBOARD_CHANNELS_0_NAME=api\nSWITCHBOARD_CHANNELS_0_TYPE=api\nSWITCHBOARD_CHANNELS_0_PHASE=pilot")
	f.Add("", "SWITCHBOARD_AGENTS_1000_NAME=x\nSWITCHBOARD_NOPE=1\nSWITCHBOARD_TOKEN=t\nSWITCHBOARD_HTTP_MAX_BODY_BYTES=-1")
	f.Add("channels:\n  - name: m\n    type: email\n    email: {imap: {addr: x}}\n", "SWITCHBOARD_CHANNELS_0_EMAIL_IMAP_PASSWORD=pw")
	f.Add("http: [1, 2]\n", "")
	f.Add("a: &a [*a]\n", "")
	f.Add("\t", "=")
	dir := f.TempDir()
	path := filepath.Join(dir, "switchboard.yaml")
	f.Fuzz(func(t *testing.T, yaml, env string) {
		// Secret files are read: keep the fuzzer off device and kernel
		// files, which may block or never end.
		for _, s := range []string{"/dev", "/proc", "/sys"} {
			if strings.Contains(yaml, s) || strings.Contains(env, s) {
				return
			}
		}
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		var cfg *Config
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			cfg, err = Load(path, strings.Split(env, "\n"))
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Load did not return within 5 s")
		}
		if err == nil {
			if cfg == nil {
				t.Fatal("neither a config nor an error")
			}
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("loaded without error but Validate says: %v", verr)
			}
			_ = cfg.Redacted()
			return
		}
		var ve ValidationErrors
		if errors.As(err, &ve) {
			if len(ve) == 0 {
				t.Fatal("an empty list of problems")
			}
			for _, p := range ve {
				if p.Msg == "" {
					t.Fatalf("a problem without a message: %+v", p)
				}
			}
		} else if cfg != nil {
			t.Fatalf("a config with an error that is not a list of problems: %v", err)
		}
		if cfg != nil {
			_ = cfg.Redacted()
		}
	})
}
