package plugins_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/connectors/connectortest"
	"github.com/switchboard-hub/switchboard/lease"
	"github.com/switchboard-hub/switchboard/plugins"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

var (
	buildMu  sync.Mutex
	built    = map[string]string{}
	buildDir string
)

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "switchboard-plugins")
	if err != nil {
		panic(err)
	}
	buildDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// testPlugin builds plugins/internal/testplugin (once per variant).
func testPlugin(t testing.TB, variant string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[variant]; ok {
		return p
	}
	out := filepath.Join(buildDir, "testplugin-"+variant)
	args := []string{"build", "-ldflags", "-X main.variant=" + variant, "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "github.com/switchboard-hub/switchboard/plugins/internal/testplugin")...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build testplugin: %v\n%s", err, b)
	}
	built[variant] = out
	return out
}

// logBuffer collects the host's log for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type statusSink struct {
	mu      sync.Mutex
	updates []string
}

func (s *statusSink) UpdateStatus(ctx context.Context, channel, providerID, status, detail string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates = append(s.updates, channel+" "+providerID+" "+status)
	return nil
}

func (s *statusSink) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.updates...)
}

type rig struct {
	stop   func() // cancels Run and waits for it
	ch     *plugins.Channel
	dir    string
	logs   *logBuffer
	status *statusSink
}

// runPlugin runs a plugin channel on sink until the test ends.
func runPlugin(t testing.TB, path, sha string, sink connectors.Sink, settings map[string]string) *rig {
	t.Helper()
	return runPluginWith(t, plugins.Spec{Path: path, SHA256: sha, Settings: settings}, sink, nil)
}

// runPluginWith is runPlugin with a whole spec and options to adjust. The
// health timeout is generous (the race detector on 2 shared cores makes
// answers slow): only the hang test relies on a missed check.
func runPluginWith(t testing.TB, spec plugins.Spec, sink connectors.Sink, opt func(o *plugins.Options)) *rig {
	t.Helper()
	r := &rig{dir: t.TempDir(), logs: &logBuffer{}, status: &statusSink{}}
	set := map[string]string{"state_dir": r.dir}
	for k, v := range spec.Settings {
		set[k] = v
	}
	spec.Plugin, spec.Settings = "kit", set
	o := plugins.Options{Channel: "kitchan", Logger: slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Status: r.status, HealthInterval: 100 * time.Millisecond, HealthTimeout: 3 * time.Second,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 2 * time.Second}
	if opt != nil {
		opt(&o)
	}
	r.ch = plugins.NewChannel(spec, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.ch.Run(ctx, sink) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Error("Run did not return within 15s of cancel")
			}
		})
	}
	t.Cleanup(func() {
		r.stop()
		// A race-built plugin reports races on its stderr, which lands here.
		if strings.Contains(r.logs.String(), "WARNING: DATA RACE") {
			t.Error("the plugin process reported a data race")
		}
		if t.Failed() {
			t.Logf("host log:\n%s", r.logs.String())
		}
	})
	return r
}

