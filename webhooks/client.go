package webhooks

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// client is the dispatcher's HTTP/1.1 client: a lean path for one kind of
// request (a small signed POST whose answer is read and dropped). Measured
// against net/http's Client (docs/PERFORMANCE.md, issue 21 third part) it
// costs about half the CPU per delivery: the request is written with one
// write from a pooled buffer (no header map, no per-request context,
// timer or body wrappers), the answer is read in the caller's goroutine
// (no read and write loop goroutines per connection, no hand-offs between
// them), and the timeout is the connection's deadline. Answers are parsed
// by net/http (http.ReadResponse), so chunked and length-delimited bodies,
// Connection: close and HTTP/1.0 servers behave as with net/http.
//
// It keeps what the Client did for the hub: the dialer's address check
// (guard.go) runs on every connection; no proxy; redirects are not
// followed (a 3xx is the answer); https verifies the server's certificate
// against the system roots. It speaks HTTP/1.1 only, over TLS too (ALPN
// offers http/1.1 alone).
type client struct {
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout time.Duration
	tls     *tls.Config

	mu   sync.Mutex
	idle map[string][]*pconn // by scheme://host:port, most recently used last
}

const (
	maxIdlePerHost = 64
	idleTimeout    = 90 * time.Second
	maxAnswer      = 64 << 10 // bytes of an answer's body read (the rest: the connection is closed)
)

// pconn is a kept-alive connection to one host.
type pconn struct {
	c    net.Conn
	br   *bufio.Reader
	used time.Time
}

func newLeanClient(allowPrivate bool, timeout time.Duration) *client {
	return &client{dial: guardedDialer(allowPrivate, timeout).DialContext, timeout: timeout,
		tls:  &tls.Config{NextProtos: []string{"http/1.1"}, ClientSessionCache: tls.NewLRUClientSessionCache(256)},
		idle: map[string][]*pconn{}}
}

// get returns an idle connection to key, or nil.
func (c *client) get(key string) *pconn {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.idle[key]
	for len(l) > 0 {
		pc := l[len(l)-1]
		l = l[:len(l)-1]
		if time.Since(pc.used) < idleTimeout {
			c.idle[key] = l
			return pc
		}
		pc.c.Close()
	}
	delete(c.idle, key)
	return nil
}

// put keeps pc for the next request to key (or closes it when enough are
// kept).
func (c *client) put(key string, pc *pconn) {
	pc.used = time.Now()
	c.mu.Lock()
	l := c.idle[key]
	if len(l) < maxIdlePerHost {
		c.idle[key] = append(l, pc)
		pc = nil
	}
	c.mu.Unlock()
	if pc != nil {
		pc.c.Close()
	}
}

