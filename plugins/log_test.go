package plugins

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// A plugin's log attributes cannot pass for the hub's own: they are
// grouped under "attrs", and plugin/channel stay the hub's values.
func TestPluginLogAttributesCannotShadow(t *testing.T) {
	var buf bytes.Buffer
	l := newHCLog(slog.New(slog.NewJSONHandler(&buf, nil)).With("plugin", "kit", "channel", "kitchan"))
	l.Log(hclog.Info, "hello", "plugin", "evil", "channel", "other", "n", 1)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	attrs, _ := m["attrs"].(map[string]any)
	if m["plugin"] != "kit" || m["channel"] != "kitchan" || attrs["plugin"] != "evil" || attrs["n"] != float64(1) {
		t.Fatalf("log line %s", buf.Bytes())
	}
}
