package inbox

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/switchboard-hub/switchboard/search"
	"github.com/switchboard-hub/switchboard/store"
)

func (s *Server) mountSearch(m routeRecorder) {
	m.HandleFunc("GET /api/v1/search", s.authed(false, s.search))
}

// search answers GET /api/v1/search?q=&channel=&status=&team=&assignee=
// &from=&to=&limit=&cursor=: customers and messages matching q, ranked,
// with highlights, from the conversations the caller's inbox list shows
// them (audience rules of conversationFilter; include_shadow=true for
// admins). from and to are a date YYYY-MM-DD (to: that whole day) or an
// RFC 3339 time; assignee "me" is the caller.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	if s.o.Search == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "search is not configured")
		return
	}
	p := principalFrom(r.Context())
	v := r.URL.Query()
	q := search.Query{Text: v.Get("q"), Channel: v.Get("channel"), Status: v.Get("status"), Team: v.Get("team"),
		Assignee: v.Get("assignee"), Limit: intParam(r, "limit", 20, 100), Cursor: v.Get("cursor")}
	if q.Assignee == "me" {
		q.Assignee = p.Name
	}
	if q.Text == "" {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "q is required")
		return
	}
	if len(q.Text) > 256 {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "q is longer than 256 bytes")
		return
	}
	for _, f := range []struct {
		name string
		t    *time.Time
		day  time.Duration
	}{{"from", &q.From, 0}, {"to", &q.To, 24 * time.Hour}} {
		x := v.Get(f.name)
		if x == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, x)
		if err == nil {
			t = t.Add(f.day)
		} else if t, err = time.Parse(time.RFC3339, x); err != nil {
			writeError(w, http.StatusUnprocessableEntity, "invalid", f.name+" must be a date YYYY-MM-DD or an RFC 3339 time")
			return
		}
		*f.t = t
	}
	aud := s.audiences(p, v.Get("include_shadow") == "true")
	q.Allow = func(c store.Conversation) bool { return aud == nil || slices.Contains(aud, c.Audience) }
	res, err := s.o.Search.Search(r.Context(), q)
	if errors.Is(err, search.ErrQuery) {
		writeError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
		return
	}
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
