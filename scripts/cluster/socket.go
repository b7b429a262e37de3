package main

// Slack Socket Mode for the cluster run. What could not be run for real:
// Slack's Socket Mode service (wss://wss-primary.slack.com), which this
// machine cannot reach and nobody can run locally, and slack-go's
// slacktest serves only the Web API. So the server side is a loopback fake
// written from Slack's documented protocol, as connectors/chat's
// socket_test.go does: apps.connections.open answers a ws URL; the socket
// sends "hello", then "events_api" envelopes that the client acknowledges
// with {"envelope_id"}. The hubs' side is real: the slack-go socketmode
// client of the channel, run under the lease "slack:CHANNEL" on the Redis
// the hubs share.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const (
	sockChannel  = "slacksock"
	sockAppToken = "xapp-1-A0CLSOCK-cluster-app-token"
)

// sockPeer is the Socket Mode side of the Slack fake.
type sockPeer struct {
	mu      sync.Mutex
	opens   int // apps.connections.open calls
	conns   []*sockConn
	open    int // connections open now
	maxOpen int // most connections open at once, over the whole run
	acked   map[string]time.Time
}

type sockConn struct {
	ws     *websocket.Conn
	wmu    sync.Mutex
	closed chan struct{}
}

func (c *sockConn) send(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(2 * time.Second))
	return c.ws.WriteJSON(v)
}

func newSockPeer() *sockPeer { return &sockPeer{acked: map[string]time.Time{}} }

// connectionsOpen answers apps.connections.open with the fake's socket URL.
func (p *sockPeer) connectionsOpen(addr string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+sockAppToken {
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth"})
			return
		}
		p.mu.Lock()
		p.opens++
		p.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": "ws://" + addr + "/link"})
	}
}

func (p *sockPeer) serve(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &sockConn{ws: ws, closed: make(chan struct{})}
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.open++
	p.maxOpen = max(p.maxOpen, p.open)
	if p.open > 1 {
		logf("slack socket mode: connection #%d from %s opened while %d others are open", len(p.conns), r.RemoteAddr, p.open-1)
	}
	p.mu.Unlock()
	opened := time.Now()
	defer func() {
		ws.Close()
		p.mu.Lock()
		p.open--
		if p.open > 0 {
			logf("slack socket mode: connection from %s closed after %v; %d still open", r.RemoteAddr, time.Since(opened).Round(time.Millisecond), p.open)
		}
		p.mu.Unlock()
		close(c.closed)
	}()
	c.send(map[string]any{"type": "hello", "num_connections": 1, "connection_info": map[string]any{"app_id": "A0CLSOCK"}})
	stop := make(chan struct{})
	defer close(stop)
	go func() { // Slack pings; the client counts missing pings as a dead link.
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				c.wmu.Lock()
				c.ws.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second))
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
		p.mu.Lock()
		p.acked[ack.EnvelopeID] = time.Now()
		p.mu.Unlock()
	}
}

// current is the open connection (nil when none).
func (p *sockPeer) current() *sockConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.conns) - 1; i >= 0; i-- {
		select {
		case <-p.conns[i].closed:
		default:
			return p.conns[i]
		}
	}
	return nil
}

func (p *sockPeer) stats() (opens, conns, open, maxOpen int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.opens, len(p.conns), p.open, p.maxOpen
}

func (p *sockPeer) isAcked(envelope string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.acked[envelope]
	return ok
}

// say sends a user's message as an events_api envelope on the open
// connection and reports whether the hub acknowledged it within 3 s (Slack's
// limit; the hub acknowledges only once the event is durable).
func (p *sockPeer) say(n int64, user, text string) bool {
	c := p.current()
	if c == nil {
		return false
	}
	env := fmt.Sprintf("envsock-%d", n)
	ev := map[string]any{"type": "message", "channel": "C0CLSOCK", "channel_type": "channel", "user": user, "team": slackTeam,
		"text": text, "ts": fmt.Sprintf("1767261700.%06d", n)}
	body, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": slackTeam, "event_id": fmt.Sprintf("EvSK%d", n), "event": ev})
	if c.send(map[string]any{"type": "events_api", "envelope_id": env, "payload": json.RawMessage(body),
		"accepts_response_payload": false, "retry_attempt": 0, "retry_reason": ""}) != nil {
		return false
	}
	_, ok := waitFor(3*time.Second, func() bool { return p.isAcked(env) })
	return ok
}
