package inbox

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/consent"
	"github.com/switchboard-hub/switchboard/erasure"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// AccessLinkTTL is how long a self-service link works.
const AccessLinkTTL = 7 * 24 * time.Hour

// Rate limits of the customer-facing routes (per client address) and of
// access links (per customer).
const (
	meRequestsPerMinute    = 60
	accessLinksPerCustomer = 10 // per hour
)

// ---- signed tokens ----------------------------------------------------------

// dataKey signs self-service and unsubscribe tokens: derived from the
// session signing key (so http.session_secret protects it too) and
// separate from it by purpose.
func (s *Server) dataKey(ctx context.Context) ([]byte, error) {
	k, err := s.sess.signingKey(ctx)
	if err != nil {
		return nil, err
	}
	return mac(k, "data-rights"), nil
}

// signToken makes "payload.mac": the payload is the parts as a JSON array,
// both base64url; kind separates the token kinds.
func (s *Server) signToken(ctx context.Context, kind string, parts ...string) (string, error) {
	key, err := s.dataKey(ctx)
	if err != nil {
		return "", err
	}
	b, _ := json.Marshal(parts)
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + base64.RawURLEncoding.EncodeToString(mac(key, kind, p)[:18]), nil
}

// verifyToken returns the parts of a token of kind, or false for anything
// not signed by this hub.
func (s *Server) verifyToken(ctx context.Context, kind, tok string, n int) ([]string, bool) {
	p, sig, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > 1024 || strings.ContainsAny(tok, "\r\n") {
		return nil, false
	}
	key, err := s.dataKey(ctx)
	if err != nil {
		return nil, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, kind, p)[:18]) {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	var parts []string
	if err != nil || json.Unmarshal(b, &parts) != nil || len(parts) != n {
		return nil, false
	}
	return parts, true
}

