package chat

// Socket Mode against a loopback server. What could not be run for real:
// Slack's own Socket Mode service (wss://wss-primary.slack.com), which the
// test machines cannot reach and nobody can run locally. The client side is
// the real slack-go socketmode client; the server side below is written
// from Slack's documented protocol (apps.connections.open answers a wss URL;
// the socket sends "hello", then "events_api" envelopes that must be
// acknowledged with {"envelope_id"}, and "disconnect" when the client must
// reconnect), served by slacktest's HTTP server with custom handlers. The
// lease and the event handling run for real on the embedded store and the
// hub's ingest and router.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack/slacktest"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/lease"
	"github.com/switchboard-hub/switchboard/store"
)

const testAppToken = "xapp-1-A0APP-secretapptoken"

// fakeSocket is the server side of Socket Mode.
type fakeSocket struct {
	mu      sync.Mutex
	opens   int // apps.connections.open calls
	conns   []*sockConn
	open    int
	maxOpen int
	acks    chan string
}

type sockConn struct {
	c      *websocket.Conn
	wmu    sync.Mutex
	closed chan struct{}
}

func (c *sockConn) send(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.c.WriteJSON(v)
}

// newSocketHub is a hub whose channel is in Socket Mode, served by a fakeSocket.
func newSocketHub(t *testing.T, clock store.Clock, leaseTTL string) (*hub, *fakeSocket) {
	fs := &fakeSocket{acks: make(chan string, 100)}
	var h *hub
	h = newHub(t, func(s *hubSetup) {
		s.settings["mode"] = "socket"
		s.settings["app_token"] = testAppToken
		s.settings["lease_ttl"] = leaseTTL
		s.clock = clock
		s.binders = append(s.binders, func(c slacktest.Customize) {
			c.Handle("/apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer "+testAppToken {
					writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
					return
				}
				fs.mu.Lock()
				fs.opens++
				fs.mu.Unlock()
				writeJSON(w, map[string]any{"ok": true, "url": "ws://" + h.slack.ServerAddr + "/link"})
			})
			c.Handle("/link", fs.serve)
		})
	})
	return h, fs
}

func (fs *fakeSocket) serve(w http.ResponseWriter, r *http.Request) {
	// Slack's client sends Origin https://api.slack.com.
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &sockConn{c: ws, closed: make(chan struct{})}
	fs.mu.Lock()
	fs.conns = append(fs.conns, c)
	fs.open++
	fs.maxOpen = max(fs.maxOpen, fs.open)
	fs.mu.Unlock()
	defer func() {
		ws.Close()
		fs.mu.Lock()
		fs.open--
		fs.mu.Unlock()
		close(c.closed)
	}()
	c.send(map[string]any{"type": "hello", "num_connections": 1, "connection_info": map[string]any{"app_id": "A0APP"}})
	stop := make(chan struct{})
	defer close(stop)
	go func() { // Slack pings the client; the client counts a missing ping as a dead link.
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				c.wmu.Lock()
				c.c.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second))
				c.wmu.Unlock()
			}
		}
	}()
	for {
		var ack struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if err := ws.ReadJSON(&ack); err != nil {
			return
		}
		fs.acks <- ack.EnvelopeID
	}
}

// current returns the newest connection once n connections were opened.
func (fs *fakeSocket) waitConn(t *testing.T, n int) *sockConn {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		fs.mu.Lock()
		if len(fs.conns) >= n && fs.open == 1 {
			c := fs.conns[len(fs.conns)-1]
			fs.mu.Unlock()
			return c
		}
		fs.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no connection #%d", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (fs *fakeSocket) stats() (opens, conns, open, maxOpen int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.opens, len(fs.conns), fs.open, fs.maxOpen
}

func socketEnvelope(id string, retry int, body []byte) map[string]any {
	return map[string]any{"type": "events_api", "envelope_id": id, "payload": json.RawMessage(body),
		"accepts_response_payload": false, "retry_attempt": retry, "retry_reason": ""}
}

