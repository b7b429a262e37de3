package inbox

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/switchboard-hub/switchboard/automation"
	"github.com/switchboard-hub/switchboard/canned"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/labels"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// ruleAPI serves automation rules (with dry run) and macros (issue 24).
type ruleAPI struct {
	s  *Server
	en *automation.Engine
}

func (s *Server) mountRules(m routeRecorder) {
	a := &ruleAPI{s: s, en: automation.New(s.o.Store, labels.New(s.o.Store), automation.Options{Teams: s.o.Teams,
		IsAgent: func(n string) bool { _, ok := s.auth.byName(n); return ok }, Clock: s.o.Clock, Calendars: s.o.Calendars,
		Canned: canned.New(s.o.Store, s.o.Clock).SharedText})}
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

// runMacro applies a macro to the conversation as the agent's change,
// then makes its replies, notes and webhook calls as the agent's. Every
// reply is checked first (the agent may send on the channel, its phase,
// recipient, consent, and no answer to a message marked no-reply: 409
// no_reply_wanted or cannot_send): a refused reply leaves everything
// undone. Their ids derive from the run (conversation, macro, agent and
// the Idempotency-Key, else the conversation's version): a retried request
// makes each once.
func (a *ruleAPI) runMacro(w http.ResponseWriter, r *http.Request) {
	c, ok := a.s.conversationFor(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	p := principalFrom(ctx)
	m, err := a.en.Macro(ctx, r.PathValue("macro"))
	if err != nil {
		labelError(w, err)
		return
	}
	key := store.AuditKey(ctx)
	if key == "" {
		key = "v" + strconv.FormatInt(c.Version, 10)
	}
	fxs, err := a.en.MacroEffects(ctx, m, c, p.Name, "macro/"+c.ID+"/"+m.ID+"/"+p.Name+"/"+key)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
		return
	}
	for _, fx := range fxs {
		if fx.Type != automation.ActSendReply {
			continue
		}
		if a.s.o.Outbound == nil {
			writeError(w, http.StatusConflict, "cannot_send", "macro "+m.ID+": this hub sends no replies")
			return
		}
		if _, err := a.s.o.Store.GetEntry(ctx, fx.ID); err == nil {
			continue // this run's reply went already (a retried request)
		}
		if ch, known := a.s.o.Directory.Get(c.Channel); known {
			if err := ch.MaySend(p.Teams, p.IsAdmin()); err != nil {
				writeError(w, http.StatusForbidden, "forbidden", err.Error())
				return
			}
		}
		err := a.s.o.Outbound.CheckReply(ctx, router.ReplyRequest{ConversationID: c.ID, Agent: p.Name, Text: fx.Text, LoopProtect: true})
		if errors.Is(err, router.ErrNoReplyWanted) {
			writeError(w, http.StatusConflict, "no_reply_wanted", "macro "+m.ID+": "+err.Error())
			return
		}
		if err != nil {
			storeError(w, err)
			return
		}
	}
	ch, err := a.en.MacroChange(ctx, m.ID)
	if err != nil {
		labelError(w, err)
		return
	}
	c, err = a.s.o.Conversations.Update(ctx, c.ID, ch, p.Name)
	switch {
	case errors.Is(err, timeline.ErrInvalidChange):
		writeError(w, 422, "invalid", err.Error())
		return
	case err != nil:
		labelError(w, err)
		return
	}
	for _, fx := range fxs {
		now := a.s.o.Clock().UTC()
		switch fx.Type {
		case automation.ActAddNote:
			n := store.Entry{ID: fx.ID, CustomerID: c.CustomerID, ConversationID: c.ID, Channel: c.Channel, Direction: connectors.Note, Kind: store.KindNote,
				Agent: p.Name, PostedBy: p.Name, Text: fx.Text, OccurredAt: now, CreatedAt: now, UpdatedAt: now}
			_, _, err = a.s.o.Conversations.Append(ctx, n, c)
		case automation.ActSendReply:
			_, err = a.s.o.Outbound.ReplyWith(ctx, router.ReplyRequest{ConversationID: c.ID, Agent: p.Name, Text: fx.Text, EntryID: fx.ID, LoopProtect: true})
		case automation.ActWebhook:
			err = a.s.o.Conversations.RecordWebhook(ctx, automation.WebhookEvent, fx.ID, c.CustomerID, map[string]any{"macro": m.ID, "agent": p.Name,
				"event": "macro.run", "value": fx.Value, "conversation_id": c.ID, "customer_id": c.CustomerID,
				"labels": c.Labels, "team": c.Team, "assignee": c.Assignee, "status": c.Status})
		}
		if err != nil {
			a.s.o.Logger.Error("macro ran, one of its actions not made", "macro", m.ID, "conversation", c.ID, "action", fx.Type, "err", err)
			storeError(w, fmt.Errorf("macro %s ran; its %s: %w", m.ID, fx.Type, err))
			return
		}
	}
	if len(fxs) > 0 {
		if cur, err := a.s.o.Store.GetConversation(ctx, c.ID); err == nil {
			c = cur // a reply moved it
		}
	}
	writeJSON(w, 200, c)
}