// baseURL is the hub's external base URL: http.public_url, else the
// request's own host.
func (s *Server) baseURL(r *http.Request) string {
	if s.o.PublicURL != "" || r == nil {
		return strings.TrimRight(s.o.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// UnsubscribeURL is the one-click unsubscribe URL (RFC 8058) of a message
// to the customer on channel for purpose; "" when the hub has no
// http.public_url (a mail client needs an absolute URL).
func (s *Server) UnsubscribeURL(customerID, channel, purpose string) string {
	if s.o.PublicURL == "" {
		return ""
	}
	tok, err := s.signToken(context.Background(), "unsubscribe", customerID, channel, purpose)
	if err != nil {
		s.o.Logger.Warn("no unsubscribe link: the signing key is unavailable", "err", err)
		return ""
	}
	return s.baseURL(nil) + "/unsubscribe/" + tok
}

// ---- rate limits ----------------------------------------------------------

// rateLimits counts requests per key in fixed windows, in this process.
type rateLimits struct {
	mu    sync.Mutex
	clock store.Clock
	hits  map[string]*rateWindow
}

type rateWindow struct {
	start time.Time
	n     int
}

func newRateLimits(clock store.Clock) *rateLimits {
	return &rateLimits{clock: clock, hits: map[string]*rateWindow{}}
}

// allow counts one request for key and reports whether it is within n per window.
func (l *rateLimits) allow(key string, n int, window time.Duration) bool {
	now := l.clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.hits) > 10000 {
		for k, w := range l.hits {
			if now.Sub(w.start) >= window {
				delete(l.hits, k)
			}
		}
	}
	w := l.hits[key]
	if w == nil || now.Sub(w.start) >= window {
		w = &rateWindow{start: now}
		l.hits[key] = w
	}
	w.n++
	return w.n <= n
}

// ---- access links (agents) ------------------------------------------------

func (s *Server) createAccessLink(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SendVia string `json:"send_via"`
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
	if !s.limits.allow("links:"+v.Root.ID, accessLinksPerCustomer, time.Hour) {
		writeError(w, http.StatusTooManyRequests, "rate_limited", fmt.Sprintf("at most %d access links per customer per hour", accessLinksPerCustomer))
		return
	}
	p := principalFrom(ctx)
	now := s.o.Clock().UTC()
	l := store.AccessLink{ID: "al_" + randomHex(12), CustomerID: v.Root.ID, CreatedBy: p.Name, SendVia: in.SendVia, CreatedAt: now, ExpiresAt: now.Add(AccessLinkTTL)}
	// Audited before the link exists (audit.go: one rule).
	if !s.auditBefore(w, r, "access_link.created", v.Root.ID, v.Root.ID, fmt.Sprintf("link=%s expires_at=%s send_via=%s", l.ID, l.ExpiresAt.Format(time.RFC3339), in.SendVia)) {
		return
	}
	tok, err := s.signToken(ctx, "access", l.ID)
	if err == nil {
		err = s.o.Store.PutAccessLink(ctx, l)
	}
	if err != nil {
		storeError(w, err)
		return
	}
	url := s.baseURL(r) + "/me/" + tok
	if in.SendVia != "" {
		if s.o.Outbound == nil {
			writeError(w, http.StatusServiceUnavailable, "unavailable", "this server does not send")
			return
		}
		text := "Your link to see and manage what we hold about you (valid 7 days) / Linkki tietoihisi, joita meillä on sinusta (voimassa 7 päivää): " + url
		if _, _, err := s.o.Outbound.Start(ctx, router.StartRequest{CustomerID: v.Root.ID, Channel: in.SendVia, Text: text,
			Subject: "Your data / Tietosi", Purpose: consent.Service, Agent: p.Name}); err != nil {
			l.RevokedAt, l.RevokedBy = now, "hub: sending failed"
			_ = s.o.Store.PutAccessLink(ctx, l) // best effort: a link nobody received
			storeError(w, err)
			return
		}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": l.ID, "url": url, "expires_at": l.ExpiresAt})
}

func (s *Server) revokeAccessLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	l, err := s.o.Store.GetAccessLink(ctx, r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	p := principalFrom(ctx)
	if l.RevokedAt.IsZero() {
		l.RevokedAt, l.RevokedBy = s.o.Clock().UTC(), p.Name
		if !s.auditBefore(w, r, "access_link.revoked", l.CustomerID, l.CustomerID, "link="+l.ID) {
			return
		}
		if err := s.o.Store.PutAccessLink(ctx, l); err != nil {
			storeError(w, err)
			return
		}
	}
	writeJSON(w, 200, l)
}

// ---- erasure requests (admins) ----------------------------------------------

func (s *Server) listErasureRequests(w http.ResponseWriter, r *http.Request) {
	rs, err := s.o.Store.ListErasureRequests(r.Context(), r.URL.Query().Get("status"), intParam(r, "limit", 100, 1000))
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"requests": rs})
}

// errDecided: the request was approved or declined already.
var errDecided = errors.New("the request is decided already")

func (s *Server) decideErasure(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Reason string `json:"reason"`
		}
		if r.ContentLength != 0 && !s.decodeBody(w, r, &in) {
			return
		}
		ctx := r.Context()
		p := principalFrom(ctx)
		req, err := s.o.Store.GetErasureRequest(ctx, r.PathValue("id"))
		if err != nil {
			storeError(w, err)
			return
		}
		if req.Status != store.ErasureRequested {
			writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("%v: %s", errDecided, req.Status))
			return
		}
		status, action := store.ErasureDeclined, "erasure_request.declined"
		if approve {
			action = "erasure_request.approved"
		}
		// Audited before the decision (audit.go: one rule), once per request.
		if !s.auditRecord(w, r, store.AuditRecord{ID: store.AuditID(action, req.ID), At: s.o.Clock().UTC(), Actor: p.Name, Action: action,
			Target: req.CustomerID, Customer: req.CustomerID, Detail: "request=" + req.ID}) {
			return
		}
		var rep *erasure.Report
		if approve {
			status = store.ErasureApproved
			er, err := erasure.Erase(ctx, s.o.Store, s.o.Blobs, req.CustomerID, p.Name, s.o.Clock, s.o.Conversations.Delete)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				storeError(w, err)
				return
			}
			rep = &er
		}
		req, err = s.o.Store.UpdateErasureRequest(ctx, req.ID, func(x *store.ErasureRequest) error {
			if x.Status != store.ErasureRequested {
				return errDecided
			}
			x.Status, x.DecidedBy, x.DecidedAt, x.Reason = status, p.Name, s.o.Clock().UTC(), in.Reason
			return nil
		})
		if errors.Is(err, errDecided) {
			writeError(w, http.StatusConflict, "conflict", err.Error())
			return
		}
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, 200, map[string]any{"request": req, "erasure": rep})
	}
}

