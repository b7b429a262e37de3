package inbox

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// The suggestion queue (issue 22): filtered by channel, age and evidence
// kind, each suggestion carrying its evidence in words (Merge.Evidence)
// and in parts (identity, channel, message id, kind); decided one at a
// time by agents or in bulk by admins.

// suggestionQueue: GET /api/v1/suggestions?channel=&kind=&since=&older_than=&limit=.
func (s *Server) suggestionQueue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since, before time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_since", "since must be an RFC 3339 time: "+err.Error())
			return
		}
		since = t
	}
	if v := q.Get("older_than"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			writeError(w, http.StatusBadRequest, "bad_older_than", fmt.Sprintf("older_than must be a duration such as 24h: %q", v))
			return
		}
		before = s.o.Clock().Add(-d)
	}
	limit := intParam(r, "limit", 100, 1000)
	all, err := s.o.Store.ListSuggestions(r.Context(), 0)
	if err != nil {
		storeError(w, err)
		return
	}
	out := []store.Merge{}
	for _, m := range all {
		switch {
		case q.Get("channel") != "" && m.Channel != q.Get("channel"),
			q.Get("kind") != "" && m.EvidenceKind != q.Get("kind"),
			!since.IsZero() && m.CreatedAt.Before(since),
			!before.IsZero() && m.CreatedAt.After(before):
			continue
		}
		out = append(out, m)
		if len(out) == limit {
			break
		}
	}
	writeJSON(w, 200, map[string]any{"suggestions": out})
}

// decisionResult is one bulk decision's outcome.
type decisionResult struct {
	ID     string `json:"id"`
	Status string `json:"status,omitempty"` // the suggestion's status now
	Error  string `json:"error,omitempty"`
}

// decideMany: POST /api/v1/suggestions/decisions (admins)
// {"decisions": [{"id": "sg_…", "decision": "accept"|"reject"}]}. Each is
// applied on its own; the answer says per suggestion what happened.
func (s *Server) decideMany(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Decisions []struct {
			ID       string `json:"id"`
			Decision string `json:"decision"`
		} `json:"decisions"`
	}
	if !s.decodeBody(w, r, &in) {
		return
	}
	if len(in.Decisions) == 0 || len(in.Decisions) > 1000 {
		writeError(w, 422, "invalid", "decisions must list 1 to 1000 {id, decision}")
		return
	}
	for _, d := range in.Decisions {
		if d.ID == "" || d.Decision != "accept" && d.Decision != "reject" {
			writeError(w, 422, "invalid", fmt.Sprintf("decision %q for %q: each needs an id and accept or reject", d.Decision, d.ID))
			return
		}
	}
	by := principalFrom(r.Context()).Name
	out := make([]decisionResult, 0, len(in.Decisions))
	for _, d := range in.Decisions {
		m, err := s.o.Resolver.Decide(r.Context(), d.ID, d.Decision == "accept", by)
		res := decisionResult{ID: d.ID, Status: m.Status}
		switch {
		case errors.Is(err, store.ErrNotFound):
			res.Status, res.Error = "", "not found"
		case errors.Is(err, store.ErrConflict):
			res.Error = "already decided"
		case err != nil:
			s.o.Logger.Error("bulk suggestion decision", "id", d.ID, "err", err)
			res.Error = "internal error"
		}
		out = append(out, res)
	}
	writeJSON(w, 200, map[string]any{"results": out})
}