func (r *rig) waitRunning(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.ch.WaitRunning(ctx); err != nil {
		t.Fatalf("%v\nlog:\n%s", err, r.logs.String())
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPluginDeliversSendsAndReportsStatus(t *testing.T) {
	sink := &connectortest.Sink{}
	r := runPlugin(t, testPlugin(t, ""), "", sink, nil)
	r.waitRunning(t)
	st := r.ch.Status()
	if st.Version != "0.1.0-" || st.PID == 0 || st.Info == nil || st.Info.Name != "testplugin" {
		t.Fatalf("status = %+v", st)
	}
	for i := range 3 {
		if err := r.ch.Inject(t.Context(), fmt.Sprintf("k%d", i), fmt.Sprintf("hello %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "3 deliveries", func() bool { return len(sink.Messages()) == 3 })
	var m connectors.Message
	for _, x := range sink.Messages() {
		if x.ProviderID == "k0" {
			m = x
		}
	}
	if m.Channel != "kitchan" || m.ProviderID != "k0" || m.Text != "hello 0" || len(m.Identities) != 1 ||
		m.Identities[0] != (connectors.Identity{Type: "testkit", Value: "kit-user", Verified: true}) || m.SenderName != "Kit User" {
		t.Fatalf("message = %+v", m)
	}

	res, err := r.ch.Send(t.Context(), connectors.Outgoing{EntryID: "e1", Channel: "kitchan", To: connectors.Identity{Type: "testkit", Value: "kit-user"}, Text: "a reply"})
	if err != nil || res.ProviderID != "sent-e1" || res.Status != "sent" {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	b, _ := os.ReadFile(filepath.Join(r.dir, "sent.jsonl"))
	if !strings.Contains(string(b), `"Text":"a reply"`) {
		t.Fatalf("sent.jsonl = %s", b)
	}
	waitFor(t, "a status update", func() bool { return len(r.status.list()) == 1 })
	if got := r.status.list()[0]; got != "kitchan sent-e1 delivered" {
		t.Fatalf("status update = %q", got)
	}
	_, err = r.ch.Send(t.Context(), connectors.Outgoing{EntryID: "e2", To: connectors.Identity{Type: "testkit", Value: "kit-user"}, Text: "PERMANENT"})
	if !errors.Is(err, connectors.ErrPermanent) {
		t.Fatalf("permanent send failure = %v", err)
	}
	report, err := r.ch.Test(t.Context())
	if err != nil || !strings.Contains(report, "testplugin 0.1.0-") {
		t.Fatalf("Test = %q, %v", report, err)
	}
	// The plugin's logs reach the host's log with the plugin's name.
	waitFor(t, "the plugin's log line", func() bool {
		return strings.Contains(r.logs.String(), `"msg":"receiving"`) && strings.Contains(r.logs.String(), `"plugin":"kit"`)
	})
}

func TestMalformedMessagesGetClearErrorsAndNothingIsStored(t *testing.T) {
	sink := &connectortest.Sink{}
	r := runPlugin(t, testPlugin(t, ""), "", sink, nil)
	r.waitRunning(t)
	mux := http.NewServeMux()
	for _, rt := range r.ch.Routes() {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tc := range []struct{ kind, want string }{
		{"noidentity", "invalid message: no sender identity"},
		{"huge", "message too large: text and html are 1048577 bytes, the limit is 1048576"},
		{"badutf8", "invalid message: text is not valid UTF-8"},
		{"undeclared", `invalid message: identity kind "phone" is not one the plugin declared ([email testkit])`},
		// proto3 strings must be UTF-8: these used to break the whole
		// delivery stream on the plugin side instead of getting an error.
		{"badflag", "invalid message: flags[0] is not valid UTF-8"},
		{"badpurpose", "invalid message: consent purpose is not valid UTF-8"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			resp, err := http.Post(srv.URL+"/webhooks/plugin/kitchan/raw?kind="+tc.kind, "text/plain", nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// The plugin answers 422 with the error its Deliver returned.
			if resp.StatusCode != 422 || !strings.Contains(string(b), tc.want) {
				t.Fatalf("%d %s, want 422 with %q", resp.StatusCode, b, tc.want)
			}
		})
	}
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("%d malformed messages reached the sink", n)
	}
	// A good one through the same route is stored; unknown routes are 404.
	resp, err := http.Post(srv.URL+"/webhooks/plugin/kitchan/raw?kind=ok", "text/plain", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ok: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if n := len(sink.Messages()); n != 1 {
		t.Fatalf("%d messages stored, want 1", n)
	}
	resp, _ = http.Get(srv.URL + "/webhooks/plugin/kitchan/raw")
	if resp.StatusCode != 404 {
		t.Fatalf("GET of a POST route: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

func TestRefusedPluginsSayWhy(t *testing.T) {
	script := filepath.Join(t.TempDir(), "notaplugin.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho 'I am a shell script, not a plugin'\nsleep 5\n"), 0o755)
	good := testPlugin(t, "")
	for _, tc := range []struct {
		name, path, sha, want string
	}{
		{"checksum", good, strings.Repeat("ab", 32), "checksum mismatch: the binary's SHA-256 is "},
		{"wrong protocol version", testPlugin(t, "wrongversion"), "", "wrong plugin protocol version: this hub speaks version 1; rebuild the plugin with a matching plugins/sdk (incompatible API version with plugin. Plugin version: 2"},
		{"garbage on stdout", testPlugin(t, "garbage"), "", "it wrote to stdout before the handshake"},
		{"not a plugin", script, "", "Unrecognized remote plugin message: I am a shell script, not a plugin"},
		{"settings rejected", good, "", "rejected its settings: setting state_dir is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			settings := map[string]string{}
			if tc.name == "settings rejected" {
				settings["state_dir"] = ""
			}
			r := runPlugin(t, tc.path, tc.sha, &connectortest.Sink{}, settings)
			waitFor(t, "the plugin to be refused", func() bool { return r.ch.Status().State == plugins.StateFailed })
			st := r.ch.Status()
			if !strings.Contains(st.LastError, tc.want) || !strings.Contains(st.LastError, "plugin refused: kit") {
				t.Fatalf("last error = %q, want it to contain %q", st.LastError, tc.want)
			}
			if st.PID != 0 {
				t.Fatalf("a refused plugin has a pid: %+v", st)
			}
		})
	}
}

func TestRightChecksumRuns(t *testing.T) {
	path := testPlugin(t, "")
	b, _ := os.ReadFile(path)
	sum := sha256Hex(b)
	r := runPlugin(t, path, sum, &connectortest.Sink{}, nil)
	r.waitRunning(t)
}

// blockingSink acknowledges nothing until released: deliveries stay in
// flight, as when the plugin is killed between its send and the ack.
type blockingSink struct {
	connectortest.Sink
	mu      sync.Mutex
	held    int
	release chan struct{}
}

func (s *blockingSink) Deliver(ctx context.Context, m connectors.Message) (string, error) {
	s.mu.Lock()
	s.held++
	s.mu.Unlock()
	select {
	case <-s.release:
		return s.Sink.Deliver(ctx, m)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (s *blockingSink) heldCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

func TestKilledPluginIsRestartedAndRedeliversUnacked(t *testing.T) {
	sink := &blockingSink{release: make(chan struct{})}
	r := runPlugin(t, testPlugin(t, ""), "", sink, nil)
	r.waitRunning(t)
	pid := r.ch.Status().PID
	for i := range 5 {
		if err := r.ch.Inject(t.Context(), fmt.Sprintf("k%d", i), "m"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "5 deliveries in flight", func() bool { return sink.heldCount() == 5 })
	before := r.ch.Status().Restarts
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a restart", func() bool {
		s := r.ch.Status()
		return s.Restarts > before && s.State == plugins.StateRunning && s.PID != pid
	})
	if st := r.ch.Status(); st.PID == pid || !strings.Contains(st.LastError, "exited") {
		t.Fatalf("status after restart = %+v", st)
	}
	close(sink.release)
	waitFor(t, "5 redelivered messages", func() bool { return len(sink.Messages()) >= 5 })
	keys := map[string]int{}
	for _, m := range sink.Messages() {
		keys[m.ProviderID]++
	}
	for i := range 5 {
		if keys[fmt.Sprintf("k%d", i)] == 0 {
			t.Fatalf("k%d lost after the crash: %v", i, keys)
		}
	}
}

func TestHungPluginIsRestarted(t *testing.T) {
	sink := &connectortest.Sink{}
	r := runPluginWith(t, plugins.Spec{Path: testPlugin(t, "")}, sink, func(o *plugins.Options) { o.HealthTimeout = 500 * time.Millisecond })
	r.waitRunning(t)
	pid := r.ch.Status().PID
	before := r.ch.Status().Restarts
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	waitFor(t, "a restart of the hung plugin", func() bool {
		s := r.ch.Status()
		return s.Restarts > before && s.State == plugins.StateRunning && s.PID != pid
	})
	if st := r.ch.Status(); !strings.Contains(st.LastError, "unhealthy after 2 failed health checks") {
		t.Fatalf("last error = %q", st.LastError)
	}
	if err := r.ch.Inject(t.Context(), "after", "after the hang"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a delivery from the new process", func() bool { return len(sink.Messages()) == 1 })
}

func TestRunErrorRestartsWithBackoffAndShowsTheError(t *testing.T) {
	r := runPlugin(t, testPlugin(t, ""), "", &connectortest.Sink{}, map[string]string{"fail_run": "provider token revoked"})
	waitFor(t, "two restarts", func() bool { return r.ch.Status().Restarts >= 2 })
	if st := r.ch.Status(); !strings.Contains(st.LastError, "provider token revoked") {
		t.Fatalf("last error = %q", st.LastError)
	}
}

// TestConformance runs the hub's connector kit against a plugin channel.
func TestConformance(t *testing.T) {
	path := testPlugin(t, "")
	connectortest.Run(t, func(t *testing.T, sink *connectortest.Sink) connectortest.Harness {
		r := &rig{dir: t.TempDir(), logs: &logBuffer{}, status: &statusSink{}}
		ch := plugins.NewChannel(plugins.Spec{Plugin: "kit", Path: path, Settings: map[string]string{"state_dir": r.dir}},
			plugins.Options{Channel: "kitchan", Logger: slog.New(slog.NewJSONHandler(r.logs, nil))})
		return connectortest.Harness{
			Channel: "kitchan",
			Inject: func(ctx context.Context, key, text string) error {
				ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				if err := ch.WaitRunning(ctx); err != nil {
					return err
				}
				// Synchronous, as a webhook: return once the plugin
				// delivered it (each copy of a duplicate is delivered; the
				// hub dedupes by provider id, which the kit checks).
				before := len(sink.Messages())
				if err := ch.Inject(ctx, key, text); err != nil {
					return err
				}
				for len(sink.Messages()) == before {
					if ctx.Err() != nil {
						return fmt.Errorf("the plugin did not deliver %q: %w", key, ctx.Err())
					}
					time.Sleep(5 * time.Millisecond)
				}
				return nil
			},
			Wait:   20 * time.Second,
			Source: ch,
			Sender: senderWhenRunning{ch},
			To:     connectors.Identity{Type: "testkit", Value: "kit-user", Verified: true},
		}
	})
}

// senderWhenRunning waits for the plugin before sending (the kit sends
// right after starting the channel).
type senderWhenRunning struct{ ch *plugins.Channel }

func (s senderWhenRunning) Send(ctx context.Context, out connectors.Outgoing) (connectors.SendResult, error) {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.ch.WaitRunning(wctx); err != nil {
		return connectors.SendResult{}, err
	}
	return s.ch.Send(ctx, out)
}

func TestRegistryListsChannelsAndUnusedPlugins(t *testing.T) {
	reg := plugins.NewRegistry([]plugins.Spec{{Plugin: "a", Path: "/bin/a"}, {Plugin: "b", Path: "/bin/b"}})
	reg.Add(plugins.NewChannel(plugins.Spec{Plugin: "a", Path: "/bin/a"}, plugins.Options{Channel: "chan-a"}))
	got, _ := json.Marshal(reg.List())
	var list []plugins.Status
	json.Unmarshal(got, &list)
	if len(list) != 2 || list[0].Channel != "chan-a" || list[0].State != plugins.StateStopped || list[1].Plugin != "b" || list[1].State != plugins.StateUnused {
		t.Fatalf("list = %s", got)
	}
}

// A plugin that freezes while it starts is killed and retried, and Run
// still returns when cancelled (go-plugin's own Kill would wait for the
// frozen process forever).
func TestPluginFrozenDuringStartIsKilled(t *testing.T) {
	r := runPluginWith(t, plugins.Spec{Path: testPlugin(t, ""), Settings: map[string]string{"freeze_configure": "1"}},
		&connectortest.Sink{}, func(o *plugins.Options) { o.StartTimeout = time.Second })
	waitFor(t, "the frozen start to fail", func() bool {
		s := r.ch.Status()
		return s.State != plugins.StateStarting && strings.Contains(s.LastError, "start:")
	})
	// A failed start counts as a restart when it is tried again.
	waitFor(t, "a second attempt", func() bool { return r.ch.Status().Restarts >= 1 })
	// The cleanup checks that Run returns after cancel.
}

func TestSendHasADeadline(t *testing.T) {
	r := runPluginWith(t, plugins.Spec{Path: testPlugin(t, "")}, &connectortest.Sink{}, func(o *plugins.Options) { o.SendTimeout = time.Second })
	r.waitRunning(t)
	done := make(chan error, 1)
	go func() {
		_, err := r.ch.Send(context.Background(), connectors.Outgoing{EntryID: "e1", To: connectors.Identity{Type: "testkit", Value: "kit-user"}, Text: "HANG"})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, connectors.ErrNotConnected) || !strings.Contains(err.Error(), "DeadlineExceeded") {
			t.Fatalf("hung send = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a send the plugin never answers did not end")
	}
}

// Send's status is only sent or delivered: anything else the plugin says
// is recorded as sent (the provider took the message) and logged.
func TestSendStatusIsValidated(t *testing.T) {
	r := runPlugin(t, testPlugin(t, ""), "", &connectortest.Sink{}, nil)
	r.waitRunning(t)
	for text, want := range map[string]string{"STATUS:read": "sent", "STATUS:delivered": "delivered", "STATUS:bogus": "sent"} {
		res, err := r.ch.Send(t.Context(), connectors.Outgoing{EntryID: "e", To: connectors.Identity{Type: "testkit", Value: "kit-user"}, Text: text})
		if err != nil || res.Status != want {
			t.Errorf("%s: %+v %v, want status %s", text, res, err, want)
		}
	}
	if !strings.Contains(r.logs.String(), `"status":"bogus"`) {
		t.Error("the bad status was not logged")
	}
}

func TestWebhookForwardingIsFenced(t *testing.T) {
	r := runPlugin(t, testPlugin(t, ""), "", &connectortest.Sink{}, nil)
	r.waitRunning(t)
	mux := http.NewServeMux()
	for _, rt := range r.ch.Routes() {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/webhooks/plugin/kitchan/raw?kind=headers", nil)
	req.Header.Set("Cookie", "sb_session=secret")
	req.Header.Set("Authorization", "Bearer secret")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "provider-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	if resp.StatusCode != 200 || strings.Contains(body, "Cookie") || strings.Contains(body, "Authorization") || !strings.Contains(body, "X-Telegram-Bot-Api-Secret-Token") {
		t.Fatalf("the plugin received: %d %s", resp.StatusCode, body)
	}
	h := resp.Header
	if h.Get("Set-Cookie") != "" || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("response headers: %v", h)
	}
	// Only the allow-listed headers pass (docs/PLUGINS.md).
	for _, k := range []string{"Location", "Refresh", "Clear-Site-Data", "Www-Authenticate", "Content-Disposition", "Link", "X-Accel-Redirect", "Access-Control-Allow-Origin"} {
		if v := h.Values(k); len(v) > 0 {
			t.Errorf("the plugin set %s: %v on the hub's origin", k, v)
		}
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("ETag") != `"v1"` || h.Get("Retry-After") != "7" {
		t.Errorf("allowed headers dropped: %v", h)
	}
	resp, err = http.Post(srv.URL+"/webhooks/plugin/kitchan/raw?kind=status&code=101", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("a 1xx answer from the plugin came out as %d", resp.StatusCode)
	}
}

// A plugin may declare a hub kind (email) verified, but its identities of
// that kind are verified only when the operator allows it.
func TestBuiltinKindsVerifiedOnlyWhenAllowed(t *testing.T) {
	for _, allowed := range []bool{false, true} {
		t.Run(fmt.Sprint("allowed=", allowed), func(t *testing.T) {
			sink := &connectortest.Sink{}
			spec := plugins.Spec{Path: testPlugin(t, "")}
			if allowed {
				spec.VerifiedKinds = []string{"email"}
			}
			r := runPluginWith(t, spec, sink, nil)
			r.waitRunning(t)
			mux := http.NewServeMux()
			for _, rt := range r.ch.Routes() {
				mux.Handle(rt.Pattern, rt.Handler)
			}
			srv := httptest.NewServer(mux)
			defer srv.Close()
			resp, err := http.Post(srv.URL+"/webhooks/plugin/kitchan/raw?kind=email", "text/plain", nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("deliver: %v %v", resp, err)
			}
			resp.Body.Close()
			ms := sink.Messages()
			if len(ms) != 1 || ms[0].Identities[0].Type != "email" || ms[0].Identities[0].Verified != allowed {
				t.Fatalf("stored %+v, want verified=%v", ms, allowed)
			}
			for _, k := range r.ch.Status().Info.Identities {
				if k.Kind == "email" && k.Verified != allowed {
					t.Fatalf("status shows %+v", k)
				}
			}
		})
	}
}

// With a checksum the hub runs a private copy of what it hashed, never the
// configured path (which someone could swap between check and exec).
func TestChecksummedPluginRunsAPrivateCopy(t *testing.T) {
	path := testPlugin(t, "")
	b, _ := os.ReadFile(path)
	r := runPlugin(t, path, sha256Hex(b), &connectortest.Sink{}, nil)
	r.waitRunning(t)
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", r.ch.Status().PID))
	if err != nil {
		if runtime.GOOS != "linux" {
			t.Skipf("no /proc: %v", err)
		}
		t.Fatalf("read the plugin's executable: %v", err)
	}
	if strings.TrimSuffix(exe, " (deleted)") == path || !strings.Contains(exe, "switchboard-plugin-") {
		t.Fatalf("the plugin runs from %s (configured %s)", exe, path)
	}
}

func TestWorldWritablePluginIsRefused(t *testing.T) {
	b, _ := os.ReadFile(testPlugin(t, ""))
	path := filepath.Join(t.TempDir(), "open-plugin")
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o777)
	r := runPlugin(t, path, "", &connectortest.Sink{}, nil)
	waitFor(t, "the plugin to be refused", func() bool { return r.ch.Status().State == plugins.StateFailed })
	if st := r.ch.Status(); !strings.Contains(st.LastError, "writable by every user") {
		t.Fatalf("last error = %q", st.LastError)
	}
}

// replicaLease is replica's holder of the plugin's lease, as the hub
// builds it: the lease package over the store (embedded, shared by the
// "replicas" of one test).
func replicaLease(st store.Leases, replica string) plugins.Lease {
	return lease.NewHolder(lease.New(st, replica, nil, nil), "plugin:kitchan", 300*time.Millisecond)
}

// A RunOnce plugin receives only on the replica holding the lease; the
// other one still sends and serves webhooks, and takes over receiving
// when the lease comes free.
func TestRunOncePluginReceivesOnlyWithTheLease(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sinkA, sinkB := &connectortest.Sink{}, &connectortest.Sink{}
	a := runPluginWith(t, plugins.Spec{Path: testPlugin(t, "")}, sinkA, func(o *plugins.Options) { o.Lease = replicaLease(st, "a") })
	a.waitRunning(t)
	b := runPluginWith(t, plugins.Spec{Path: testPlugin(t, "")}, sinkB, func(o *plugins.Options) { o.Lease = replicaLease(st, "b") })
	b.waitRunning(t)
	if !a.ch.Status().Receiving || b.ch.Status().Receiving || !a.ch.Status().Info.RunOnce {
		t.Fatalf("receiving: a %+v, b %+v", a.ch.Status(), b.ch.Status())
	}
	// b sends and serves webhooks without receiving.
	if _, err := b.ch.Send(t.Context(), connectors.Outgoing{EntryID: "e1", To: connectors.Identity{Type: "testkit", Value: "kit-user"}, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, rt := range b.ch.Routes() {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/webhooks/plugin/kitchan/raw?kind=ok", "text/plain", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("webhook on the replica without the lease: %v %v", resp, err)
	}
	resp.Body.Close()
	if len(sinkB.Messages()) != 1 {
		t.Fatalf("the webhook delivered %d", len(sinkB.Messages()))
	}
	// a stops (releases the lease): b takes over receiving.
	a.stop()
	waitFor(t, "b receiving", func() bool { return b.ch.Status().Receiving })
	if err := b.ch.Inject(t.Context(), "after-a", "b receives now"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a delivery from b's Run", func() bool { return len(sinkB.Messages()) == 2 })
	if st := b.ch.Status(); st.Restarts != 0 {
		t.Fatalf("b restarted to switch: %+v", st)
	}
}

// A plugin flooding its stderr fills the hub's log only up to its limit:
// the burst, then one line saying how many lines were suppressed.
func TestPluginOutputIsRateLimited(t *testing.T) {
	r := runPluginWith(t, plugins.Spec{Path: testPlugin(t, "")}, &connectortest.Sink{}, func(o *plugins.Options) {
		o.LogLinesPerSecond, o.LogBurst = 1, 20
	})
	r.waitRunning(t)
	mux := http.NewServeMux()
	for _, rt := range r.ch.Routes() {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	const n = 2000
	resp, err := http.Post(srv.URL+fmt.Sprintf("/webhooks/plugin/kitchan/raw?kind=logflood&n=%d", n), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The last lines are read asynchronously; stopping the channel
	// reports what was suppressed.
	time.Sleep(300 * time.Millisecond)
	r.stop()
	logged, suppressed := 0, 0
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(line, "flood line ") {
			logged++
		}
		if strings.Contains(line, "plugin output suppressed") {
			var m struct{ Lines int }
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			suppressed += m.Lines
		}
	}
	if logged > 40 || logged == 0 {
		t.Fatalf("%d of %d flood lines logged, want at most the burst (20) and what refilled", logged, n)
	}
	if logged+suppressed < n {
		t.Fatalf("%d logged + %d reported suppressed < %d written", logged, suppressed, n)
	}
}