// ---- the customer's side: /me and /unsubscribe ------------------------------

// notFound is the one answer to every bad token: tampered, expired,
// revoked, or of an erased customer alike.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	t := pageText(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintf(w, "<!doctype html><html lang=%q><meta charset=utf-8><title>%s</title><h1>%s</h1><p>%s</p></html>\n", t.Lang, t.NotFound, t.NotFound, t.NotFoundHelp)
}

// customerLimited applies the per-address limit of customer-facing routes.
func (s *Server) customerLimited(w http.ResponseWriter, r *http.Request) bool {
	if s.limits.allow("me:"+s.sess.clientIP(r), meRequestsPerMinute, time.Minute) {
		return false
	}
	w.Header().Set("Retry-After", "60")
	http.Error(w, "Too many requests. Try again in a minute.", http.StatusTooManyRequests)
	return true
}

// meLink checks the access token of a /me request and loads its customer;
// false when it answered (404 or 429).
func (s *Server) meLink(w http.ResponseWriter, r *http.Request) (store.AccessLink, timeline.View, bool) {
	if s.customerLimited(w, r) {
		return store.AccessLink{}, timeline.View{}, false
	}
	ctx := r.Context()
	parts, ok := s.verifyToken(ctx, "access", r.PathValue("token"), 1)
	if !ok {
		s.notFound(w, r)
		return store.AccessLink{}, timeline.View{}, false
	}
	l, err := s.o.Store.GetAccessLink(ctx, parts[0])
	if err != nil || !l.RevokedAt.IsZero() || !s.o.Clock().Before(l.ExpiresAt) {
		s.notFound(w, r)
		return store.AccessLink{}, timeline.View{}, false
	}
	v, err := timeline.Load(ctx, s.o.Store, l.CustomerID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.notFound(w, r)
		} else {
			http.Error(w, "Internal error", http.StatusInternalServerError)
		}
		return store.AccessLink{}, timeline.View{}, false
	}
	return l, v, true
}

// meCSRF is the form token of a link's page: only a page served for the
// link carries it (a cross-site form cannot read it).
func (s *Server) meCSRF(ctx context.Context, linkID string) string {
	key, err := s.dataKey(ctx)
	if err != nil {
		return ""
	}
	return hex.EncodeToString(mac(key, "me-csrf", linkID)[:16])
}

func (s *Server) meFormOK(w http.ResponseWriter, r *http.Request, l store.AccessLink) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad form", http.StatusBadRequest)
		return false
	}
	want := s.meCSRF(r.Context(), l.ID)
	if want == "" || !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(want)) {
		http.Error(w, "The form expired: go back, reload the page and try again.", http.StatusForbidden)
		return false
	}
	return true
}

