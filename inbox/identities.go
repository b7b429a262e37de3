package inbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/erasure"
	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Agents' identity corrections (issue 22): add, remove, move. Each is
// audited (the audit record names the identity's type, not its value, so
// it outlives an erasure without keeping personal data) and shown on the
// customer's timeline as an event entry (erased with the timeline).

type identityInput struct {
	Type     string `json:"type"`
	Value    string `json:"value"`
	Verified bool   `json:"verified"`
	Reason   string `json:"reason"`
}

// pathIdentity reads {key} ("type:value") of the path, normalized.
func (s *Server) pathIdentity(w http.ResponseWriter, r *http.Request) (connectors.Identity, bool) {
	id, err := connectors.ParseKey(r.PathValue("key"))
	if err == nil {
		id, err = normalizeOrRaw(id, s.o.DefaultRegion)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_identity", err.Error())
		return id, false
	}
	return id, true
}

// identityEvent puts an event entry on customer's timeline; a failure is
// logged (the change and its audit are done).
func (s *Server) identityEvent(ctx context.Context, customer, agent, text string) {
	now := s.o.Clock().UTC()
	e := store.Entry{ID: ids.Random("ev_", now), CustomerID: customer, Kind: store.KindEvent, Agent: agent,
		Text: text, OccurredAt: now, CreatedAt: now, UpdatedAt: now}
	// Through the conversation service, the one writer of timeline entries
	// besides the router (it announces entry.created); no conversation.
	if _, _, err := s.o.Conversations.Append(ctx, e, store.Conversation{}); err != nil {
		s.o.Logger.Error("identity change done, timeline event lost", "customer", customer, "err", err)
	}
}

func kindWord(verified bool) string {
	if verified {
		return "verified"
	}
	return "claimed"
}

// addIdentity: POST /api/v1/customers/{id}/identities.
func (s *Server) addIdentity(w http.ResponseWriter, r *http.Request) {
	var in identityInput
	if !s.decodeBody(w, r, &in) {
		return
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Verified && in.Reason == "" {
		writeError(w, 422, "invalid", "a verified identity needs a reason (how it was checked)")
		return
	}
	id, err := connectors.Normalize(connectors.Identity{Type: in.Type, Value: in.Value}, s.o.DefaultRegion)
	if err != nil {
		writeError(w, 422, "invalid", err.Error())
		return
	}
	id.Verified = in.Verified
	p := principalFrom(r.Context())
	how := "agent " + p.Name
	if in.Reason != "" {
		how += " (" + in.Reason + ")"
	}
	// Audited before the change (audit.go: one rule).
	if !s.auditBefore(w, r, "customer.identity.add", r.PathValue("id"), r.PathValue("id"), id.Type+" "+kindWord(id.Verified)+reasonSuffix(in.Reason)) {
		return
	}
	c, err := s.o.Resolver.AddIdentity(r.Context(), r.PathValue("id"), id, how)
	if err != nil {
		storeError(w, err)
		return
	}
	text := fmt.Sprintf("%s added %s as %s%s", p.Name, id.Key(), kindWord(c.Identity.Verified), reasonSuffix(in.Reason))
	if c.Conflict != "" {
		text += "; " + c.Conflict
	}
	s.identityEvent(r.Context(), c.Customer, p.Name, text)
	writeJSON(w, 200, c)
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// removeIdentity: DELETE /api/v1/customers/{id}/identities/{type}:{value}
// (an agent's correction, and the erasure of one identity).
func (s *Server) removeIdentity(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathIdentity(w, r)
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.URL.Query().Get("reason"))
	p := principalFrom(r.Context())
	// An identity the customer does not hold is a 404 before any audit:
	// the record says an identity was removed, not that one was asked for.
	if _, cv, err := s.view(r.Context(), r.PathValue("id")); err != nil {
		storeError(w, err)
		return
	} else if !slices.ContainsFunc(cv.Identities, func(x connectors.Identity) bool { return x.Type == id.Type && x.Value == id.Value }) {
		writeError(w, http.StatusNotFound, "not_found", "the customer holds no such identity")
		return
	}
	if !s.auditBefore(w, r, "customer.identity.remove", r.PathValue("id"), r.PathValue("id"), id.Type+reasonSuffix(reason)) {
		return // audit.go: not audited, not removed
	}
	rep, err := erasure.EraseIdentity(r.Context(), s.o.Store, r.PathValue("id"), id)
	if errors.Is(err, erasure.ErrHeld) {
		writeError(w, http.StatusConflict, "held", "the customer is under a legal hold; release it first")
		return
	}
	if err != nil {
		storeError(w, err)
		return
	}
	// The event names the identity only masked: it was removed, perhaps
	// erased on request, and the timeline should not keep it.
	s.identityEvent(r.Context(), rep.Customer, p.Name, fmt.Sprintf("%s removed %s %s%s", p.Name, id.Type, mask(id), reasonSuffix(reason)))
	writeJSON(w, 200, rep)
}

// mask shows enough of an identity to recognise it, not to read it back:
// an email's first letter and domain, a phone number's last two digits.
func mask(id connectors.Identity) string {
	v := id.Value
	switch {
	case id.Type == connectors.Email && strings.Contains(v, "@"):
		at := strings.LastIndex(v, "@")
		return v[:1] + "…" + v[at:]
	case len(v) > 2:
		return "…" + v[len(v)-2:]
	}
	return "…"
}

// moveIdentity: POST /api/v1/customers/{id}/identities/{type}:{value}/move {"to": ID}.
func (s *Server) moveIdentity(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathIdentity(w, r)
	if !ok {
		return
	}
	var in struct {
		To     string `json:"to"`
		Reason string `json:"reason"`
	}
	if !s.decodeBody(w, r, &in) {
		return
	}
	if in.To == "" {
		writeError(w, 422, "invalid", "to (the customer id to move the identity to) is required")
		return
	}
	ctx := r.Context()
	p := principalFrom(ctx)
	from, err := timeline.Root(ctx, s.o.Store, r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	how := "agent " + p.Name + " moved it from customer " + from.ID
	if in.Reason != "" {
		how += " (" + in.Reason + ")"
	}
	if !s.auditBefore(w, r, "customer.identity.move", from.ID+" -> "+in.To, from.ID, id.Type+reasonSuffix(in.Reason)) {
		return // audit.go: not audited, not moved
	}
	c, err := s.o.Resolver.MoveIdentity(ctx, from.ID, id, in.To, how)
	if err != nil {
		storeError(w, err)
		return
	}
	s.identityEvent(ctx, from.ID, p.Name, fmt.Sprintf("%s moved %s to customer %s%s", p.Name, id.Key(), c.Customer, reasonSuffix(in.Reason)))
	s.identityEvent(ctx, c.Customer, p.Name, fmt.Sprintf("%s moved %s here from customer %s%s", p.Name, id.Key(), from.ID, reasonSuffix(in.Reason)))
	writeJSON(w, 200, c)
}

// normalizeOrRaw normalizes an identity named by an agent; a phone number
// no rule can read is taken as the raw text ingest kept it as
// (router.RawPhone), so it can be found and removed.
func normalizeOrRaw(id connectors.Identity, region string) (connectors.Identity, error) {
	n, err := connectors.Normalize(id, region)
	if err != nil {
		if raw, ok := router.RawPhone(id); ok {
			return raw, nil
		}
	}
	return n, err
}
