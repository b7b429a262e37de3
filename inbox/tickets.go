package inbox

// Event stream tickets. EventSource cannot send headers, and a token in
// the URL ends up in proxy logs and browser history, so a client first
// asks for a ticket (POST /api/v1/events/tickets, with its session cookie
// and CSRF token or its bearer token) and opens the stream with
// GET /api/v1/events?ticket=…. A ticket is signed with the session signing
// key, names its principal (and the session it was issued under, so the
// stream still ends with that session), lasts StreamTicketTTL and is used
// once: its id is consumed in the store (UseOnce), so a second use is
// refused on every replica.

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// StreamTicketTTL is how long an event stream ticket can be used.
const StreamTicketTTL = 30 * time.Second

var errBadTicket = errors.New("the stream ticket is invalid, expired or used")

type tickets struct {
	ss    *sessions
	st    store.Store
	clock store.Clock
}

func newTickets(ss *sessions, st store.Store, clock store.Clock) *tickets {
	return &tickets{ss: ss, st: st, clock: clock}
}

// ticket is the signed content of a stream ticket.
type ticket struct {
	Name    string   `json:"n"`
	Expiry  int64    `json:"x"` // unix milliseconds
	ID      string   `json:"i"`
	Session *session `json:"s,omitempty"`
}

func (t *tickets) issue(ctx context.Context, p Principal, sess *session) (string, time.Time, error) {
	key, err := t.ss.signingKey(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	exp := t.clock().Add(StreamTicketTTL)
	payload, _ := json.Marshal(ticket{Name: p.Name, Expiry: exp.UnixMilli(), ID: randomHex(16), Session: sess})
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(mac(key, "stream-ticket", string(payload))), exp, nil
}

// redeem checks a ticket and consumes it (errBadTicket when it is not
// valid, has expired or was used).
func (t *tickets) redeem(ctx context.Context, value string) (ticket, error) {
	key, err := t.ss.signingKey(ctx)
	if err != nil {
		return ticket{}, err
	}
	enc := base64.RawURLEncoding
	p64, m64, ok := strings.Cut(value, ".")
	payload, err1 := enc.DecodeString(p64)
	sig, err2 := enc.DecodeString(m64)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(sig, mac(key, "stream-ticket", string(payload))) {
		return ticket{}, errBadTicket
	}
	var tk ticket
	if json.Unmarshal(payload, &tk) != nil || tk.Name == "" || tk.ID == "" {
		return ticket{}, errBadTicket
	}
	left := time.UnixMilli(tk.Expiry).Sub(t.clock())
	if left <= 0 {
		return ticket{}, errBadTicket
	}
	// The record outlives the ticket: after it lapses the expiry refuses.
	first, err := t.st.UseOnce(ctx, "stream-ticket:"+tk.ID, left+time.Minute)
	if err != nil {
		return ticket{}, err
	}
	if !first {
		return ticket{}, errBadTicket
	}
	return tk, nil
}

// issueTicket answers POST /api/v1/events/tickets.
func (s *Server) issueTicket(w http.ResponseWriter, r *http.Request) {
	var sp *session
	if sess, ok := sessionFrom(r.Context()); ok {
		sp = &sess
	}
	v, exp, err := s.tickets.issue(r.Context(), principalFrom(r.Context()), sp)
	if err != nil {
		storeError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]any{"ticket": v, "expires_at": exp.UTC()})
}

// streamAuth authenticates the event stream: a ticket (?ticket=), or a
// bearer token header or session cookie as on every route. A token in the
// URL (?access_token=, accepted by earlier versions) is refused.
func (s *Server) streamAuth(h http.HandlerFunc) http.HandlerFunc {
	authed := s.authed(false, h)
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Has("access_token") {
			writeError(w, http.StatusBadRequest, "token_in_url", "tokens in the URL are refused: POST /api/v1/events/tickets, then open the stream with ?ticket=")
			return
		}
		if !q.Has("ticket") {
			authed(w, r)
			return
		}
		tk, err := s.tickets.redeem(r.Context(), q.Get("ticket"))
		if err != nil {
			if !errors.Is(err, errBadTicket) {
				s.o.Logger.Warn("stream ticket check failed", "err", err)
				writeError(w, http.StatusServiceUnavailable, "unavailable", "stream tickets cannot be checked right now")
				return
			}
			writeError(w, http.StatusUnauthorized, "bad_ticket", errBadTicket.Error()+"; ask for a new one")
			return
		}
		p, ok := s.auth.byName(tk.Name)
		if !ok {
			writeError(w, http.StatusUnauthorized, "bad_ticket", errBadTicket.Error())
			return
		}
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		if tk.Session != nil {
			if err := s.sess.still(ctx, *tk.Session); err != nil {
				if !errors.Is(err, errBadSession) {
					writeError(w, http.StatusServiceUnavailable, "unavailable", "sessions cannot be checked right now")
					return
				}
				writeError(w, http.StatusUnauthorized, "unauthorized", "the session has ended; sign in again")
				return
			}
			ctx = context.WithValue(ctx, sessionKey{}, *tk.Session)
		}
		h(w, r.WithContext(ctx))
	}
}
