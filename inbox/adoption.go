package inbox

import (
	"errors"
	"net/http"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Phased adoption, measured (issue 16): readiness, potential, history,
// guarded promotion and the Adoption admin page (adoption_ui.go).

func (s *Server) adoptionRoutes(m routeRecorder) {
	m.HandleFunc("GET /api/v1/channels/potential", s.authed(true, s.channelPotential))
	m.HandleFunc("GET /api/v1/channels/{name}/readiness", s.authed(true, s.channelReadiness))
	m.HandleFunc("GET /api/v1/channels/{name}/history", s.authed(true, s.channelHistory))
	s.mux.HandleFunc("GET /admin/adoption", s.authed(true, s.adoptionPage))
}

// period reads ?from=&to= (RFC 3339); zero when absent.
func period(r *http.Request) (router.ReadinessQuery, error) {
	var q router.ReadinessQuery
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		v := r.URL.Query().Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return q, errors.Join(connectors.ErrInvalid, errors.New(p.name+" must be an RFC 3339 time"))
		}
		*p.t = t
	}
	return q, nil
}

func (s *Server) channelReadiness(w http.ResponseWriter, r *http.Request) {
	ch, ok := s.o.Directory.Get(r.PathValue("name"))
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no channel "+r.PathValue("name"))
		return
	}
	q, err := period(r)
	if err != nil {
		storeError(w, err)
		return
	}
	rep, err := router.ChannelReadiness(r.Context(), s.o.Store, ch, s.o.Clock(), q)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) channelHistory(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, ok := s.o.Directory.Get(name); !ok {
		writeError(w, http.StatusNotFound, "not_found", "no channel "+name)
		return
	}
	h, err := s.o.Store.ListPhaseChanges(r.Context(), name)
	if err != nil {
		storeError(w, err)
		return
	}
	if h == nil {
		h = []store.PhaseChange{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"channel": name, "history": h})
}

func (s *Server) channelPotential(w http.ResponseWriter, r *http.Request) {
	q, err := period(r)
	if err != nil {
		storeError(w, err)
		return
	}
	p, err := router.ChannelPotential(r.Context(), s.o.Store, s.o.Directory.List(), s.o.Clock(), q)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// setPhase changes a channel's phase ({"phase", "force"}): a promotion of
// a channel whose verdict is not_ready is refused with 409 not_ready and
// the reasons unless force is true.
func (s *Server) setPhase(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Phase string `json:"phase"`
		Force bool   `json:"force"`
	}
	if !s.decodeBody(w, r, &in) {
		return
	}
	p := principalFrom(r.Context())
	c, change, err := router.ChangePhase(r.Context(), s.o.Store, s.o.Directory, r.PathValue("name"), in.Phase, p.Name, in.Force)
	var nr *router.NotReadyError
	if errors.As(err, &nr) {
		writeJSON(w, http.StatusConflict, map[string]any{"error": "not_ready", "message": nr.Error(), "reasons": nr.Reasons})
		return
	}
	if errors.Is(err, router.ErrHistory) {
		s.o.Logger.Error("phase changed, history not written", "channel", c.Name, "err", err)
	} else if err != nil {
		storeError(w, err)
		return
	}
	s.recordPhase(r.Context(), c, p.Name)
	_ = timeline.Publish(r.Context(), s.o.Store, timeline.Event{Type: timeline.EventChannelPhase, Channel: c.Name, Status: c.Phase, Agent: p.Name})
	writeJSON(w, 200, phaseAnswer{Channel: c, Forced: change.Forced, Verdict: change.Verdict, Reasons: nonNil(change.Reasons)})
}

// phaseAnswer is the channel as before, plus how the change was judged.
type phaseAnswer struct {
	directory.Channel
	Forced  bool     `json:"forced"`
	Verdict string   `json:"verdict"`
	Reasons []string `json:"reasons"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
