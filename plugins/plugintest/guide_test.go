package plugintest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/plugins/plugintest"
	"github.com/switchboard-hub/switchboard/plugins/sdk"
)

// The plugin docs/PLUGINS.md walks an author through (its first Go block)
// builds and passes the conformance kit, as the guide's sample output says.
func TestGuidePluginPassesTheKit(t *testing.T) {
	doc, err := os.ReadFile("../../docs/PLUGINS.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```go\n")
	src, _, ok2 := strings.Cut(rest, "```\n")
	if !ok || !ok2 || !strings.Contains(src, "sdk.Serve(") {
		t.Fatal("docs/PLUGINS.md has no Go block with the plugin")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "mychannel")
	// Built from the module root: the file's imports resolve to this
	// checkout's plugins/sdk.
	cmd := exec.Command("go", "build", "-o", bin, filepath.Join(dir, "main.go"))
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the guide's plugin does not build: %v\n%s", err, b)
	}
	rs := plugintest.Check(t.Context(), plugintest.Options{Path: bin, Settings: map[string]string{"api_key": "test"},
		To: &sdk.Identity{Type: "mychannel", Value: "user-7"}})
	var out strings.Builder
	if plugintest.Print(&out, rs) {
		t.Fatalf("the guide's plugin fails the kit:\n%s", out.String())
	}
	const summary = "8 checks: 5 passed, 3 skipped, 0 failed"
	if !strings.Contains(out.String(), "PASS error reporting: a send to an empty recipient failed (permanent)") ||
		!strings.Contains(out.String(), summary) || !strings.Contains(string(doc), summary) {
		t.Fatalf("kit output:\n%s", out.String())
	}
	t.Logf("\n%s", out.String())
}
