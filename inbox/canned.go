package inbox

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/switchboard-hub/switchboard/canned"
	"github.com/switchboard-hub/switchboard/store"
)

// cannedAPI serves canned replies (issue 19): shared ones (admins write
// them) and personal ones (their owner alone sees and writes them). Every
// write is audited first (canned.create, canned.update, canned.delete;
// the record names the reply, never its text).
type cannedAPI struct {
	s  *Server
	cr *canned.Store
}

func (s *Server) mountCanned(m routeRecorder) {
	a := &cannedAPI{s: s, cr: canned.New(s.o.Store, s.o.Clock)}
	m.HandleFunc("GET /api/v1/canned_replies", s.authed(false, a.list))
	m.HandleFunc("POST /api/v1/canned_replies", s.authed(false, a.create))
	m.HandleFunc("GET /api/v1/canned_replies/{id}", s.authed(false, a.get))
	m.HandleFunc("PATCH /api/v1/canned_replies/{id}", s.authed(false, a.patch))
	m.HandleFunc("DELETE /api/v1/canned_replies/{id}", s.authed(false, a.delete))
}

func cannedError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, canned.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
	case errors.Is(err, canned.ErrDuplicate):
		writeError(w, http.StatusConflict, "duplicate", err.Error())
	default:
		storeError(w, err)
	}
}

// cannedView is a reply as the API shows it: Rendered is its text with the
// placeholders filled for ?conversation_id= (the composer inserts it).
type cannedView struct {
	canned.Reply
	Rendered *string `json:"rendered,omitempty"`
}

// list answers the replies the caller sees; with ?conversation_id= each
// carries its text rendered for that conversation.
func (a *cannedAPI) list(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	rs, err := a.cr.List(r.Context(), p.Name)
	if err != nil {
		storeError(w, err)
		return
	}
	var vars canned.Vars
	if id := r.URL.Query().Get("conversation_id"); id != "" {
		c, err := a.s.o.Store.GetConversation(r.Context(), id)
		if err == nil && !a.s.visible(p, c) {
			err = store.ErrNotFound
		}
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				writeError(w, http.StatusNotFound, "not_found", "conversation_id: no such conversation")
				return
			}
			storeError(w, err)
			return
		}
		vars = canned.Vars{canned.AgentName: p.Name, canned.ConversationID: c.ID}
		if cu, err := a.s.o.Store.GetCustomer(r.Context(), c.CustomerID); err == nil {
			vars[canned.CustomerName] = cu.Name
		} else if !errors.Is(err, store.ErrNotFound) {
			storeError(w, err)
			return
		}
	}
	out := make([]cannedView, len(rs))
	for i, x := range rs {
		out[i] = cannedView{Reply: x}
		if vars != nil {
			text := canned.Render(x.Text, vars)
			out[i].Rendered = &text
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"canned_replies": out, "placeholders": canned.Placeholders})
}

type cannedInput struct {
	Shortcut *string `json:"shortcut"`
	Title    *string `json:"title"`
	Text     *string `json:"text"`
	Shared   *bool   `json:"shared"`
}

func (a *cannedAPI) create(w http.ResponseWriter, r *http.Request) {
	var in cannedInput
	if !a.s.decodeBody(w, r, &in) {
		return
	}
	p := principalFrom(r.Context())
	x := canned.Reply{Owner: p.Name}
	for _, f := range []struct {
		dst *string
		src *string
	}{{&x.Shortcut, in.Shortcut}, {&x.Title, in.Title}, {&x.Text, in.Text}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if in.Shared != nil && *in.Shared {
		if !p.IsAdmin() {
			writeError(w, http.StatusForbidden, "forbidden", "only admins write shared canned replies; leave out \"shared\" for a personal one")
			return
		}
		x.Shared, x.Owner = true, ""
	}
	if err := x.Validate(); err != nil {
		cannedError(w, err)
		return
	}
	if !a.s.auditBefore(w, r, "canned.create", x.Shortcut, "", fmt.Sprintf("shared=%t", x.Shared)) {
		return
	}
	x, err := a.cr.Create(r.Context(), x, p.Name)
	if err != nil {
		cannedError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, x)
}

// reply loads {id} for p: 404 when there is none, 403 when it is another
// agent's personal one, or (write) a shared one and p no admin.
func (a *cannedAPI) reply(w http.ResponseWriter, r *http.Request, write bool) (canned.Reply, bool) {
	x, err := a.cr.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		cannedError(w, err)
		return x, false
	}
	p := principalFrom(r.Context())
	switch {
	case !x.Visible(p.Name):
		writeError(w, http.StatusForbidden, "forbidden", "this canned reply is another agent's personal one")
		return x, false
	case write && !x.MayWrite(p.Name, p.IsAdmin()):
		writeError(w, http.StatusForbidden, "forbidden", "only admins change shared canned replies")
		return x, false
	}
	return x, true
}

func (a *cannedAPI) get(w http.ResponseWriter, r *http.Request) {
	if x, ok := a.reply(w, r, false); ok {
		writeJSON(w, http.StatusOK, x)
	}
}

func (a *cannedAPI) patch(w http.ResponseWriter, r *http.Request) {
	x, ok := a.reply(w, r, true)
	if !ok {
		return
	}
	var in cannedInput
	if !a.s.decodeBody(w, r, &in) {
		return
	}
	if in.Shared != nil && *in.Shared != x.Shared {
		writeError(w, http.StatusBadRequest, "invalid", "\"shared\" cannot be changed; create a new reply instead")
		return
	}
	change := func(y *canned.Reply) {
		if in.Shortcut != nil {
			y.Shortcut = *in.Shortcut
		}
		if in.Title != nil {
			y.Title = *in.Title
		}
		if in.Text != nil {
			y.Text = *in.Text
		}
	}
	y := x
	change(&y)
	if err := y.Validate(); err != nil {
		cannedError(w, err)
		return
	}
	if !a.s.auditBefore(w, r, "canned.update", x.ID, "", fmt.Sprintf("shared=%t shortcut=%s", x.Shared, y.Shortcut)) {
		return
	}
	y, err := a.cr.Update(r.Context(), x.ID, principalFrom(r.Context()).Name, change)
	if err != nil {
		cannedError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, y)
}

func (a *cannedAPI) delete(w http.ResponseWriter, r *http.Request) {
	x, ok := a.reply(w, r, true)
	if !ok {
		return
	}
	if !a.s.auditBefore(w, r, "canned.delete", x.ID, "", fmt.Sprintf("shared=%t shortcut=%s", x.Shared, x.Shortcut)) {
		return
	}
	if err := a.cr.Delete(r.Context(), x.ID); err != nil {
		cannedError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
