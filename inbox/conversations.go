package inbox

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// audiences lists the conversation audiences p may see (DESIGN invariant 8):
// live conversations, pilot conversations of p's teams (admins: every
// team's), and shadow ones only for admins who ask for them.
func (s *Server) audiences(p Principal, includeShadow bool) []string {
	if p.IsAdmin() && includeShadow {
		return nil // everything
	}
	out := []string{store.AudienceAll}
	teams := p.Teams
	if p.IsAdmin() {
		teams = s.o.Teams
	}
	for _, t := range teams {
		out = append(out, store.TeamAudience(t))
	}
	return out
}

func (s *Server) visible(p Principal, c store.Conversation) bool {
	a := s.audiences(p, true)
	return a == nil || slices.Contains(a, c.Audience)
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	q := r.URL.Query()
	f := store.ConversationFilter{Status: q.Get("status"), Channel: q.Get("channel"), Assignee: q.Get("assignee"),
		Team: q.Get("team"), Before: q.Get("before"), Limit: intParam(r, "limit", 50, 500),
		Audiences: s.audiences(p, q.Get("include_shadow") == "true")}
	if f.Assignee == "me" {
		f.Assignee = p.Name
	}
	cs, next, err := s.o.Store.ListConversations(r.Context(), f)
	if err != nil {
		storeError(w, err)
		return
	}
	if cs == nil {
		cs = []store.Conversation{}
	}
	writeJSON(w, 200, map[string]any{"conversations": cs, "next": next})
}

func (s *Server) conversationFor(w http.ResponseWriter, r *http.Request) (store.Conversation, bool) {
	c, err := s.o.Store.GetConversation(r.Context(), r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return c, false
	}
	if !s.visible(principalFrom(r.Context()), c) {
		// Not "forbidden": a conversation outside one's audience does not exist for them.
		writeError(w, http.StatusNotFound, "not_found", "no such conversation")
		return c, false
	}
	return c, true
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request) {
	if c, ok := s.conversationFor(w, r); ok {
		writeJSON(w, 200, c)
	}
}

// patchConversation assigns, unassigns, snoozes, resolves and reopens.
func (s *Server) patchConversation(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversationFor(w, r)
	if !ok {
		return
	}
	var in struct {
		Status       *string    `json:"status"`
		Assignee     *string    `json:"assignee"`
		Team         *string    `json:"team"`
		SnoozedUntil *time.Time `json:"snoozed_until"`
	}
	if !s.decodeBody(w, r, &in) {
		return
	}
	if in.Status != nil {
		switch *in.Status {
		case store.StatusOpen, store.StatusPending, store.StatusResolved:
		case store.StatusSnoozed:
			if in.SnoozedUntil == nil || !in.SnoozedUntil.After(s.o.Clock()) {
				writeError(w, 422, "invalid", "snoozing needs snoozed_until in the future")
				return
			}
		default:
			writeError(w, 422, "invalid", "status must be one of open, pending, snoozed, resolved")
			return
		}
	}
	p := principalFrom(r.Context())
	var before store.Conversation
	c, err := s.o.Store.UpdateConversation(r.Context(), c.ID, func(x *store.Conversation) error {
		before = *x
		if in.Status != nil {
			x.Status = *in.Status
			if *in.Status == store.StatusSnoozed {
				x.SnoozedUntil = in.SnoozedUntil.UTC()
			} else {
				x.SnoozedUntil = time.Time{}
			}
		}
		if in.Assignee != nil {
			x.Assignee = *in.Assignee
		}
		if in.Team != nil {
			x.Team = *in.Team
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			writeError(w, 409, "conflict", "another conversation of this customer is open on the same thread; resolve it first")
			return
		}
		storeError(w, err)
		return
	}
	router.AdjustLoad(r.Context(), s.o.Store, before, c)
	_ = s.o.Store.AppendAudit(r.Context(), store.AuditRecord{At: s.o.Clock().UTC(), Actor: p.Name, Action: "conversation.update", Target: c.ID,
		Detail: "status=" + c.Status + " assignee=" + c.Assignee})
	_ = router.Publish(r.Context(), s.o.Store, router.Event{Type: router.EventConversationUpdated, CustomerID: c.CustomerID, ConversationID: c.ID,
		Channel: c.Channel, Status: c.Status, Audience: c.Audience, Assignee: c.Assignee, Agent: p.Name})
	writeJSON(w, 200, c)
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversationFor(w, r)
	if !ok {
		return
	}
	var in struct {
		Text    string `json:"text"`
		Channel string `json:"channel"`
	}
	if !s.decodeBody(w, r, &in) {
		return
	}
	e, err := s.o.Outbound.Reply(r.Context(), c.ID, principalFrom(r.Context()).Name, in.Channel, in.Text)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, e)
}

func (s *Server) note(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversationFor(w, r)
	if !ok {
		return
	}
	var in struct {
		Text string `json:"text"`
	}
	if !s.decodeBody(w, r, &in) {
		return
	}
	e, err := s.o.Outbound.Note(r.Context(), c.ID, principalFrom(r.Context()).Name, in.Text)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, e)
}

// ---- queues and audit (admin) -------------------------------------------

func validQueue(w http.ResponseWriter, name string) bool {
	if name != store.QueueIngest && name != store.QueueOutbound {
		writeError(w, 404, "not_found", "queues are ingest and outbound")
		return false
	}
	return true
}

func (s *Server) queueStats(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !validQueue(w, name) {
		return
	}
	st, err := s.o.Store.QueueStats(r.Context(), name)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, 200, st)
}

func (s *Server) deadLetters(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !validQueue(w, name) {
		return
	}
	ds, err := s.o.Store.DeadLetters(r.Context(), name, intParam(r, "limit", 100, 10000))
	if err != nil {
		storeError(w, err)
		return
	}
	if ds == nil {
		ds = []store.DeadLetter{}
	}
	writeJSON(w, 200, map[string]any{"dead": ds})
}

func (s *Server) replayDead(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !validQueue(w, name) {
		return
	}
	n, err := s.o.Store.ReplayDead(r.Context(), name, r.URL.Query().Get("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	_ = s.o.Store.AppendAudit(r.Context(), store.AuditRecord{At: s.o.Clock().UTC(), Actor: principalFrom(r.Context()).Name,
		Action: "queue.replay", Target: name, Detail: r.URL.Query().Get("id")})
	writeJSON(w, 200, map[string]int{"replayed": n})
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	as, err := s.o.Store.ListAudit(r.Context(), intParam(r, "limit", 100, 10000))
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"audit": as})
}
