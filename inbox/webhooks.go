package inbox

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/webhooks"
)

// ---- outgoing webhooks: the admin API (issue 21) -------------------------

// mountWebhooks serves the webhook admin routes. Without Options.Webhooks
// they manage the store's endpoints through a service of their own (no
// dispatcher runs from it).
func (s *Server) mountWebhooks(m routeRecorder) {
	if s.o.Webhooks == nil {
		s.o.Webhooks = webhooks.New(webhooks.Options{Store: s.o.Store, Clock: s.o.Clock, Logger: s.o.Logger})
	}
	m.HandleFunc("GET /api/v1/webhooks", s.authed(true, s.listWebhooks))
	m.HandleFunc("POST /api/v1/webhooks", s.authed(true, s.createWebhook))
	m.HandleFunc("GET /api/v1/webhooks/{name}", s.authed(true, s.getWebhook))
	m.HandleFunc("PATCH /api/v1/webhooks/{name}", s.authed(true, s.patchWebhook))
	m.HandleFunc("DELETE /api/v1/webhooks/{name}", s.authed(true, s.deleteWebhook))
	m.HandleFunc("GET /api/v1/webhooks/{name}/deliveries", s.authed(true, s.webhookDeliveries))
	m.HandleFunc("POST /api/v1/webhooks/{name}/replay", s.authed(true, s.replayWebhook))
	m.HandleFunc("POST /api/v1/webhooks/{name}/ping", s.authed(true, s.pingWebhook))
}

func webhookError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, webhooks.ErrInvalid):
		writeError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
	case errors.Is(err, webhooks.ErrFromConfig):
		writeError(w, http.StatusConflict, "configured", err.Error()+": change it there (only enabled may change here)")
	default:
		storeError(w, err)
	}
}

// auditWebhook writes the audit record of a webhook change before the
// change (audit.go: one rule); false (503 written) when it could not be,
// and then nothing changed.
func (s *Server) auditWebhook(w http.ResponseWriter, r *http.Request, action, name, detail string) bool {
	return s.auditBefore(w, r, action, name, "", detail)
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	vs, err := s.o.Webhooks.List(r.Context())
	if err != nil {
		webhookError(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"webhooks": vs})
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	v, err := s.o.Webhooks.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		webhookError(w, err)
		return
	}
	writeJSON(w, 200, v)
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	in := webhooks.Spec{Enabled: true}
	if !s.decodeBody(w, r, &in) {
		return
	}
	if !s.auditWebhook(w, r, "webhook.create", in.Name, redactURL(in.URL)) {
		return
	}
	v, secret, err := s.o.Webhooks.Create(r.Context(), in)
	if err != nil {
		webhookError(w, err)
		return
	}
	// The secret is shown this once; the store keeps it for signing only.
	writeJSON(w, http.StatusCreated, map[string]any{"webhook": v, "secret": secret})
}

func (s *Server) patchWebhook(w http.ResponseWriter, r *http.Request) {
	var in webhooks.Patch
	if !s.decodeBody(w, r, &in) {
		return
	}
	if !s.auditWebhook(w, r, "webhook.update", r.PathValue("name"), patchDetail(in)) {
		return
	}
	v, secret, err := s.o.Webhooks.Update(r.Context(), r.PathValue("name"), in)
	if err != nil {
		webhookError(w, err)
		return
	}
	out := map[string]any{"webhook": v}
	if secret != "" {
		out["secret"] = secret
	}
	writeJSON(w, 200, out)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !s.auditWebhook(w, r, "webhook.delete", name, "") {
		return
	}
	if err := s.o.Webhooks.Delete(r.Context(), name); err != nil {
		webhookError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) webhookDeliveries(w http.ResponseWriter, r *http.Request) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	ds, err := s.o.Webhooks.Deliveries(r.Context(), r.PathValue("name"), before, intParam(r, "limit", 100, 1000))
	if err != nil {
		webhookError(w, err)
		return
	}
	out := map[string]any{"deliveries": ds}
	if len(ds) > 0 {
		out["next"] = strconv.FormatInt(ds[len(ds)-1].Seq, 10)
	}
	writeJSON(w, 200, out)
}

func (s *Server) replayWebhook(w http.ResponseWriter, r *http.Request) {
	var in struct {
		// EventID replays one delivery; empty: every failed one.
		EventID string `json:"event_id"`
	}
	if r.ContentLength != 0 && !s.decodeBody(w, r, &in) {
		return
	}
	name := r.PathValue("name")
	if !s.auditWebhook(w, r, "webhook.replay", name, "event="+in.EventID) {
		return
	}
	n, err := s.o.Webhooks.Replay(r.Context(), name, in.EventID)
	if err != nil {
		webhookError(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"replayed": n})
}

func (s *Server) pingWebhook(w http.ResponseWriter, r *http.Request) {
	if !s.auditWebhook(w, r, "webhook.ping", r.PathValue("name"), "") {
		return
	}
	res, err := s.o.Webhooks.Ping(r.Context(), r.PathValue("name"))
	if err != nil {
		webhookError(w, err)
		return
	}
	writeJSON(w, 200, res)
}

// recordPhase records channel.phase_changed after a phase change (a
// failure is logged: the change stands, and was audited before it).
func (s *Server) recordPhase(ctx context.Context, c directory.Channel, by string) {
	data := map[string]any{"channel": c.Name, "type": c.Type, "phase": c.Phase, "by": by, "at": c.UpdatedAt}
	key := c.Name + "/" + c.Phase + "/" + strconv.FormatInt(c.UpdatedAt.UnixNano(), 10)
	if err := s.o.Webhooks.Outbox.Record(ctx, webhooks.ChannelPhaseChanged, key, "", data); err != nil {
		s.o.Logger.Error("channel phase changed, its webhook event not recorded", "channel", c.Name, "err", err)
	}
}

// recordErased records customer.erased before the erasure runs (so a crash
// midway loses nothing; running the erasure again finishes it). It names
// the customer by its opaque id only, and is kept out of the person's own
// events (no customer on the record) so the erasure does not remove it.
func (s *Server) recordErased(w http.ResponseWriter, r *http.Request, id string) bool {
	if _, err := s.o.Store.GetCustomer(r.Context(), id); err != nil {
		return true // Erase answers for a missing customer
	}
	data := map[string]any{"customer_id": id, "by": principalFrom(r.Context()).Name}
	if err := s.o.Webhooks.Outbox.Record(r.Context(), webhooks.CustomerErased, id, "", data); err != nil {
		storeError(w, err)
		return false
	}
	return true
}
