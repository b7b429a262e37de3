package webhooks

import (
	"context"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/switchboard-hub/switchboard/store"
)

// The lean client (client.go) against net/http servers: what a receiver
// sees and what the hub gets back must be what net/http's Client gave.

type leanReceiver struct {
	srv      *httptest.Server
	conns    atomic.Int64 // connections opened
	verified atomic.Int64
	bad      atomic.Int64
}

func newLeanReceiver(t *testing.T, secret string, tlsOn bool, h func(w http.ResponseWriter, r *http.Request)) *leanReceiver {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	lr := &leanReceiver{}
	lr.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || wh.Verify(b, r.Header) != nil {
			lr.bad.Add(1)
		} else {
			lr.verified.Add(1)
		}
		if h != nil {
			h(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	lr.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			lr.conns.Add(1)
		}
	}
	if tlsOn {
		lr.srv.StartTLS()
	} else {
		lr.srv.Start()
	}
	t.Cleanup(lr.srv.Close)
	return lr
}

func leanSetup(t *testing.T, url, secret string) (*Service, *target) {
	t.Helper()
	s := New(Options{Timeout: time.Minute})
	tg := s.target(store.WebhookEndpoint{Name: "x", URL: url, AllowHTTP: true, AllowPrivateAddresses: true, Secrets: []string{secret}})
	if tg.err != nil {
		t.Fatal(tg.err)
	}
	return s, tg
}

func leanEvent(i int) store.WebhookEvent {
	return store.WebhookEvent{ID: EventID(MessageReceived, string(rune('a'+i))), Type: MessageReceived, At: time.Now(),
		Data: []byte(`{"customer_id":"c1","text":"hello"}`)}
}

func TestLeanClientSignsAndKeepsTheConnection(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[tlsOn], func(t *testing.T) {
			secret := NewSecret()
			lr := newLeanReceiver(t, secret, tlsOn, nil)
			s := New(Options{Timeout: time.Minute})
			if tlsOn {
				pool := x509.NewCertPool()
				pool.AddCert(lr.srv.Certificate())
				s.open.tls.RootCAs = pool
			}
			tg := s.target(store.WebhookEndpoint{Name: "x", URL: lr.srv.URL, AllowHTTP: true, AllowPrivateAddresses: true, Secrets: []string{secret}})
			for i := range 5 {
				code, err := s.send(context.Background(), tg, leanEvent(i))
				if err != nil || code != http.StatusNoContent {
					t.Fatalf("send %d: %d %v", i, code, err)
				}
			}
			if lr.verified.Load() != 5 || lr.bad.Load() != 0 {
				t.Fatalf("verified %d, bad %d; want 5, 0", lr.verified.Load(), lr.bad.Load())
			}
			if lr.conns.Load() != 1 {
				t.Fatalf("%d connections for 5 deliveries one after another, want 1", lr.conns.Load())
			}
		})
	}
}

func TestLeanClientUntrustedCertificateRefused(t *testing.T) {
	secret := NewSecret()
	lr := newLeanReceiver(t, secret, true, nil)
	s, tg := leanSetup(t, lr.srv.URL, secret)
	if _, err := s.send(context.Background(), tg, leanEvent(0)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("send to a self-signed receiver: %v, want a certificate error", err)
	}
	if lr.verified.Load() != 0 {
		t.Fatal("the request reached a receiver whose certificate is not trusted")
	}
}

func TestLeanClientRetriesAConnectionTheServerClosed(t *testing.T) {
	secret := NewSecret()
	lr := newLeanReceiver(t, secret, false, nil)
	s, tg := leanSetup(t, lr.srv.URL, secret)
	if code, err := s.send(context.Background(), tg, leanEvent(0)); err != nil || code != 204 {
		t.Fatalf("first send: %d %v", code, err)
	}
	lr.srv.CloseClientConnections() // the kept-alive connection is now dead
	if code, err := s.send(context.Background(), tg, leanEvent(1)); err != nil || code != 204 {
		t.Fatalf("send after the server closed the kept-alive connection: %d %v", code, err)
	}
	if lr.verified.Load() != 2 || lr.conns.Load() != 2 {
		t.Fatalf("verified %d on %d connections, want 2 on 2", lr.verified.Load(), lr.conns.Load())
	}
}

func TestLeanClientAnswers(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	secret := NewSecret()
	lr := newLeanReceiver(t, secret, false, func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Webhook-Id") {
		case leanEvent(0).ID: // close after answering
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "ok")
		case leanEvent(1).ID: // a long chunked body
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, big)
			w.(http.Flusher).Flush()
		case leanEvent(2).ID: // a redirect is the answer
			http.Redirect(w, r, "http://example.com/", http.StatusFound)
		default:
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "no")
		}
	})
	s, tg := leanSetup(t, lr.srv.URL, secret)
	for i, want := range []int{200, 202, 302, 500, 500} {
		code, err := s.send(context.Background(), tg, leanEvent(i))
		if err != nil || code != want {
			t.Fatalf("send %d: %d %v, want %d", i, code, err, want)
		}
	}
	if lr.verified.Load() != 5 {
		t.Fatalf("verified %d, want 5", lr.verified.Load())
	}
}

func TestLeanClientStopsWithItsContext(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	secret := NewSecret()
	lr := newLeanReceiver(t, secret, false, func(w http.ResponseWriter, r *http.Request) { <-release })
	s, tg := leanSetup(t, lr.srv.URL, secret) // a minute's timeout
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.send(ctx, tg, leanEvent(0))
		done <- err
	}()
	for lr.verified.Load()+lr.bad.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a cancelled send reported success")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("send did not return when its context ended (the receiver still holds it)")
	}
	once.Do(func() { close(release) })
}

func TestPacerGate(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var unpaced *pacer // IngestShare 0
	if newPacer(0) != nil || newPacer(1) != nil || unpaced.wait(ctx) != nil {
		t.Fatal("a share of 0 or 1 must not pace")
	}
	short := true
	p := &pacer{on: 0, short: func() bool { return short }} // no sending window at all while ingest is busy
	if err := p.wait(ctx); err != nil {
		t.Fatalf("ingest idle: wait = %v, want at once", err)
	}
	p.recorded()
	if err := p.wait(ctx); err == nil {
		t.Fatal("ingest busy, CPU short, outside the share: wait let a delivery through")
	}
	short = false
	if err := p.wait(ctx); err != nil {
		t.Fatalf("ingest busy but CPU to spare: wait = %v, want at once", err)
	}
}

// The gauge says "short" while more goroutines want to run than there are
// processors (each then waits whole scheduling slices for its turn).
func TestCPUGaugeSeesContention(t *testing.T) {
	g := newCPUGauge()
	g.sample() // primes: the first read is the process's whole life
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := 0; ; x++ {
				if x%1_000_000 == 0 {
					select {
					case <-stop:
						return
					default:
					}
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // the contention to be measured, not an assertion's wait
	g.sample()
	close(stop)
	wg.Wait()
	if !g.short.Load() {
		t.Fatal("4 spinning goroutines per processor: the gauge did not report the CPU short")
	}
}
