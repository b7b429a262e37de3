package inbox

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// Spam quarantine (admin): suspected spam is kept, never dropped, until an
// admin releases it onto a timeline or deletes it.

func (s *Server) listQuarantine(w http.ResponseWriter, r *http.Request) {
	qs, err := s.o.Store.ListQuarantine(r.Context(), r.URL.Query().Get("channel"), intParam(r, "limit", 100, 1000))
	if err != nil {
		storeError(w, err)
		return
	}
	type item struct {
		store.QuarantineItem
		Message json.RawMessage `json:"message"`
	}
	out := make([]item, 0, len(qs))
	for _, q := range qs {
		out = append(out, item{QuarantineItem: q, Message: q.Payload})
	}
	writeJSON(w, 200, map[string]any{"quarantine": out})
}

// releaseQuarantine delivers a held message as if it had passed the checks.
func (s *Server) releaseQuarantine(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, err := s.o.Store.TakeQuarantine(ctx, r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	var msg connectors.Message
	if err := json.Unmarshal(q.Payload, &msg); err != nil {
		s.requarantine(ctx, q) // keep it
		writeError(w, 422, "invalid", "quarantined payload is not a message: "+err.Error())
		return
	}
	// Audited before the message goes (audit.go): a release that cannot be
	// audited does not happen, the item goes back into the quarantine. The
	// record's id is the item's, so a retried release is audited once.
	rec := store.AuditRecord{ID: store.AuditID("quarantine.release", q.ID), At: s.o.Clock().UTC(), Actor: principalFrom(ctx).Name,
		Action: "quarantine.release", Target: q.ID, Detail: q.Channel}
	if err := s.o.Store.AppendAudit(ctx, rec); err != nil {
		s.requarantine(ctx, q)
		s.o.Logger.Error("release refused: its audit record could not be written", "id", q.ID, "err", err)
		auditUnavailable(w)
		return
	}
	id, err := s.o.Ingest.Deliver(ctx, msg)
	if err != nil {
		s.requarantine(ctx, q) // not lost: back into quarantine
		storeError(w, err)
		return
	}
	writeJSON(w, 202, map[string]string{"id": id, "status": "accepted"})
}

func (s *Server) dropQuarantine(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, err := s.o.Store.TakeQuarantine(ctx, r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	// A deletion that cannot be audited does not happen: the item goes
	// back into the quarantine and the request fails (5xx).
	rec := store.AuditRecord{At: s.o.Clock().UTC(), Actor: principalFrom(ctx).Name, Action: "quarantine.delete", Target: q.ID, Detail: q.Channel}
	if err := s.o.Store.AppendAudit(ctx, rec); err != nil {
		if perr := s.o.Store.PutQuarantine(ctx, q); perr != nil {
			s.o.Logger.Error("quarantined message lost: could not put it back", "id", q.ID, "channel", q.Channel, "err", perr)
			s.auditLost(rec, err) // deleted after all, and not audited
		}
		s.o.Logger.Error("deletion refused: its audit record could not be written", "id", q.ID, "err", err)
		auditUnavailable(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// requarantine puts a taken item back; a failure is logged (the item is
// lost then, and someone must know).
func (s *Server) requarantine(ctx context.Context, q store.QuarantineItem) {
	if err := s.o.Store.PutQuarantine(ctx, q); err != nil {
		s.o.Logger.Error("quarantined message lost: could not put it back", "id", q.ID, "channel", q.Channel, "err", err)
	}
}
