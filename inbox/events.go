package inbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/timeline"
)

// eventSessionEnded is published when an agent logs out, so that every
// replica ends the event streams of that agent's sessions at once. It is
// never forwarded to clients.
const eventSessionEnded = "session.ended"

// sseHeartbeat is how often a stream sends a keep-alive and re-checks the
// session behind it, unless Options.StreamKeepAlive says otherwise.
var sseHeartbeat = 15 * time.Second

// streamLimit counts each principal's open event streams on this server.
type streamLimit struct {
	mu  sync.Mutex
	max int
	n   map[string]int
}

func newStreamLimit(max int) *streamLimit { return &streamLimit{max: max, n: map[string]int{}} }

// acquire reserves a stream for name (false: it has max open already).
func (l *streamLimit) acquire(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[name] >= l.max {
		return false
	}
	l.n[name]++
	return true
}

func (l *streamLimit) release(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[name]--; l.n[name] <= 0 {
		delete(l.n, name)
	}
}

// sseBurst is how many events a stream writes at most before flushing.
const sseBurst = 64

// events streams realtime events as server-sent events, filtered to what the
// principal may see. The API stays the source of truth: a client that
// reconnects re-reads what it shows.
//
// A stream opened with a session cookie lasts only as long as the session:
// it ends at the session's expiry, when the agent logs out (on any
// replica: a session.ended event, and the epoch re-read on every
// heartbeat), and when the session no longer validates. The browser then
// reconnects, is refused with 401, and the UI asks to sign in again.
// Streams opened with a bearer token are unaffected.
//
// The stream is exempt from the server's write deadline: it sends a
// keep-alive comment every Options.StreamKeepAlive instead. One principal
// may hold Options.MaxStreamsPerAgent streams on this server at once.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, 500, "internal", "streaming unsupported")
		return
	}
	p := principalFrom(r.Context())
	if !s.streams.acquire(p.Name) {
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusTooManyRequests, "too_many_streams",
			fmt.Sprintf("%s has %d event streams open already; close one", p.Name, s.o.MaxStreamsPerAgent))
		return
	}
	defer s.streams.release(p.Name)
	clearDeadlines(w)
	sess, hasSession := sessionFrom(r.Context())
	ch, err := s.o.Store.Subscribe(r.Context(), timeline.EventsTopic)
	if err != nil {
		storeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(200)
	fmt.Fprint(w, ": connected\n\n")
	fl.Flush()
	aud := s.audiences(p, false)
	every := s.o.StreamKeepAlive
	if every <= 0 {
		every = sseHeartbeat
	}
	hb := time.NewTicker(every)
	defer hb.Stop()
	var expiry <-chan time.Time
	if hasSession {
		t := time.NewTimer(time.Unix(sess.Expiry, 0).Sub(s.o.Clock()))
		defer t.Stop()
		expiry = t.C
	}
	// ended re-checks the session (the store's epoch, the expiry).
	ended := func() bool {
		return hasSession && errors.Is(s.sess.still(r.Context(), sess), errBadSession)
	}
	unflushed := 0
	for {
		select {
		case <-r.Context().Done():
			return
		case <-expiry:
			return
		case <-hb.C:
			if ended() {
				return
			}
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
			unflushed = 0
		case b, ok := <-ch:
			if !ok {
				return
			}
			var ev timeline.Event
			if json.Unmarshal(b, &ev) != nil {
				break
			}
			if ev.Type == eventSessionEnded {
				if hasSession && ev.Agent == sess.Name && ended() {
					return
				}
				break
			}
			if hasSession && s.o.Clock().Unix() >= sess.Expiry {
				return
			}
			if ev.ConversationID != "" && aud != nil && !slices.Contains(aud, ev.Audience) {
				break
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, b)
			unflushed++
		}
		// Under load events come in bursts: one write for the burst (each
		// write costs a syscall on both ends), at most sseBurst events long.
		if unflushed > 0 && (len(ch) == 0 || unflushed >= sseBurst) {
			fl.Flush()
			unflushed = 0
		}
	}
}