func (c *client) connect(ctx context.Context, t *target) (*pconn, error) {
	conn, err := c.dial(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	if t.tls {
		cfg := c.tls.Clone()
		cfg.ServerName = t.url.Hostname()
		tc := tls.Client(conn, cfg)
		hctx, cancel := context.WithTimeout(ctx, c.timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	return &pconn{c: conn, br: bufio.NewReaderSize(conn, 4096)}, nil
}

// errAnswerTooLong: the answer's body went on past maxAnswer (the code
// stands; the connection is not reused).
var errAnswerTooLong = errors.New("answer body too long")

// post writes req (a whole HTTP/1.1 request) to t and returns the answer's
// status code. A kept-alive connection the server closed meanwhile fails
// without an answer: the request is then made once more on a new
// connection (deliveries are at least once; the webhook-id is the same).
func (c *client) post(ctx context.Context, t *target, req []byte) (int, error) {
	pc := c.get(t.key)
	reused := pc != nil
	for {
		if pc == nil {
			var err error
			if pc, err = c.connect(ctx, t); err != nil {
				return 0, err
			}
		}
		code, keep, err := c.roundTrip(ctx, pc, req)
		if err == nil || errors.Is(err, errAnswerTooLong) {
			if keep && err == nil {
				c.put(t.key, pc)
			} else {
				pc.c.Close()
			}
			return code, nil
		}
		pc.c.Close()
		if !reused || ctx.Err() != nil || isTimeout(err) {
			return 0, err
		}
		pc, reused = nil, false
	}
}

// roundTrip makes one request on pc; keep: pc may carry the next one.
func (c *client) roundTrip(ctx context.Context, pc *pconn, req []byte) (code int, keep bool, err error) {
	if err := pc.c.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, false, err
	}
	stop := context.AfterFunc(ctx, func() { pc.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := pc.c.Write(req); err != nil {
		return 0, false, ctxErr(ctx, err)
	}
	for {
		resp, err := http.ReadResponse(pc.br, nil)
		if err != nil {
			return 0, false, ctxErr(ctx, err)
		}
		// Reading the (bounded) body lets the connection be reused; the
		// body is not kept.
		n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer+1))
		resp.Body.Close()
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue // an informational answer (103 Early Hints): the final one follows
		}
		switch {
		case err != nil:
			return resp.StatusCode, false, errAnswerTooLong // the code came; the body broke off
		case n > maxAnswer:
			return resp.StatusCode, false, errAnswerTooLong
		}
		return resp.StatusCode, !resp.Close, nil
	}
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// target is what sending to an endpoint needs, prepared once per round
// rather than per delivery: its URL checked and parsed, its secrets
// decoded, its client, the request's fixed head, and a pool of buffers and
// HMACs its deliveries reuse. err (a bad URL or secret) fails every
// attempt.
type target struct {
	name string
	raw  string
	url  *url.URL
	key  string // the idle connections' key: scheme://host:port
	addr string // host:port dialled
	tls  bool
	head []byte // "POST … HTTP/1.1\r\nHost: …\r\n…" up to the varying headers
	keys [][]byte
	c    *client
	err  error

	scratch sync.Pool // *scratch
}

// scratch is one delivery's reusable memory.
type scratch struct {
	body, req, signed []byte
	macs              []hash.Hash
}

func (s *Service) target(e store.WebhookEndpoint) *target {
	t := &target{name: e.Name, raw: e.URL, c: s.strict}
	if e.AllowPrivateAddresses {
		t.c = s.open
	}
	if t.err = CheckURL(e.URL, e.AllowHTTP); t.err != nil {
		return t
	}
	if t.url, t.err = url.Parse(e.URL); t.err != nil {
		return t
	}
	if t.keys, t.err = decodeSecrets(e.Secrets); t.err != nil {
		return t
	}
	t.tls = t.url.Scheme == "https"
	port := t.url.Port()
	if port == "" && t.tls {
		port = "443"
	} else if port == "" {
		port = "80"
	}
	t.addr = net.JoinHostPort(t.url.Hostname(), port)
	t.key = t.url.Scheme + "://" + t.addr
	host := t.url.Host
	path := t.url.RequestURI()
	if strings.ContainsAny(path+host, " \r\n") {
		t.err = fmt.Errorf("url %q has a space or line break", e.URL)
		return t
	}
	t.head = fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: switchboard-webhooks\r\nContent-Type: application/json\r\n", path, host)
	t.scratch.New = func() any {
		sc := &scratch{}
		for _, k := range t.keys {
			sc.macs = append(sc.macs, hmac.New(sha256.New, k))
		}
		return sc
	}
	return t
}

// send posts ev to t, signed, and returns the response code.
func (s *Service) send(ctx context.Context, t *target, ev store.WebhookEvent) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	if strings.ContainsAny(ev.ID, "\r\n") {
		return 0, fmt.Errorf("webhook id %q has a line break", ev.ID)
	}
	sc := t.scratch.Get().(*scratch)
	defer t.scratch.Put(sc)
	b, err := appendBody(sc.body[:0], ev)
	if err != nil {
		return 0, err
	}
	sc.body = b
	r := append(sc.req[:0], t.head...)
	r = append(strconv.AppendInt(append(r, "Content-Length: "...), int64(len(b)), 10), "\r\nWebhook-Id: "...)
	r = append(append(r, ev.ID...), "\r\nWebhook-Timestamp: "...)
	tsAt := len(r)
	r = strconv.AppendInt(r, s.clock().Unix(), 10)
	ts := r[tsAt:]
	r = append(r, "\r\nWebhook-Signature: "...)
	// HMAC-SHA256 of id.timestamp.body per secret (signWith, without
	// allocating).
	sc.signed = append(append(append(append(sc.signed[:0], ev.ID...), '.'), ts...), '.')
	for i, m := range sc.macs {
		if i > 0 {
			r = append(r, ' ')
		}
		m.Reset()
		m.Write(sc.signed)
		m.Write(b)
		var sum [sha256.Size]byte
		r = base64.StdEncoding.AppendEncode(append(r, "v1,"...), m.Sum(sum[:0]))
	}
	r = append(append(r, "\r\n\r\n"...), b...)
	sc.req = r
	code, err := t.c.post(ctx, t, r)
	if err != nil {
		return 0, &url.Error{Op: "Post", URL: t.raw, Err: err}
	}
	return code, nil
}