func (fs *fakeSocket) waitAck(t *testing.T, id string, within time.Duration) bool {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case got := <-fs.acks:
			if got == id {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

// replica builds the same channel as another hub replica would.
func (h *hub) replica(t *testing.T, name string) *Socket {
	t.Helper()
	ch, err := New(config.Channel{Name: channelName, Type: "slack", Slack: h.settings},
		connectors.Env{Name: channelName, Sink: h.in, Status: h.out, Replica: name, Leases: lease.New(h.st, name, h.clock, nil)})
	if err != nil {
		t.Fatal(err)
	}
	return ch.Socket()
}

func runSource(t *testing.T, s *Socket, sink connectors.Sink) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// As the hub runs it: under its lease, from the replica's leases.
	go func() { done <- s.env.Leases.(*lease.Leases).Source(s).Run(ctx, sink) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

func TestSocketModeOneReplicaAtATime(t *testing.T) {
	// A lease TTL well above the renewal interval: a loaded test machine
	// must not make the holder miss a renewal.
	h, fs := newSocketHub(t, nil, "3s")
	h.run(t)
	stop1 := runSource(t, h.replica(t, "r1"), h.in)
	conn := fs.waitConn(t, 1)
	runSource(t, h.replica(t, "r2"), h.in)

	// An event on the connection lands on the timeline and is acknowledged.
	conn.send(socketEnvelope("env-1", 0, ev("Ev0S1", map[string]any{"text": "over the socket", "ts": "1760000000.000100"})))
	if !fs.waitAck(t, "env-1", 10*time.Second) {
		t.Fatal("event not acknowledged")
	}
	h.waitEntries(t, customerKey, 1)
	// The same message through the Events API is the same entry.
	h.mustSend(t, ev("Ev0S1", map[string]any{"text": "over the socket", "ts": "1760000000.000100"}))

	// Over more than a lease period the second replica never connects.
	time.Sleep(3500 * time.Millisecond)
	if opens, conns, open, maxOpen := fs.stats(); opens != 1 || conns != 1 || open != 1 || maxOpen != 1 {
		t.Fatalf("opens %d, connections %d, open %d, max open %d", opens, conns, open, maxOpen)
	}

	// The holder stops: it closes its connection and gives the lease up,
	// and the other replica takes over.
	stop1()
	select {
	case <-conn.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("stopped replica kept its connection")
	}
	conn2 := fs.waitConn(t, 2)
	conn2.send(socketEnvelope("env-2", 0, ev("Ev0S2", map[string]any{"text": "after failover", "ts": "1760000100.000100"})))
	if !fs.waitAck(t, "env-2", 10*time.Second) {
		t.Fatal("event after failover not acknowledged")
	}
	if got := strings.Join(texts(h.waitEntries(t, customerKey, 2)), "|"); got != "over the socket|after failover" {
		t.Fatalf("timeline = %s", got)
	}
	if _, _, _, maxOpen := fs.stats(); maxOpen != 1 {
		t.Fatalf("%d connections open at once", maxOpen)
	}
}

func TestSocketModeAcksOnlyDurableEvents(t *testing.T) {
	h, fs := newSocketHub(t, nil, "1s")
	h.run(t)
	var failing atomic.Bool
	failing.Store(true)
	sink := connectors.SinkFunc(func(ctx context.Context, m connectors.Message) (string, error) {
		if failing.Load() {
			return "", errors.New("queue unavailable")
		}
		return h.in.Deliver(ctx, m)
	})
	runSource(t, h.replica(t, "r1"), sink)
	conn := fs.waitConn(t, 1)
	body := ev("Ev0D", map[string]any{"text": "keep me"})
	conn.send(socketEnvelope("env-d", 0, body))
	if fs.waitAck(t, "env-d", time.Second) {
		t.Fatal("acknowledged an event that was not stored")
	}
	// Slack resends an unacknowledged envelope; now the hub takes it.
	failing.Store(false)
	conn.send(socketEnvelope("env-d", 1, body))
	if !fs.waitAck(t, "env-d", 10*time.Second) {
		t.Fatal("resent event not acknowledged")
	}
	h.waitEntries(t, customerKey, 1)
	// A malformed envelope is acknowledged (a resend cannot fix it) and stores nothing.
	conn.send(socketEnvelope("env-bad", 0, []byte(`{"type":"event_callback","team_id":"T1","event":{"type":"message","user":"U1","ts":"1.1"}}`)))
	if !fs.waitAck(t, "env-bad", 10*time.Second) || h.queued(t) != 0 {
		t.Fatal("malformed envelope not acknowledged, or stored")
	}
}

func TestSocketModeReconnectsWhenSlackAsks(t *testing.T) {
	h, fs := newSocketHub(t, nil, "1s")
	h.run(t)
	runSource(t, h.replica(t, "r1"), h.in)
	conn := fs.waitConn(t, 1)
	conn.send(map[string]any{"type": "disconnect", "reason": "refresh_requested"})
	conn2 := fs.waitConn(t, 2)
	if conn2 == conn {
		t.Fatal("no new connection")
	}
	conn2.send(socketEnvelope("env-r", 0, ev("Ev0R1", map[string]any{"text": "after reconnect"})))
	if !fs.waitAck(t, "env-r", 10*time.Second) {
		t.Fatal("not acknowledged after reconnect")
	}
	h.waitEntries(t, customerKey, 1)
}

func TestSocketModeLeaseLostEndsConnection(t *testing.T) {
	clock := store.NewFakeClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	h, fs := newSocketHub(t, clock.Now, "1s")
	runSource(t, h.replica(t, "r1"), h.in)
	conn := fs.waitConn(t, 1)

	// The lease runs out (say r1 was paused longer than its TTL) and another
	// replica takes it, with a newer fencing token.
	ctx := context.Background()
	var taken store.Lease
	for i := 0; ; i++ {
		clock.Advance(2 * time.Second)
		l, err := h.st.AcquireLease(ctx, LeaseName(channelName), "r9", time.Hour)
		if err == nil {
			taken = l
			break
		}
		if !errors.Is(err, store.ErrLeaseHeld) || i > 50 {
			t.Fatalf("acquire: %v", err)
		}
	}
	select {
	case <-conn.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("r1 kept the connection after losing its lease")
	}
	// r1 waits while r9 holds the lease: no second connection.
	time.Sleep(1500 * time.Millisecond)
	if _, conns, open, _ := fs.stats(); conns != 1 || open != 0 {
		t.Fatalf("connections %d, open %d", conns, open)
	}
	// When r9 lets go, r1 connects again.
	if err := h.st.ReleaseLease(ctx, LeaseName(channelName), "r9", taken.Token); err != nil {
		t.Fatal(err)
	}
	fs.waitConn(t, 2)
}

func TestSocketModeChannelTestChecksBothTokens(t *testing.T) {
	h, fs := newSocketHub(t, nil, "1s")
	s := h.ch.Socket()
	report, err := s.Test(context.Background())
	if err != nil || !strings.Contains(report, testBotUser) || !strings.Contains(report, "app token accepted") {
		t.Fatalf("report %q, err %v", report, err)
	}
	if opens, conns, _, _ := fs.stats(); opens != 1 || conns != 0 {
		t.Fatalf("test dialled the socket: opens %d, connections %d", opens, conns)
	}
	settings := map[string]any{}
	for k, v := range h.settings {
		settings[k] = v
	}
	settings["app_token"] = "xapp-1-wrong-app-token"
	bad, err := New(config.Channel{Name: channelName, Type: "slack", Slack: settings}, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Socket().Test(context.Background())
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") || strings.Contains(err.Error(), "wrong-app-token") {
		t.Fatalf("wrong app token: %v", err)
	}
}
