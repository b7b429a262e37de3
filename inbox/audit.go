package inbox

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/webhooks"
)

// ---- the audit log (issue 21) ---------------------------------------------
//
// The one rule: an action's audit record is written BEFORE the action, and
// when it cannot be written the action is not done (503 audit_unavailable,
// nothing changed; the caller retries). A record's id is derived from the
// attempt (store.AuditID: actor, action, target, and the request's
// Idempotency-Key header or the record's version before the change), so a
// retried attempt is audited once. Records hold ids, never message content.

// IdempotencyHeader names a client's key for one action; a retry with the
// same key is audited once.
const IdempotencyHeader = "Idempotency-Key"

// withAuditKey carries the request's idempotency key to the services.
func withAuditKey(r *http.Request) *http.Request {
	if k := strings.TrimSpace(r.Header.Get(IdempotencyHeader)); k != "" {
		return r.WithContext(store.WithAuditKey(r.Context(), k))
	}
	return r
}

// auditBefore writes the record of the action the request is about to do,
// as the principal; false (the answer written) when it could not be.
func (s *Server) auditBefore(w http.ResponseWriter, r *http.Request, action, target, customer, detail string) bool {
	rec := store.AuditRecord{At: s.o.Clock().UTC(), Actor: principalFrom(r.Context()).Name, Action: action, Target: target,
		Customer: customer, Detail: detail}
	if k := store.AuditKey(r.Context()); k != "" {
		rec.ID = store.AuditID(rec.Actor, action, target, k)
	} else if k := strings.TrimSpace(r.Header.Get(IdempotencyHeader)); k != "" {
		rec.ID = store.AuditID(rec.Actor, action, target, k)
	}
	return s.auditRecord(w, r, rec)
}

// auditRecord writes rec (before its action); false (503 written) when it
// could not be.
func (s *Server) auditRecord(w http.ResponseWriter, r *http.Request, rec store.AuditRecord) bool {
	if err := s.o.Store.AppendAudit(r.Context(), rec); err != nil {
		s.o.Logger.Error("action refused: its audit record could not be written", "action", rec.Action, "actor", rec.Actor, "target", rec.Target, "err", err)
		auditUnavailable(w)
		return false
	}
	return true
}

func auditUnavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	writeError(w, http.StatusServiceUnavailable, "audit_unavailable", "the action was not done: its audit record could not be written; try again")
}

// audit serves GET /api/v1/audit (admin): newest first, filtered by
// actor, action (exact, or a prefix up to a dot), customer, from and to
// (RFC 3339; from inclusive, to exclusive), a page at a time (cursor: the
// previous answer's next; limit at most store.MaxAuditPage).
func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	q := store.AuditQuery{Actor: qs.Get("actor"), Action: qs.Get("action"), Customer: qs.Get("customer"), Cursor: qs.Get("cursor"),
		Limit: intParam(r, "limit", 100, store.MaxAuditPage)}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if v := qs.Get(f.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, "bad_input", f.name+" is not an RFC 3339 time: "+err.Error())
				return
			}
			*f.t = t
		}
	}
	page, err := s.o.Store.QueryAudit(r.Context(), q)
	if err != nil {
		if err == store.ErrBadAuditCursor {
			writeError(w, http.StatusBadRequest, "bad_input", "cursor: "+err.Error())
			return
		}
		storeError(w, err)
		return
	}
	if page.Records == nil {
		page.Records = []store.AuditRecord{}
	}
	out := map[string]any{"audit": page.Records}
	if page.Next != "" {
		out["next"] = page.Next
	}
	writeJSON(w, http.StatusOK, out)
}

// redactURL drops a URL's query and user info for the audit detail (a
// receiver's token may hide there).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// patchDetail names what a webhook patch changes (no secrets).
func patchDetail(p webhooks.Patch) string {
	var parts []string
	if p.URL != nil {
		parts = append(parts, "url="+redactURL(*p.URL))
	}
	if p.Events != nil {
		parts = append(parts, "events="+strings.Join(*p.Events, ","))
	}
	if p.AllowHTTP != nil {
		parts = append(parts, "allow_http="+strconv.FormatBool(*p.AllowHTTP))
	}
	if p.AllowPrivateAddresses != nil {
		parts = append(parts, "allow_private_addresses="+strconv.FormatBool(*p.AllowPrivateAddresses))
	}
	if p.Enabled != nil {
		parts = append(parts, "enabled="+strconv.FormatBool(*p.Enabled))
	}
	if p.RotateSecret {
		parts = append(parts, "secret rotated")
	}
	if p.DropOldSecret {
		parts = append(parts, "old secret dropped")
	}
	return strings.Join(parts, " ")
}
