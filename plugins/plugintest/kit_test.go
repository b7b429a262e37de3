package plugintest_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/plugins/examples/telegram/telegramtest"
	"github.com/switchboard-hub/switchboard/plugins/plugintest"
	"github.com/switchboard-hub/switchboard/plugins/sdk"
)

func build(t *testing.T, pkg, ldflags string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if b, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", out, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// The test plugin implements sdk.Injector: every check runs and passes.
// Check, not Run: Run would turn a Skip (say, lost injection support) into
// a skipped subtest and the test would pass without checking anything.
func TestKitPassesTheTestPlugin(t *testing.T) {
	path := build(t, "github.com/switchboard-hub/switchboard/plugins/internal/testplugin", "")
	rs := plugintest.Check(t.Context(), plugintest.Options{Path: path, Settings: map[string]string{"state_dir": t.TempDir()},
		To: &sdk.Identity{Type: "testkit", Value: "kit-user"}})
	var out bytes.Buffer
	if plugintest.Print(&out, rs) {
		t.Fatalf("checks failed:\n%s", out.String())
	}
	for _, r := range rs {
		if r.Outcome != plugintest.Pass {
			t.Errorf("%s", r)
		}
	}
	t.Logf("\n%s", out.String())
}

// The Telegram plugin cannot inject by itself; the harness makes the fake
// Bot API (no network here) produce the messages, as Telegram would.
func TestKitPassesTheTelegramPlugin(t *testing.T) {
	path := build(t, "github.com/switchboard-hub/switchboard/plugins/examples/telegram", "")
	api := telegramtest.New("42:kit")
	defer api.Close()
	rs := plugintest.Check(t.Context(), plugintest.Options{Path: path,
		Settings: map[string]string{"bot_token": "42:kit", "api_base_url": api.URL, "poll_timeout": "1"},
		To:       &sdk.Identity{Type: "telegram", Value: "777001"},
		Inject: func(ctx context.Context, key, text string) error {
			api.UserSays(telegramtest.User{ID: 777001, FirstName: "Kit"}, text)
			return nil
		}})
	var out bytes.Buffer
	if plugintest.Print(&out, rs) {
		t.Fatalf("checks failed:\n%s", out.String())
	}
	for _, r := range rs {
		if r.Outcome != plugintest.Pass {
			t.Errorf("%s", r)
		}
	}
	t.Logf("\n%s", out.String())
}

// A plugin that prints to stdout fails the handshake with a clear reason,
// and the rest is skipped.
func TestKitReportsARefusedPlugin(t *testing.T) {
	path := build(t, "github.com/switchboard-hub/switchboard/plugins/internal/testplugin", "-X main.variant=garbage")
	rs := plugintest.Check(t.Context(), plugintest.Options{Path: path, Settings: map[string]string{"state_dir": t.TempDir()}})
	if rs[0].Outcome != plugintest.Fail || !strings.Contains(rs[0].Detail, "wrote to stdout before the handshake") {
		t.Fatalf("handshake = %s", rs[0])
	}
	for _, r := range rs[1:] {
		if r.Outcome != plugintest.Skip {
			t.Errorf("after a failed handshake: %s", r)
		}
	}
}
