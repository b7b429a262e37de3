package inbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/switchboard-hub/switchboard/consent"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// mountDataRights mounts the consent, agent-initiated outbound and
// self-service routes (issue 15) and hands the consent policy and the
// unsubscribe links to the outbound path.
func (s *Server) mountDataRights(m routeRecorder) {
	if s.o.Consent == nil {
		s.o.Consent = consent.New(s.o.Store, nil, s.o.Clock)
	}
	s.o.Consent.SetRecorder(s.o.Conversations.RecordWebhook)
	if s.o.Outbound != nil {
		s.o.Outbound.SetConsent(s.o.Consent, s.UnsubscribeURL)
	}
	s.limits = newRateLimits(s.o.Clock)
	m.HandleFunc("GET /api/v1/customers/{id}/consents", s.authed(false, s.getConsents))
	m.HandleFunc("PUT /api/v1/customers/{id}/consents", s.authed(false, s.putConsent))
	m.HandleFunc("POST /api/v1/customers/{id}/messages", s.authed(false, s.startConversation))
	m.HandleFunc("POST /api/v1/customers/{id}/access-links", s.authed(false, s.createAccessLink))
	m.HandleFunc("DELETE /api/v1/access-links/{id}", s.authed(false, s.revokeAccessLink))
	m.HandleFunc("GET /api/v1/erasure-requests", s.authed(true, s.listErasureRequests))
	m.HandleFunc("POST /api/v1/erasure-requests/{id}/approve", s.authed(true, s.decideErasure(true)))
	m.HandleFunc("POST /api/v1/erasure-requests/{id}/decline", s.authed(true, s.decideErasure(false)))
	s.mux.HandleFunc("GET /unsubscribe/{token}", s.unsubscribePage)
	s.mux.HandleFunc("POST /unsubscribe/{token}", s.unsubscribe)
	s.mux.HandleFunc("GET /me/{token}", s.mePage)
	s.mux.HandleFunc("GET /me/{token}/export", s.meExport)
	s.mux.HandleFunc("POST /me/{token}/consents", s.meConsent)
	s.mux.HandleFunc("POST /me/{token}/erasure", s.meErasure)
}

// SetConsent replaces the consent policy (consent.purposes) of the server
// and of its outbound path; call it before serving.
func (s *Server) SetConsent(p *consent.Policy) {
	s.o.Consent = p
	p.SetRecorder(s.o.Conversations.RecordWebhook)
	if s.o.Outbound != nil {
		s.o.Outbound.SetConsent(p, s.UnsubscribeURL)
	}
}

// auditData appends an audit record; a failure is logged and counted (the
// change it records stands).
func (s *Server) auditData(ctx context.Context, actor, action, target, detail string) {
	rec := store.AuditRecord{At: s.o.Clock().UTC(), Actor: actor, Action: action, Target: target, Detail: detail}
	if err := s.o.Store.AppendAudit(ctx, rec); err != nil {
		s.auditLost(rec, err)
	}
}

// consentsView is the answer of GET /api/v1/customers/{id}/consents.
type consentsView struct {
	CustomerID string          `json:"customer_id"`
	Purposes   []purposeState  `json:"purposes"`
	Consents   []store.Consent `json:"consents"` // the current decisions
	History    []store.Consent `json:"history"`  // every decision, oldest first
}

// purposeState is a purpose and whether it holds on every channel without
// a decision of its own ("*").
type purposeState struct {
	consent.Purpose
	Granted bool `json:"granted"`
}

func (s *Server) consentsOf(ctx context.Context, id string) (consentsView, error) {
	v, err := timeline.Load(ctx, s.o.Store, id)
	if err != nil {
		return consentsView{}, err
	}
	cur, err := s.o.Consent.Current(ctx, v.Root.ID)
	if err != nil {
		return consentsView{}, err
	}
	hist, err := s.o.Consent.History(ctx, v.Root.ID)
	if err != nil {
		return consentsView{}, err
	}
	out := consentsView{CustomerID: v.Root.ID, Consents: cur, History: hist, Purposes: []purposeState{}}
	if out.Consents == nil {
		out.Consents = []store.Consent{}
	}
	if out.History == nil {
		out.History = []store.Consent{}
	}
	for _, p := range s.o.Consent.Purposes() {
		out.Purposes = append(out.Purposes, purposeState{Purpose: p, Granted: consent.Decide(p, cur, consent.AnyChannel) == nil})
	}
	return out, nil
}

