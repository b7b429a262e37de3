package plugintest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/plugins"
	"github.com/switchboard-hub/switchboard/plugins/sdk"
)

// Options say which plugin to check and how.
type Options struct {
	// Path of the plugin binary; SHA256 optional.
	Path, SHA256 string
	// Settings passed to the plugin.
	Settings map[string]string
	// To is a recipient the plugin can reach; without it Send is not checked.
	To *sdk.Identity
	// Inject makes the provider side produce one inbound message whose
	// provider identity derives from key. Nil: the plugin's own Injector
	// ability when it has one; otherwise delivery checks are skipped.
	Inject func(ctx context.Context, key, text string) error
	// Timeout bounds each check (default 20s).
	Timeout time.Duration
	// Logger receives the host's and the plugin's logs (default: discarded).
	Logger *slog.Logger
}

// Outcomes of a check.
const (
	Pass = "PASS"
	Fail = "FAIL"
	Skip = "SKIP"
)

// Result is one check's outcome.
type Result struct {
	Check   string
	Outcome string
	Detail  string
}

func (r Result) String() string { return fmt.Sprintf("%s %s: %s", r.Outcome, r.Check, r.Detail) }

// Check runs every check against the plugin and returns the results in order.
func Check(ctx context.Context, o Options) []Result {
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	k := &kit{o: o, sink: &sink{}}
	return k.run(ctx)
}

// Run runs the checks as subtests: a failed check fails its subtest, a
// skipped one is skipped with the reason.
func Run(t *testing.T, o Options) {
	t.Helper()
	for _, r := range Check(t.Context(), o) {
		t.Run(r.Check, func(t *testing.T) {
			switch r.Outcome {
			case Fail:
				t.Error(r.Detail)
			case Skip:
				t.Skip(r.Detail)
			default:
				t.Log(r.Detail)
			}
		})
	}
}

// Print writes one line per result and the Summary, and reports whether
// any check failed.
func Print(w io.Writer, rs []Result) (failed bool) {
	for _, r := range rs {
		fmt.Fprintln(w, r)
		failed = failed || r.Outcome == Fail
	}
	fmt.Fprintln(w, Summary(rs))
	return failed
}

// Count returns how many results have outcome (Pass, Fail or Skip).
func Count(rs []Result, outcome string) int {
	n := 0
	for _, r := range rs {
		if r.Outcome == outcome {
			n++
		}
	}
	return n
}

// Summary is one line: "8 checks: 5 passed, 3 skipped, 0 failed".
func Summary(rs []Result) string {
	return fmt.Sprintf("%d checks: %d passed, %d skipped, %d failed", len(rs), Count(rs, Pass), Count(rs, Skip), Count(rs, Fail))
}

type kit struct {
	o    Options
	sink *sink
	ch   *plugins.Channel
	stop context.CancelFunc
	done chan error
}

// sink is the kit's hub: it records deliveries, can refuse the next ones,
// and can hold the deliveries of one text unanswered.
type sink struct {
	mu          sync.Mutex
	msgs        []connectors.Message
	refuseText  string // refuse the next delivery of this text (once)
	refused     int
	holdText    string
	holdRelease chan struct{}
	holding     int
}

func (s *sink) Deliver(ctx context.Context, m connectors.Message) (string, error) {
	s.mu.Lock()
	if s.refuseText != "" && m.Text == s.refuseText {
		s.refuseText = ""
		s.refused++
		s.mu.Unlock()
		return "", errors.New("plugintest: the hub cannot store the message now")
	}
	var release chan struct{}
	if s.holdText != "" && m.Text == s.holdText {
		release = s.holdRelease
		s.holding++
	}
	s.mu.Unlock()
	if release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	return connectors.MessageID(m.Channel, m.ProviderID), nil
}

func (s *sink) heldCount(text string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holdText != text {
		return 0
	}
	return s.holding
}

func (s *sink) find(text string) []connectors.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []connectors.Message
	for _, m := range s.msgs {
		if m.Text == text {
			out = append(out, m)
		}
	}
	return out
}

const channelName = "plugintest"