func (s *Server) mePage(w http.ResponseWriter, r *http.Request) {
	l, v, ok := s.meLink(w, r)
	if !ok {
		return
	}
	page, err := s.mePageData(r, l, v)
	if err != nil {
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	s.auditData(r.Context(), "customer", "self_service.viewed", v.Root.ID, "link="+l.ID)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("Content-Language", page.T.Lang)
	if err := mePageTemplate.Execute(w, page); err != nil {
		s.o.Logger.Warn("self-service page", "err", err)
	}
}

func (s *Server) meExport(w http.ResponseWriter, r *http.Request) {
	l, v, ok := s.meLink(w, r)
	if !ok {
		return
	}
	s.auditData(r.Context(), "customer", "customer.exported", v.Root.ID, "self-service link="+l.ID)
	r2 := r.Clone(r.Context())
	r2.SetPathValue("id", v.Root.ID)
	s.exportCustomer(w, r2)
}

func (s *Server) meConsent(w http.ResponseWriter, r *http.Request) {
	l, v, ok := s.meLink(w, r)
	if !ok || !s.meFormOK(w, r, l) {
		return
	}
	ctx := r.Context()
	pur, found := s.o.Consent.Purpose(r.PostForm.Get("purpose"))
	granted, err := strconv.ParseBool(r.PostForm.Get("granted"))
	if !found || pur.Basis == consent.None || err != nil {
		http.Error(w, "Bad form", http.StatusBadRequest)
		return
	}
	channels := []string{consent.AnyChannel}
	if !granted {
		// A withdrawal holds everywhere: a channel's own yes would
		// outrank the general no, so each is withdrawn too.
		cur, err := s.o.Consent.Current(ctx, v.Root.ID)
		if err != nil {
			http.Error(w, "Internal error", http.StatusInternalServerError)
			return
		}
		for _, c := range cur {
			if c.Purpose == pur.Name && c.Channel != consent.AnyChannel && c.Granted {
				channels = append(channels, c.Channel)
			}
		}
	}
	for _, ch := range channels {
		c, err := s.o.Consent.Record(ctx, store.Consent{CustomerID: v.Root.ID, Channel: ch, Purpose: pur.Name, Granted: granted,
			Source: consent.SourceSelfService, Text: pur.Text, Version: pur.Version, RecordedBy: "customer"})
		if err != nil {
			http.Error(w, "Internal error", http.StatusInternalServerError)
			return
		}
		s.auditData(ctx, "customer", consentAction(granted), v.Root.ID, consentDetail(c)+" link="+l.ID)
	}
	http.Redirect(w, r, "/me/"+r.PathValue("token")+"?done=consent#consents", http.StatusSeeOther)
}

func (s *Server) meErasure(w http.ResponseWriter, r *http.Request) {
	l, v, ok := s.meLink(w, r)
	if !ok || !s.meFormOK(w, r, l) {
		return
	}
	ctx := r.Context()
	if pending, err := s.pendingErasure(ctx, v.Root.ID); err != nil {
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	} else if pending == nil {
		req := store.ErasureRequest{ID: "er_" + randomHex(12), CustomerID: v.Root.ID, Status: store.ErasureRequested, RequestedAt: s.o.Clock().UTC(), Via: l.ID}
		if err := s.o.Store.PutErasureRequest(ctx, req); err != nil {
			http.Error(w, "Internal error", http.StatusInternalServerError)
			return
		}
		s.auditData(ctx, "customer", "erasure_request.created", v.Root.ID, "request="+req.ID+" link="+l.ID)
	}
	http.Redirect(w, r, "/me/"+r.PathValue("token")+"?done=erasure#erasure", http.StatusSeeOther)
}

// pendingErasure is the customer's undecided erasure request, if any.
func (s *Server) pendingErasure(ctx context.Context, customerID string) (*store.ErasureRequest, error) {
	rs, err := s.o.Store.ListErasureRequests(ctx, store.ErasureRequested, 10000)
	if err != nil {
		return nil, err
	}
	for _, x := range rs {
		if x.CustomerID == customerID {
			return &x, nil
		}
	}
	return nil, nil
}

// unsubscribeTarget checks an unsubscribe token: (customer, channel, purpose).
func (s *Server) unsubscribeTarget(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	if s.customerLimited(w, r) {
		return nil, false
	}
	parts, ok := s.verifyToken(r.Context(), "unsubscribe", r.PathValue("token"), 3)
	if !ok {
		s.notFound(w, r)
		return nil, false
	}
	if _, err := s.o.Store.GetCustomer(r.Context(), parts[0]); err != nil {
		s.notFound(w, r)
		return nil, false
	}
	return parts, true
}

// unsubscribePage answers a GET of the link (a person who clicked it, or
// a link scanner): it changes nothing and offers the button (RFC 8058: only
// the POST unsubscribes).
func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.unsubscribeTarget(w, r); !ok {
		return
	}
	t := pageText(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := unsubscribeTemplate.Execute(w, map[string]any{"T": t, "Done": false}); err != nil {
		s.o.Logger.Warn("unsubscribe page", "err", err)
	}
}

// unsubscribe is the one-click unsubscribe (RFC 8058: the mail client
// POSTs "List-Unsubscribe=One-Click"; the page's button posts the same).
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	parts, ok := s.unsubscribeTarget(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	c, err := s.o.Consent.Record(ctx, store.Consent{CustomerID: parts[0], Channel: parts[1], Purpose: parts[2], Granted: false,
		Source: consent.SourceUnsubscribe, RecordedBy: "customer"})
	if err != nil {
		s.o.Logger.Warn("unsubscribe not recorded", "err", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	s.auditData(ctx, "customer", consentAction(false), parts[0], consentDetail(c))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := unsubscribeTemplate.Execute(w, map[string]any{"T": pageText(r), "Done": true}); err != nil {
		s.o.Logger.Warn("unsubscribe page", "err", err)
	}
}