func (s *Server) getConsents(w http.ResponseWriter, r *http.Request) {
	out, err := s.consentsOf(r.Context(), r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, 200, out)
}

func (s *Server) putConsent(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Channel string `json:"channel"`
		Purpose string `json:"purpose"`
		Granted *bool  `json:"granted"`
		Source  string `json:"source"`
		Text    string `json:"text"`
		Version string `json:"version"`
	}
	if !s.decodeBody(w, r, &in) {
		return
	}
	if in.Granted == nil || strings.TrimSpace(in.Source) == "" || in.Purpose == "" {
		writeError(w, 422, "invalid", "purpose, granted and source are required (channel \"*\" when omitted)")
		return
	}
	if in.Channel == "" {
		in.Channel = consent.AnyChannel
	}
	if in.Channel != consent.AnyChannel {
		if _, ok := s.o.Directory.Get(in.Channel); !ok {
			writeError(w, 422, "invalid", fmt.Sprintf("unknown channel %q (\"*\" for every channel)", in.Channel))
			return
		}
	}
	ctx := r.Context()
	v, err := timeline.Load(ctx, s.o.Store, r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	p := principalFrom(ctx)
	dec := store.Consent{CustomerID: v.Root.ID, Channel: in.Channel, Purpose: in.Purpose, Granted: *in.Granted,
		Source: strings.TrimSpace(in.Source), Text: in.Text, Version: in.Version, RecordedBy: p.Name}
	// Audited before it is recorded (audit.go: one rule).
	if !s.auditBefore(w, r, consentAction(dec.Granted), v.Root.ID, v.Root.ID, consentDetail(dec)) {
		return
	}
	c, err := s.o.Consent.Record(ctx, dec)
	if err != nil {
		storeError(w, err)
		return
	}
	out, err := s.consentsOf(ctx, v.Root.ID)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"consent": c, "customer_id": out.CustomerID, "purposes": out.Purposes, "consents": out.Consents, "history": out.History})
}

func consentAction(granted bool) string {
	if granted {
		return "consent.granted"
	}
	return "consent.withdrawn"
}

// consentDetail describes a decision for the audit: no consent text (it is
// the purpose's), no message content.
func consentDetail(c store.Consent) string {
	return fmt.Sprintf("purpose=%s channel=%s source=%s version=%s", c.Purpose, c.Channel, c.Source, c.Version)
}

// startConversation is agent-initiated outbound: a new conversation on the
// channel, refused with 422 consent_required when the purpose's basis is
// not met.
func (s *Server) startConversation(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Channel string `json:"channel"`
		Text    string `json:"text"`
		Purpose string `json:"purpose"`
		Subject string `json:"subject"`
	}
	if !s.decodeBody(w, r, &in) {
		return
	}
	if s.o.Outbound == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "this server does not send")
		return
	}
	ctx := r.Context()
	p := principalFrom(ctx)
	if !s.auditBefore(w, r, "outbound.started", r.PathValue("id"), r.PathValue("id"), fmt.Sprintf("purpose=%s channel=%s", in.Purpose, in.Channel)) {
		return // audit.go: not audited, not sent
	}
	e, conv, err := s.o.Outbound.Start(ctx, router.StartRequest{CustomerID: r.PathValue("id"), Channel: in.Channel, Text: in.Text,
		Subject: in.Subject, Purpose: in.Purpose, Agent: p.Name})
	if err != nil {
		if errors.Is(err, consent.ErrRequired) {
			s.auditData(ctx, p.Name, "outbound.refused", r.PathValue("id"), fmt.Sprintf("purpose=%s channel=%s reason=consent_required", in.Purpose, in.Channel))
			writeError(w, 422, "consent_required", err.Error())
			return
		}
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"entry": e, "conversation": conv})
}
