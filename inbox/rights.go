package inbox

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-hub/switchboard/export"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// exportZip answers GET /api/v1/customers/{id}/export with the zip
// (export.Zip), streamed to the client. The audit record (no content) is
// written first: an export that cannot be audited does not happen.
func (s *Server) exportZip(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v, err := timeline.Load(ctx, s.o.Store, r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	if !s.auditExport(w, r, v.Root.ID, "zip") {
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "customer-"+v.Root.ID+".zip"))
	// A large export may take longer than the server's write timeout:
	// each write that gets through moves the deadline on, so only a
	// client that stops reading is cut off.
	var out io.Writer = w
	if s.o.WriteTimeout > 0 {
		out = &deadlineWriter{w: w, rc: http.NewResponseController(w), d: s.o.WriteTimeout}
	}
	if _, err := export.Zip(ctx, out, s.o.Store, s.o.Blobs, v.Root.ID, export.Options{Clock: s.o.Clock, Consents: s.o.ConsentHistory}); err != nil {
		// The status line is gone: cut the connection so the client sees
		// a broken download, never a zip that looks whole.
		s.o.Logger.Error("export failed midway", "customer", v.Root.ID, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// deadlineWriter extends the connection's write deadline by d before each
// write.
type deadlineWriter struct {
	w  io.Writer
	rc *http.ResponseController
	d  time.Duration
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.d)) // not supported by a recorder: the server's deadline stays
	return d.w.Write(p)
}

func (s *Server) auditExport(w http.ResponseWriter, r *http.Request, customerID, format string) bool {
	rec := store.AuditRecord{At: s.o.Clock().UTC(), Actor: principalFrom(r.Context()).Name, Action: "customer.export", Target: customerID, Detail: format}
	if err := s.o.Store.AppendAudit(r.Context(), rec); err != nil {
		storeError(w, err)
		return false
	}
	return true
}

// mountRights mounts the data-rights routes beside export and erasure
// (issue 15): legal holds and the retention sweep (one identity's erasure
// is DELETE /api/v1/customers/{id}/identities/{key}, identities.go).
func (s *Server) mountRights(m routeRecorder) {
	m.HandleFunc("PUT /api/v1/customers/{id}/hold", s.authed(true, s.setHold(true)))
	m.HandleFunc("DELETE /api/v1/customers/{id}/hold", s.authed(true, s.setHold(false)))
	m.HandleFunc("POST /api/v1/retention/run", s.authed(true, s.runRetention))
}

// setHold puts (or releases) a legal hold on every record of the person.
// Body (optional): {"reason"}. Audited as customer.hold / customer.release.
func (s *Server) setHold(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Reason string `json:"reason"`
		}
		if r.ContentLength != 0 && !s.decodeBody(w, r, &in) {
			return
		}
		ctx := r.Context()
		v, err := timeline.Load(ctx, s.o.Store, r.PathValue("id"))
		if err != nil {
			storeError(w, err)
			return
		}
		by := principalFrom(ctx).Name
		var hold *store.Hold
		action := "customer.release"
		if on {
			hold = &store.Hold{By: by, Reason: in.Reason, At: s.o.Clock().UTC()}
			action = "customer.hold"
		}
		if err := s.o.Store.AppendAudit(ctx, store.AuditRecord{At: s.o.Clock().UTC(), Actor: by, Action: action, Target: v.Root.ID}); err != nil {
			storeError(w, err)
			return
		}
		for _, m := range v.Members {
			if _, err := s.o.Store.UpdateCustomer(ctx, m.ID, func(c *store.Customer) error { c.Hold = hold; return nil }); err != nil {
				storeError(w, err)
				return
			}
		}
		writeJSON(w, 200, map[string]any{"customer_id": v.Root.ID, "hold": hold})
	}
}

// runRetention runs the retention sweep now (?dry_run=true: report only).
func (s *Server) runRetention(w http.ResponseWriter, r *http.Request) {
	if s.o.Retention == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "retention is not wired in this server")
		return
	}
	dry, _ := strconv.ParseBool(r.URL.Query().Get("dry_run"))
	rep, err := s.o.Retention.SweepReport(r.Context(), dry, principalFrom(r.Context()).Name)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, 200, rep)
}
