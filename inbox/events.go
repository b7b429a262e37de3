package inbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/switchboard-hub/switchboard/router"
)

// events streams realtime events as server-sent events, filtered to what the
// principal may see. The API stays the source of truth: a client that
// reconnects re-reads what it shows.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, 500, "internal", "streaming unsupported")
		return
	}
	p := principalFrom(r.Context())
	ch, err := s.o.Store.Subscribe(r.Context(), router.EventsTopic)
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
	hb := time.NewTicker(15 * time.Second)
	defer hb.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-hb.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		case b, ok := <-ch:
			if !ok {
				return
			}
			var ev router.Event
			if json.Unmarshal(b, &ev) != nil {
				continue
			}
			if ev.ConversationID != "" && aud != nil && !slices.Contains(aud, ev.Audience) {
				continue
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, b)
			fl.Flush()
		}
	}
}
