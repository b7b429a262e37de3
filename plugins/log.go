package plugins

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// slogHCLog adapts the hub's slog.Logger to the hclog.Logger go-plugin
// logs through; the plugin's own stderr lines (JSON from the SDK's logger)
// arrive here too, already parsed, and land in the hub's log with the
// plugin's name.
type slogHCLog struct {
	l    *slog.Logger
	name string
	args []any
}

func newHCLog(l *slog.Logger) hclog.Logger { return &slogHCLog{l: l} }

var _ hclog.Logger = (*slogHCLog)(nil)

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace, hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

func (h *slogHCLog) Log(level hclog.Level, msg string, args ...any) {
	lv := slogLevel(level)
	if !h.l.Enabled(context.Background(), lv) {
		return
	}
	all := append(append([]any{}, h.args...), args...)
	if len(all)%2 == 1 {
		all = append(all, "(missing)")
	}
	for i := 0; i < len(all); i += 2 {
		all[i] = fmt.Sprint(all[i])
	}
	// What the plugin logs goes in a group of its own, so it cannot
	// shadow the hub's attributes (plugin, channel) on the same line.
	var out []any
	if len(all) > 0 {
		out = append(out, slog.Group("attrs", all...))
	}
	if h.name != "" {
		out = append(out, "logger", h.name)
	}
	h.l.Log(context.Background(), lv, msg, out...)
}

func (h *slogHCLog) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *slogHCLog) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *slogHCLog) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *slogHCLog) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *slogHCLog) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *slogHCLog) IsTrace() bool { return h.l.Enabled(context.Background(), slog.LevelDebug-4) }
func (h *slogHCLog) IsDebug() bool { return h.l.Enabled(context.Background(), slog.LevelDebug) }
func (h *slogHCLog) IsInfo() bool  { return h.l.Enabled(context.Background(), slog.LevelInfo) }
func (h *slogHCLog) IsWarn() bool  { return h.l.Enabled(context.Background(), slog.LevelWarn) }
func (h *slogHCLog) IsError() bool { return h.l.Enabled(context.Background(), slog.LevelError) }

func (h *slogHCLog) ImpliedArgs() []any { return h.args }

func (h *slogHCLog) With(args ...any) hclog.Logger {
	c := *h
	c.args = append(append([]any{}, h.args...), args...)
	return &c
}

func (h *slogHCLog) Name() string { return h.name }

func (h *slogHCLog) Named(name string) hclog.Logger {
	c := *h
	if c.name != "" {
		name = c.name + "." + name
	}
	c.name = name
	return &c
}

func (h *slogHCLog) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	return &c
}

// SetLevel is ignored: the hub's handler decides.
func (h *slogHCLog) SetLevel(hclog.Level) {}

func (h *slogHCLog) GetLevel() hclog.Level {
	switch {
	case h.IsDebug():
		return hclog.Debug
	case h.IsInfo():
		return hclog.Info
	case h.IsWarn():
		return hclog.Warn
	default:
		return hclog.Error
	}
}

func (h *slogHCLog) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(h.l.Handler(), slog.LevelInfo)
}

func (h *slogHCLog) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return h.StandardLogger(opts).Writer()
}

// lineLogger logs each line written to it (the plugin's stdout and
// stderr after the handshake, streamed by go-plugin).
type lineLogger struct {
	l      *slog.Logger
	stream string
	buf    []byte
}

func (w *lineLogger) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if line := w.buf[:i]; len(line) > 0 {
			w.l.Info("plugin output", "stream", w.stream, "line", string(line))
		}
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a line without end: log what we have
		w.l.Info("plugin output", "stream", w.stream, "line", string(w.buf))
		w.buf = nil
	}
	return len(b), nil
}
