package inbox

import (
	"errors"
	"net/http"

	"github.com/switchboard-hub/switchboard/automation"
	"github.com/switchboard-hub/switchboard/labels"
	"github.com/switchboard-hub/switchboard/timeline"
)

// ruleAPI serves automation rules (with dry run) and macros (issue 24).
type ruleAPI struct {
	s  *Server
	en *automation.Engine
}

func (s *Server) mountRules(m routeRecorder) {
	a := &ruleAPI{s: s, en: automation.New(s.o.Store, labels.New(s.o.Store), automation.Options{Teams: s.o.Teams,
		IsAgent: func(n string) bool { _, ok := s.auth.byName(n); return ok }, Clock: s.o.Clock, Calendars: s.o.Calendars})}
	m.HandleFunc("GET /api/v1/rules", s.authed(true, a.listRules))
	m.HandleFunc("PUT /api/v1/rules", s.authed(true, a.putRules))
	m.HandleFunc("POST /api/v1/rules", s.authed(true, a.putRule))
	m.HandleFunc("DELETE /api/v1/rules/{id}", s.authed(true, a.deleteRule))
	m.HandleFunc("POST /api/v1/rules/{id}/dry-run", s.authed(true, a.dryRun))
	m.HandleFunc("GET /api/v1/macros", s.authed(false, a.listMacros))
	m.HandleFunc("POST /api/v1/macros", s.authed(true, a.putMacro))
	m.HandleFunc("DELETE /api/v1/macros/{id}", s.authed(true, a.deleteMacro))
	m.HandleFunc("POST /api/v1/conversations/{id}/macros/{macro}", s.authed(false, a.runMacro))
}

func (a *ruleAPI) listRules(w http.ResponseWriter, r *http.Request) {
	rs, err := a.en.Rules(r.Context())
	if err != nil {
		storeError(w, err)
		return
	}
	if rs == nil {
		rs = []automation.Rule{}
	}
	writeJSON(w, 200, map[string]any{"rules": rs})
}

func (a *ruleAPI) putRules(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Rules []automation.Rule `json:"rules"`
	}
	if !a.s.decodeBody(w, r, &in) {
		return
	}
	if err := a.en.PutRules(r.Context(), in.Rules, principalFrom(r.Context()).Name); err != nil {
		labelError(w, err)
		return
	}
	a.listRules(w, r)
}

func (a *ruleAPI) putRule(w http.ResponseWriter, r *http.Request) {
	var in automation.Rule
	if !a.s.decodeBody(w, r, &in) {
		return
	}
	if err := a.en.PutRule(r.Context(), in, principalFrom(r.Context()).Name); err != nil {
		labelError(w, err)
		return
	}
	writeJSON(w, 200, in)
}

func (a *ruleAPI) deleteRule(w http.ResponseWriter, r *http.Request) {
	if err := a.en.DeleteRule(r.Context(), r.PathValue("id"), principalFrom(r.Context()).Name); err != nil {
		labelError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// dryRun tries rule {id} ("all" for every rule in order) on a past
// message: what would fire and the conversation as it would be; nothing
// changes.
func (a *ruleAPI) dryRun(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MessageID string `json:"message_id"`
	}
	if !a.s.decodeBody(w, r, &in) {
		return
	}
	if in.MessageID == "" {
		writeError(w, http.StatusBadRequest, "invalid", "message_id is required")
		return
	}
	id := r.PathValue("id")
	if id == "all" {
		id = ""
	}
	fired, conv, err := a.en.DryRun(r.Context(), id, in.MessageID)
	if err != nil {
		labelError(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"fired": fired, "conversation": conv})
}

func (a *ruleAPI) listMacros(w http.ResponseWriter, r *http.Request) {
	ms, err := a.en.Macros(r.Context())
	if err != nil {
		storeError(w, err)
		return
	}
	if ms == nil {
		ms = []automation.Macro{}
	}
	writeJSON(w, 200, map[string]any{"macros": ms})
}

func (a *ruleAPI) putMacro(w http.ResponseWriter, r *http.Request) {
	var in automation.Macro
	if !a.s.decodeBody(w, r, &in) {
		return
	}
	if err := a.en.PutMacro(r.Context(), in, principalFrom(r.Context()).Name); err != nil {
		labelError(w, err)
		return
	}
	writeJSON(w, 200, in)
}

func (a *ruleAPI) deleteMacro(w http.ResponseWriter, r *http.Request) {
	if err := a.en.DeleteMacro(r.Context(), r.PathValue("id"), principalFrom(r.Context()).Name); err != nil {
		labelError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// runMacro applies a macro to the conversation as the agent's change.
func (a *ruleAPI) runMacro(w http.ResponseWriter, r *http.Request) {
	c, ok := a.s.conversationFor(w, r)
	if !ok {
		return
	}
	ch, err := a.en.MacroChange(r.Context(), r.PathValue("macro"))
	if err != nil {
		labelError(w, err)
		return
	}
	c, err = a.s.o.Conversations.Update(r.Context(), c.ID, ch, principalFrom(r.Context()).Name)
	switch {
	case errors.Is(err, timeline.ErrInvalidChange):
		writeError(w, 422, "invalid", err.Error())
	case err != nil:
		labelError(w, err)
	default:
		writeJSON(w, 200, c)
	}
}
