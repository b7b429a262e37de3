package plugins

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math"
	"sync"
	"time"

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
	// limit, when set, bounds the lines of named loggers: go-plugin logs
	// the plugin's stderr through Named(binary); its own few messages
	// about the process (started, exited) go unnamed and are never
	// suppressed.
	limit *outputLimiter
}

func newHCLog(l *slog.Logger) hclog.Logger { return &slogHCLog{l: l} }

// newLimitedHCLog is newHCLog whose plugin output passes limit.
func newLimitedHCLog(l *slog.Logger, limit *outputLimiter) hclog.Logger {
	return &slogHCLog{l: l, limit: limit}
}

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
	if h.name != "" && !h.limit.allow() {
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
	limit  *outputLimiter // nil: unlimited
}

func (w *lineLogger) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if line := w.buf[:i]; len(line) > 0 && w.limit.allow() {
			w.l.Info("plugin output", "stream", w.stream, "line", string(line))
		}
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a line without end: log what we have
		if w.limit.allow() {
			w.l.Info("plugin output", "stream", w.stream, "line", string(w.buf))
		}
		w.buf = nil
	}
	return len(b), nil
}

// Defaults of the plugin output limit (Options.LogLinesPerSecond, LogBurst).
const (
	DefaultLogLinesPerSecond = 50
	DefaultLogBurst          = 200
)

// outputLimiter is a token bucket over the lines one plugin channel logs
// (its stderr and stdout, across restarts): burst lines at once, then
// rate per second. Lines beyond it are dropped and counted; the next line
// that passes is preceded by one "plugin output suppressed" line saying
// how many were dropped, and so is the channel's stop (flush). A nil
// limiter allows everything.
type outputLimiter struct {
	l     *slog.Logger
	rate  float64
	burst float64
	now   func() time.Time

	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed int64
}

func newOutputLimiter(l *slog.Logger, perSecond float64, burst int) *outputLimiter {
	return &outputLimiter{l: l, rate: perSecond, burst: float64(burst), tokens: float64(burst), now: time.Now}
}

// allow takes one token; it reports whether the line may be logged.
func (o *outputLimiter) allow() bool {
	if o == nil {
		return true
	}
	o.mu.Lock()
	now := o.now()
	if o.last.IsZero() {
		o.last = now
	}
	if el := now.Sub(o.last).Seconds(); el > 0 {
		o.tokens = math.Min(o.burst, o.tokens+el*o.rate)
		o.last = now
	}
	if o.tokens < 1 {
		o.suppressed++
		o.mu.Unlock()
		return false
	}
	o.tokens--
	n := o.suppressed
	o.suppressed = 0
	o.mu.Unlock()
	if n > 0 {
		o.report(n)
	}
	return true
}

// flush reports lines suppressed since the last report.
func (o *outputLimiter) flush() {
	if o == nil {
		return
	}
	o.mu.Lock()
	n := o.suppressed
	o.suppressed = 0
	o.mu.Unlock()
	if n > 0 {
		o.report(n)
	}
}

func (o *outputLimiter) report(n int64) {
	o.l.Warn("plugin output suppressed", "lines", n, "limit_per_second", o.rate, "burst", o.burst)
}
