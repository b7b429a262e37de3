package plugins

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

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

// The output limiter passes the burst, then refills at its rate; the
// first line after a suppression is preceded by the count of lines lost.
func TestOutputLimiterBurstRefillAndReport(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o := newOutputLimiter(slog.New(slog.NewJSONHandler(&buf, nil)), 1, 3)
	o.now = func() time.Time { return now }
	passed := 0
	for i := 0; i < 10; i++ {
		if o.allow() {
			passed++
		}
	}
	if passed != 3 || buf.Len() != 0 {
		t.Fatalf("%d of 10 passed at once (want the burst, 3); log %s", passed, buf.String())
	}
	now = now.Add(2 * time.Second)
	if !o.allow() || !o.allow() || o.allow() {
		t.Fatal("2s at 1 line/s did not refill exactly 2 lines")
	}
	var m struct {
		Msg   string
		Lines int
	}
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil || m.Msg != "plugin output suppressed" || m.Lines != 7 {
		t.Fatalf("report %q: %v", buf.String(), err)
	}
	buf.Reset()
	o.flush()
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil || m.Lines != 1 {
		t.Fatalf("flush report %q: %v", buf.String(), err)
	}
	// Through the hclog adapter: the plugin's (named) stderr logger is
	// limited; go-plugin's own unnamed messages are not.
	buf.Reset()
	h := newLimitedHCLog(slog.New(slog.NewJSONHandler(&buf, nil)), o)
	h.Named("mychannel").Info("flood")
	h.Info("plugin process exited")
	if strings.Contains(buf.String(), "flood") || !strings.Contains(buf.String(), "plugin process exited") {
		t.Fatalf("log %s", buf.String())
	}
}