func (k *kit) start() {
	k.ch = plugins.NewChannel(plugins.Spec{Plugin: "under-test", Path: k.o.Path, SHA256: k.o.SHA256, Settings: k.o.Settings},
		plugins.Options{Channel: channelName, Logger: k.o.Logger, HealthInterval: 200 * time.Millisecond, HealthTimeout: time.Second,
			MinBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	k.stop, k.done = cancel, make(chan error, 1)
	go func() { k.done <- k.ch.Run(ctx, k.sink) }()
}

func (k *kit) run(ctx context.Context) []Result {
	var rs []Result
	add := func(name string, f func(ctx context.Context) (string, error)) bool {
		cctx, cancel := context.WithTimeout(ctx, k.o.Timeout)
		defer cancel()
		detail, err := f(cctx)
		switch {
		case errors.Is(err, errSkip):
			rs = append(rs, Result{name, Skip, detail})
		case err != nil:
			rs = append(rs, Result{name, Fail, err.Error()})
			return false
		default:
			rs = append(rs, Result{name, Pass, detail})
		}
		return true
	}
	k.start()
	ok := add("handshake", k.handshake)
	if !ok {
		k.stop()
		<-k.done
		for _, n := range []string{"health", "delivery", "redelivery after restart", "retry after refusal", "send", "error reporting", "shutdown"} {
			rs = append(rs, Result{n, Skip, "the plugin did not start"})
		}
		return rs
	}
	add("health", k.health)
	add("delivery", k.delivery)
	add("redelivery after restart", k.redelivery)
	add("retry after refusal", k.retry)
	add("send", k.send)
	add("error reporting", k.errorReporting)
	add("shutdown", k.shutdown)
	return rs
}

var errSkip = errors.New("skip")

func (k *kit) handshake(ctx context.Context) (string, error) {
	for k.ch.Status().State != plugins.StateRunning {
		if st := k.ch.Status(); st.State == plugins.StateFailed || st.Restarts > 0 {
			return "", errors.New(st.LastError)
		}
		if ctx.Err() != nil {
			st := k.ch.Status()
			return "", fmt.Errorf("not running within %s: %s %s", k.o.Timeout, st.State, st.LastError)
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := k.ch.Status()
	in := st.Info
	return fmt.Sprintf("%s %s (protocol %d, sdk %s, pid %d), identities %s, %d webhook route(s)",
		in.Name, in.Version, plugins.ProtocolVersion, orNone(in.SDKVersion), st.PID, strings.Join(in.IdentityLabels(), ", "), len(in.Routes)), nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (k *kit) health(ctx context.Context) (string, error) {
	before := k.ch.Status()
	time.Sleep(time.Second) // five health checks
	after := k.ch.Status()
	if after.State != plugins.StateRunning || after.Restarts != before.Restarts {
		return "", fmt.Errorf("the plugin did not stay healthy: %s, %d restart(s): %s", after.State, after.Restarts, after.LastError)
	}
	return "answers health checks", nil
}

func (k *kit) inject(ctx context.Context, key, text string) error {
	if k.o.Inject != nil {
		return k.o.Inject(ctx, key, text)
	}
	if in := k.ch.Status().Info; in != nil && in.CanInject {
		if err := k.ch.WaitRunning(ctx); err != nil {
			return err
		}
		return k.ch.Inject(ctx, key, text)
	}
	return errSkip
}

func (k *kit) wait(ctx context.Context, text string, n int) ([]connectors.Message, error) {
	for {
		if ms := k.sink.find(text); len(ms) >= n {
			return ms, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no delivery of %q within %s", text, k.o.Timeout)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

const noInject = "no way to make the provider produce a message (give an injector, or implement sdk.Injector)"

func (k *kit) delivery(ctx context.Context) (string, error) {
	text := "plugintest delivery " + time.Now().Format(time.RFC3339Nano)
	if err := k.inject(ctx, "kit-delivery", text); errors.Is(err, errSkip) {
		return noInject, errSkip
	} else if err != nil {
		return "", fmt.Errorf("inject: %w", err)
	}
	ms, err := k.wait(ctx, text, 1)
	if err != nil {
		return "", err
	}
	m := ms[0]
	var problems []string
	if m.ProviderID == "" {
		problems = append(problems, "no provider id (redeliveries could not be deduplicated)")
	}
	if err := m.Validate(plugins.DefaultMaxText); err != nil {
		problems = append(problems, err.Error())
	}
	for _, id := range m.Identities {
		if _, err := connectors.Normalize(id, "US"); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return "", errors.New(strings.Join(problems, "; "))
	}
	return fmt.Sprintf("delivered and acknowledged (provider id %q, sender %s)", m.ProviderID, m.Identities[0].Key()), nil
}

func (k *kit) redelivery(ctx context.Context) (string, error) {
	text := "plugintest redelivery " + time.Now().Format(time.RFC3339Nano)
	// Hold every delivery of this text's message until the plugin was killed.
	release := make(chan struct{})
	k.sink.mu.Lock()
	k.sink.holdText, k.sink.holdRelease, k.sink.holding = text, release, 0
	k.sink.mu.Unlock()
	defer func() {
		k.sink.mu.Lock()
		k.sink.holdText, k.sink.holdRelease = "", nil
		k.sink.mu.Unlock()
	}()
	if err := k.inject(ctx, "kit-redelivery", text); errors.Is(err, errSkip) {
		return noInject, errSkip
	} else if err != nil {
		return "", fmt.Errorf("inject: %w", err)
	}
	for k.sink.heldCount(text) == 0 {
		if ctx.Err() != nil {
			return "", errors.New("the message was never delivered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := k.ch.Status()
	if err := k.ch.Kill(); err != nil {
		return "", fmt.Errorf("kill: %w", err)
	}
	for {
		st := k.ch.Status()
		if st.Restarts > before.Restarts && st.State == plugins.StateRunning {
			break
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("the plugin was not restarted after SIGKILL: %s: %s", st.State, st.LastError)
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	ms, err := k.wait(ctx, text, 1)
	if err != nil {
		return "", fmt.Errorf("the unacknowledged message was not redelivered after the restart: %w", err)
	}
	ids := map[string]bool{}
	for _, m := range ms {
		ids[m.ProviderID] = true
	}
	if len(ids) != 1 {
		return "", fmt.Errorf("the redelivery has another provider id (%d distinct): the hub could not deduplicate it", len(ids))
	}
	return "killed with an unacknowledged message in flight; restarted and redelivered it with the same provider id", nil
}

func (k *kit) retry(ctx context.Context) (string, error) {
	text := "plugintest retry " + time.Now().Format(time.RFC3339Nano)
	k.sink.mu.Lock()
	k.sink.refuseText, k.sink.refused = text, 0
	k.sink.mu.Unlock()
	defer func() {
		k.sink.mu.Lock()
		k.sink.refuseText = ""
		k.sink.mu.Unlock()
	}()
	if err := k.inject(ctx, "kit-retry", text); errors.Is(err, errSkip) {
		return noInject, errSkip
	} else if err != nil {
		return "", fmt.Errorf("inject: %w", err)
	}
	ms, err := k.wait(ctx, text, 1)
	if err != nil {
		return "", fmt.Errorf("after the hub refused it once (unavailable), the message was never delivered again: %w", err)
	}
	k.sink.mu.Lock()
	refused := k.sink.refused
	k.sink.mu.Unlock()
	if refused != 1 {
		return "", fmt.Errorf("the message was stored without the refusal being seen (%d refusals)", refused)
	}
	for _, m := range ms {
		if m.ProviderID == "" || m.ProviderID != ms[0].ProviderID {
			return "", fmt.Errorf("the retry has another provider id (%q, %q): the hub could not deduplicate it", ms[0].ProviderID, m.ProviderID)
		}
	}
	return fmt.Sprintf("delivered twice: refused once as unavailable, then stored (provider id %q)", ms[0].ProviderID), nil
}

func (k *kit) send(ctx context.Context) (string, error) {
	if k.o.To == nil {
		return "no recipient given", errSkip
	}
	if err := k.ch.WaitRunning(ctx); err != nil {
		return "", err
	}
	res, err := k.ch.Send(ctx, connectors.Outgoing{EntryID: "o_plugintest", ConversationID: "v_plugintest", CustomerID: "c_plugintest",
		Channel: channelName, To: connectors.Identity{Type: k.o.To.Type, Value: k.o.To.Value, Verified: k.o.To.Verified},
		Text: "a reply from the plugin conformance kit"})
	if err != nil {
		return "", fmt.Errorf("Send: %w", err)
	}
	if res.ProviderID == "" {
		return "", errors.New("Send returned no provider id")
	}
	return fmt.Sprintf("sent, provider id %q, status %s", res.ProviderID, res.Status), nil
}

func (k *kit) errorReporting(ctx context.Context) (string, error) {
	if err := k.ch.WaitRunning(ctx); err != nil {
		return "", err
	}
	before := k.ch.Status()
	_, err := k.ch.Send(ctx, connectors.Outgoing{EntryID: "o_plugintest_bad", Channel: channelName,
		To: connectors.Identity{Type: "plugintest-nobody", Value: ""}, Text: "to nobody"})
	if err == nil {
		return "", errors.New("Send to an empty recipient succeeded: failures must be reported")
	}
	time.Sleep(300 * time.Millisecond)
	if st := k.ch.Status(); st.Restarts != before.Restarts || st.State != plugins.StateRunning {
		return "", fmt.Errorf("the plugin crashed on a bad send: %s", st.LastError)
	}
	kind := "retryable"
	if errors.Is(err, connectors.ErrPermanent) {
		kind = "permanent"
	}
	return fmt.Sprintf("a send to an empty recipient failed (%s): %v", kind, err), nil
}

func (k *kit) shutdown(ctx context.Context) (string, error) {
	pid := k.ch.Status().PID
	start := time.Now()
	k.stop()
	select {
	case <-k.done:
	case <-ctx.Done():
		return "", errors.New("the plugin did not stop when asked")
	}
	took := time.Since(start)
	if pid != 0 {
		for syscall.Kill(pid, 0) == nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("process %d is still alive after stop", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if took > 5*time.Second {
		return "", fmt.Errorf("stopping took %s (the hub waits at most 5s before killing)", took.Round(time.Millisecond))
	}
	return fmt.Sprintf("stopped in %s; process gone", took.Round(time.Millisecond)), nil
}
