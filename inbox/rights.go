package inbox

import (
	"fmt"
	"net/http"

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
	if _, err := export.Zip(ctx, w, s.o.Store, s.o.Blobs, v.Root.ID, export.Options{Clock: s.o.Clock, Consents: s.o.ConsentHistory}); err != nil {
		// The status line is gone: cut the connection so the client sees
		// a broken download, never a zip that looks whole.
		s.o.Logger.Error("export failed midway", "customer", v.Root.ID, "err", err)
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) auditExport(w http.ResponseWriter, r *http.Request, customerID, format string) bool {
	rec := store.AuditRecord{At: s.o.Clock().UTC(), Actor: principalFrom(r.Context()).Name, Action: "customer.export", Target: customerID, Detail: format}
	if err := s.o.Store.AppendAudit(r.Context(), rec); err != nil {
		storeError(w, err)
		return false
	}
	return true
}
