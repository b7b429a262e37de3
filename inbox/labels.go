package inbox

import (
	"errors"
	"net/http"

	"github.com/switchboard-hub/switchboard/labels"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// labelAPI serves the label list, attribute definitions and the labels and
// attributes of conversations and customers (issue 24).
type labelAPI struct {
	s   *Server
	cat *labels.Catalog
}

func (s *Server) mountLabels(m routeRecorder) {
	a := &labelAPI{s: s, cat: labels.New(s.o.Store)}
	m.HandleFunc("GET /api/v1/labels", s.authed(false, a.listLabels))
	m.HandleFunc("POST /api/v1/labels", s.authed(true, a.putLabel))
	m.HandleFunc("DELETE /api/v1/labels/{name}", s.authed(true, a.deleteLabel))
	m.HandleFunc("GET /api/v1/attributes", s.authed(false, a.listAttributes))
	m.HandleFunc("POST /api/v1/attributes", s.authed(true, a.putAttribute))
	m.HandleFunc("DELETE /api/v1/attributes/{on}/{name}", s.authed(true, a.deleteAttribute))
	m.HandleFunc("POST /api/v1/conversations/{id}/labels", s.authed(false, a.conversationLabels))
	m.HandleFunc("PATCH /api/v1/conversations/{id}/attributes", s.authed(false, a.conversationAttributes))
	m.HandleFunc("POST /api/v1/customers/{id}/labels", s.authed(false, a.customerLabels))
	m.HandleFunc("PATCH /api/v1/customers/{id}/attributes", s.authed(false, a.customerAttributes))
}

// labelError answers validation errors 400 invalid, the rest as storeError.
func labelError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, labels.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
	case errors.Is(err, timeline.ErrAudit):
		auditUnavailable(w)
	default:
		storeError(w, err)
	}
}

func (a *labelAPI) listLabels(w http.ResponseWriter, r *http.Request) {
	ls, err := a.cat.Labels(r.Context())
	if err != nil {
		storeError(w, err)
		return
	}
	if ls == nil {
		ls = []labels.Label{}
	}
	writeJSON(w, 200, map[string]any{"labels": ls})
}

func (a *labelAPI) putLabel(w http.ResponseWriter, r *http.Request) {
	var l labels.Label
	if !a.s.decodeBody(w, r, &l) {
		return
	}
	if err := a.cat.PutLabel(r.Context(), l, principalFrom(r.Context()).Name); err != nil {
		labelError(w, err)
		return
	}
	writeJSON(w, 200, l)
}

func (a *labelAPI) deleteLabel(w http.ResponseWriter, r *http.Request) {
	if err := a.cat.DeleteLabel(r.Context(), r.PathValue("name"), principalFrom(r.Context()).Name); err != nil {
		labelError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *labelAPI) listAttributes(w http.ResponseWriter, r *http.Request) {
	as, err := a.cat.Attributes(r.Context())
	if err != nil {
		storeError(w, err)
		return
	}
	if as == nil {
		as = []labels.Attribute{}
	}
	writeJSON(w, 200, map[string]any{"attributes": as})
}

func (a *labelAPI) putAttribute(w http.ResponseWriter, r *http.Request) {
	var at labels.Attribute
	if !a.s.decodeBody(w, r, &at) {
		return
	}
	if err := a.cat.PutAttribute(r.Context(), at, principalFrom(r.Context()).Name); err != nil {
		labelError(w, err)
		return
	}
	writeJSON(w, 200, at)
}

func (a *labelAPI) deleteAttribute(w http.ResponseWriter, r *http.Request) {
	if err := a.cat.DeleteAttribute(r.Context(), r.PathValue("on"), r.PathValue("name"), principalFrom(r.Context()).Name); err != nil {
		labelError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type labelChange struct {
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
	// Customer also puts the change on the conversation's customer.
	Customer bool `json:"customer"`
}

func (a *labelAPI) conversationLabels(w http.ResponseWriter, r *http.Request) {
	c, ok := a.s.conversationFor(w, r)
	if !ok {
		return
	}
	var in labelChange
	if !a.s.decodeBody(w, r, &in) {
		return
	}
	if err := a.cat.CheckLabels(r.Context(), in.Add); err != nil {
		labelError(w, err)
		return
	}
	by := principalFrom(r.Context()).Name
	c, err := a.s.o.Conversations.Update(r.Context(), c.ID, timeline.Change{AddLabels: in.Add, RemoveLabels: in.Remove}, by)
	if err != nil {
		labelError(w, err)
		return
	}
	if in.Customer {
		if _, err := a.cat.UpdateCustomer(r.Context(), c.CustomerID, in.Add, in.Remove, nil, by); err != nil {
			labelError(w, err)
			return
		}
	}
	writeJSON(w, 200, c)
}

func (a *labelAPI) conversationAttributes(w http.ResponseWriter, r *http.Request) {
	c, ok := a.s.conversationFor(w, r)
	if !ok {
		return
	}
	var in map[string]string
	if !a.s.decodeBody(w, r, &in) {
		return
	}
	set, err := a.cat.CheckAttributes(r.Context(), labels.OnConversation, in)
	if err != nil {
		labelError(w, err)
		return
	}
	c, err = a.s.o.Conversations.Update(r.Context(), c.ID, timeline.Change{Attributes: set}, principalFrom(r.Context()).Name)
	if err != nil {
		labelError(w, err)
		return
	}
	writeJSON(w, 200, c)
}

func (a *labelAPI) customerLabels(w http.ResponseWriter, r *http.Request) {
	var in labelChange
	if !a.s.decodeBody(w, r, &in) {
		return
	}
	c, err := a.cat.UpdateCustomer(r.Context(), r.PathValue("id"), in.Add, in.Remove, nil, principalFrom(r.Context()).Name)
	if err != nil {
		labelError(w, err)
		return
	}
	writeJSON(w, 200, customerLabelsView(c))
}

func (a *labelAPI) customerAttributes(w http.ResponseWriter, r *http.Request) {
	var in map[string]string
	if !a.s.decodeBody(w, r, &in) {
		return
	}
	c, err := a.cat.UpdateCustomer(r.Context(), r.PathValue("id"), nil, nil, in, principalFrom(r.Context()).Name)
	if err != nil {
		labelError(w, err)
		return
	}
	writeJSON(w, 200, customerLabelsView(c))
}

func customerLabelsView(c store.Customer) map[string]any {
	ls := c.Labels
	if ls == nil {
		ls = []string{}
	}
	as := c.Attributes
	if as == nil {
		as = map[string]string{}
	}
	return map[string]any{"id": c.ID, "labels": ls, "attributes": as}
}
