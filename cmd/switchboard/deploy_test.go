package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The hub's configuration that deploy/ ships (the compose file's, and the
// Kubernetes ConfigMap's) passes `switchboard config check`, with each
// secret file it names written where the deployment would mount it (a
// temporary directory standing in for /run/secrets). deploy/check checks
// the manifests themselves.
func TestDeployConfigsPassConfigCheck(t *testing.T) {
	compose, err := os.ReadFile("../../deploy/compose/switchboard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../deploy/k8s/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		t.Fatal(err)
	}
	fileRe := regexp.MustCompile(`(?m)^(\s*[a-z_]+_file:\s*)(/run/secrets/\S+)\s*$`)
	for name, text := range map[string]string{"compose": string(compose), "k8s": cm.Data["switchboard.yaml"]} {
		t.Run(name, func(t *testing.T) {
			if text == "" {
				t.Fatal("no configuration found")
			}
			secrets := t.TempDir()
			text = fileRe.ReplaceAllStringFunc(text, func(line string) string {
				m := fileRe.FindStringSubmatch(line)
				p := filepath.Join(secrets, strings.TrimPrefix(m[2], "/run/secrets/"))
				os.MkdirAll(filepath.Dir(p), 0o700)
				os.WriteFile(p, []byte("a-secret-value-long-enough-for-any-rule-0123456789\n"), 0o600)
				return m[1] + p
			})
			if !strings.Contains(text, secrets) {
				t.Fatal("the configuration names no secret file under /run/secrets")
			}
			cfg := filepath.Join(t.TempDir(), "switchboard.yaml")
			os.WriteFile(cfg, []byte(text), 0o600)
			out, err := exec.Command(binary(t), "config", "check", cfg).CombinedOutput()
			if err != nil {
				t.Fatalf("switchboard config check of deploy/'s %s configuration: %v\n%s", name, err, out)
			}
		})
	}
}
