package inbox

import (
	"net/http"

	"github.com/switchboard-hub/switchboard/timeline"
)

// Presence states an agent announces for a conversation.
const (
	PresenceViewing = "viewing"
	PresenceTyping  = "typing"
	PresenceLeft    = "left"
)

// presence announces that the caller is viewing, typing in or has left a
// conversation (POST /api/v1/conversations/{id}/presence). It is published
// as a "presence" event on the realtime topic, so every replica's SSE
// subscribers who may see the conversation learn of it; nothing is stored.
//
// Collision detection lives in the clients: a client repeats "viewing"
// while it shows a conversation (every 15 s), "typing" while the agent
// types (at most every 3 s), and forgets another agent it has not heard
// from for 40 s (typing: 6 s). When a client hears a new agent arrive it
// announces itself once more at once, so both see each other without
// waiting for the next heartbeat, and without any state on the server.
func (s *Server) presence(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversationFor(w, r)
	if !ok {
		return
	}
	var in struct {
		State string `json:"state"`
	}
	if !s.decodeBody(w, r, &in) {
		return
	}
	switch in.State {
	case PresenceViewing, PresenceTyping, PresenceLeft:
	default:
		writeError(w, http.StatusUnprocessableEntity, "invalid", "state must be viewing, typing or left")
		return
	}
	p := principalFrom(r.Context())
	err := timeline.Publish(r.Context(), s.o.Store, timeline.Event{Type: timeline.EventPresence, CustomerID: c.CustomerID,
		ConversationID: c.ID, Channel: c.Channel, Audience: c.Audience, Assignee: c.Assignee, Agent: p.Name, Status: in.State})
	if err != nil {
		storeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
