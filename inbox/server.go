package inbox

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/switchboard-hub/switchboard/sla/calendar"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/consent"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/erasure"
	"github.com/switchboard-hub/switchboard/export"
	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/retention"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/search"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
	"github.com/switchboard-hub/switchboard/webhooks"
)

// Options wire the server to the rest of the hub.
type Options struct {
	Store       store.Store
	Directory   *directory.Directory
	Ingest      connectors.Sink
	Resolver    *identity.Resolver
	Outbound    *router.Outbound
	Credentials []Credential
	// APIKeys are tokens for systems, with scopes (apikeys.go).
	APIKeys []APIKey
	// Teams are every configured team (admins see every team's pilot conversations).
	Teams []string
	// Calendars are the business_hours calendars by name (rules'
	// business_hours condition, issue 24).
	Calendars map[string]*calendar.Calendar
	Gatherer  prometheus.Gatherer
	Logger    *slog.Logger
	Clock     store.Clock
	// MaxBodyBytes caps every request body (default 1 MiB).
	MaxBodyBytes int64
	Version      string
	// DefaultRegion reads phone numbers without a country code in lookups.
	DefaultRegion string
	// Blobs hold attachment content (erasure deletes it).
	Blobs connectors.Blobs
	// Testers check a channel's credentials (`channels test NAME`).
	Testers map[string]connectors.Tester
	// Plugins reports plugin state (`switchboard plugins list`); nil: none.
	Plugins PluginLister
	// PublicURL is the hub's external base URL: an https one makes session
	// cookies Secure behind a TLS-terminating proxy, and its origin is accepted.
	PublicURL string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed for the client address of sign-in lockout (ParseTrustedProxies).
	TrustedProxies []netip.Prefix
	// Conversations makes agents' changes to conversations; nil: a service
	// over Store (without routing: agents' changes need none).
	Conversations *timeline.Service
	// SessionSecret (http.session_secret) is mixed into the session signing
	// key, so the store's key alone cannot mint cookies. Empty: the store's
	// key signs (session.go).
	SessionSecret string

	// BodyTimeout bounds reading a request body (http.body_timeout);
	// UploadTimeout replaces it for multipart bodies (http.upload_timeout).
	// 0: no deadline beyond the http.Server's.
	BodyTimeout, UploadTimeout time.Duration
	// WriteTimeout is the http.Server's write timeout: a request given a
	// body deadline gets it again from then on (an upload allowed five
	// minutes still gets its answer).
	WriteTimeout time.Duration
	// StreamKeepAlive is how often the event stream sends a keep-alive
	// comment (default 15 s); MaxStreamsPerAgent bounds one principal's
	// concurrent streams on this server (default 8; 429 beyond).
	StreamKeepAlive    time.Duration
	MaxStreamsPerAgent int
	// MetricsToken is a bearer token that may read /metrics besides admins.
	MetricsToken string
	// MetricsElsewhere: /metrics is served on a listener of its own
	// (MetricsHandler), not here.
	MetricsElsewhere bool
	// ConsentHistory feeds consents.json of the export; nil: the store's
	// consent history.
	ConsentHistory export.ConsentHistory
	// Consent is the consent policy (consent.purposes); nil: the defaults.
	Consent *consent.Policy
	// Webhooks serves the outgoing-webhook admin routes (nil: none).
	Webhooks *webhooks.Service
	// Retention runs POST /api/v1/retention/run; nil: 503.
	Retention *retention.Sweeper
	// TeamLeads maps an agent to the teams they lead (teams[].leads): they
	// see those teams' service reports (reports.go).
	TeamLeads map[string][]string
	// Search answers GET /api/v1/search (search.go); nil: 503.
	Search *search.Searcher
}

// Server is the hub's HTTP handler.
type Server struct {
	o      Options
	mux    *http.ServeMux
	auth   *authenticator
	sess   *sessions
	routes []string // "METHOD /path" of every API route, for the OpenAPI check

	streams *streamLimit
	tickets *tickets
	limits  *rateLimits // self-service and unsubscribe (selfservice.go)

	draining atomic.Bool // set by Drain: /readyz answers 503
}

// Drain makes /readyz answer 503 from now on (the replica is shutting
// down); everything else is served as before until the listener closes.
func (s *Server) Drain() { s.draining.Store(true) }

// OpenAPI is the API's description, served at GET /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Routes lists "METHOD /path" for every route the server itself serves.
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// New builds the handler with every route of DESIGN.md this build serves.
func New(o Options) *Server {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.Clock == nil {
		o.Clock = store.SystemClock
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Conversations == nil {
		o.Conversations = timeline.NewService(o.Store, timeline.Options{Clock: o.Clock, Logger: o.Logger})
	}
	if o.Resolver == nil {
		o.Resolver = identity.NewResolver(o.Store, o.Clock, nil, o.Logger)
	}
	if o.MaxStreamsPerAgent <= 0 {
		o.MaxStreamsPerAgent = 8
	}
	// One copy of the credentials, for bearer tokens and sessions alike.
	auth := &authenticator{creds: slices.Clone(o.Credentials), keys: slices.Clone(o.APIKeys)}
	s := &Server{o: o, mux: http.NewServeMux(), auth: auth, sess: newSessions(o, auth), streams: newStreamLimit(o.MaxStreamsPerAgent)}
	s.tickets = newTickets(s.sess, o.Store, o.Clock)
	m := routeRecorder{s}
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	m.HandleFunc("GET /readyz", s.readyz)
	if o.Gatherer != nil && !o.MetricsElsewhere {
		m.Handle("GET /metrics", s.metricsAuth(MetricsHandler(o.Gatherer)))
	}
	m.HandleFunc("GET /api/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(OpenAPI)
	})
	m.HandleFunc("GET /api/v1/version", s.authed(false, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"version": o.Version})
	}))
	m.HandleFunc("POST /api/v1/channels/{name}/messages", s.authed(false, s.apiChannelMessage))
	m.HandleFunc("GET /api/v1/channels", s.authed(false, s.listChannels))
	m.HandleFunc("GET /api/v1/channels/{name}", s.authed(false, s.getChannel))
	m.HandleFunc("PUT /api/v1/channels/{name}/phase", s.authed(true, s.setPhase))
	m.HandleFunc("POST /api/v1/channels/{name}/phase", s.authed(true, s.setPhase))
	m.HandleFunc("POST /api/v1/channels/{name}/test", s.authed(true, s.testChannel))
	m.HandleFunc("GET /api/v1/plugins", s.authed(true, s.listPlugins))
	m.HandleFunc("GET /api/v1/customers", s.authed(false, s.findCustomer))
	m.HandleFunc("GET /api/v1/customers/{id}", s.authed(false, s.getCustomer))
	m.HandleFunc("GET /api/v1/customers/{id}/timeline", s.authed(false, s.customerTimeline))
	m.HandleFunc("GET /api/v1/customers/{id}/export", s.authed(true, s.exportCustomer))
	m.HandleFunc("DELETE /api/v1/customers/{id}", s.authed(true, s.eraseCustomer))
	m.HandleFunc("POST /api/v1/customers/{id}/merge", s.authed(false, s.mergeCustomer))
	m.HandleFunc("GET /api/v1/customers/{id}/merges", s.authed(false, s.customerMerges))
	m.HandleFunc("POST /api/v1/merges/{id}/undo", s.authed(false, s.unmerge))
	m.HandleFunc("GET /api/v1/suggestions", s.authed(false, s.suggestionQueue))
	m.HandleFunc("POST /api/v1/suggestions/{id}/accept", s.authed(false, s.decide(true)))
	m.HandleFunc("POST /api/v1/suggestions/{id}/reject", s.authed(false, s.decide(false)))
	m.HandleFunc("GET /api/v1/conversations", s.authed(false, s.listConversations))
	m.HandleFunc("GET /api/v1/conversations/{id}", s.authed(false, s.getConversation))
	m.HandleFunc("PATCH /api/v1/conversations/{id}", s.authed(false, s.patchConversation))
	m.HandleFunc("POST /api/v1/conversations/{id}/messages", s.authed(false, s.reply))
	m.HandleFunc("POST /api/v1/conversations/{id}/notes", s.authed(false, s.note))
	m.HandleFunc("GET /api/v1/events", s.streamAuth(s.events))
	m.HandleFunc("POST /api/v1/events/tickets", s.authed(false, s.issueTicket))
	m.HandleFunc("POST /api/v1/session", s.login)
	m.HandleFunc("GET /api/v1/session", s.authed(false, s.whoami))
	m.HandleFunc("DELETE /api/v1/session", s.authed(false, s.logout))
	m.HandleFunc("POST /api/v1/conversations/{id}/presence", s.authed(false, s.presence))
	m.HandleFunc("GET /api/v1/inbox", s.authed(false, s.inboxList))
	m.HandleFunc("GET /api/v1/entries/{id}/html", s.authed(false, s.entryHTML))
	m.HandleFunc("GET /api/v1/queues/{name}", s.authed(true, s.queueStats))
	m.HandleFunc("GET /api/v1/queues/{name}/dead", s.authed(true, s.deadLetters))
	m.HandleFunc("POST /api/v1/queues/{name}/dead/replay", s.authed(true, s.replayDead))
	m.HandleFunc("GET /api/v1/audit", s.authed(true, s.audit))
	m.HandleFunc("GET /api/v1/quarantine", s.authed(true, s.listQuarantine))
	m.HandleFunc("POST /api/v1/quarantine/{id}/release", s.authed(true, s.releaseQuarantine))
	m.HandleFunc("DELETE /api/v1/quarantine/{id}", s.authed(true, s.dropQuarantine))
	m.HandleFunc("POST /api/v1/customers/{id}/identities", s.authed(false, s.addIdentity))
	m.HandleFunc("DELETE /api/v1/customers/{id}/identities/{key}", s.authed(false, s.removeIdentity))
	m.HandleFunc("POST /api/v1/customers/{id}/identities/{key}/move", s.authed(false, s.moveIdentity))
	m.HandleFunc("POST /api/v1/suggestions/decisions", s.authed(true, s.decideMany))
	s.mountDataRights(m)
	s.adoptionRoutes(m)
	s.mountWebhooks(m)
	s.mountRights(m) // rights.go
	s.mountReports(m)
	s.mountAttachments(m)
	s.mountSearch(m) // search.go
	s.mountLabels(m) // labels.go
	s.mountRules(m)  // rules.go
	s.mountCanned(m) // canned.go
	s.mux.HandleFunc("/api/", s.apiFallback)
	s.mountUI()
	return s
}

// routeRecorder registers on the mux and remembers the pattern.
type routeRecorder struct{ s *Server }

func (r routeRecorder) HandleFunc(pattern string, h http.HandlerFunc) {
	r.s.routes = append(r.s.routes, pattern)
	r.s.mux.HandleFunc(pattern, h)
}

func (r routeRecorder) Handle(pattern string, h http.Handler) {
	r.s.routes = append(r.s.routes, pattern)
	r.s.mux.Handle(pattern, h)
}

// Handle mounts a channel's handler (webhooks, forms) on the server.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.setBodyDeadline(w, r)
	if !machineRoute(r.URL.Path) {
		s.mux.ServeHTTP(w, r) // the web UI keeps its pages
		return
	}
	j := &jsonErrors{ResponseWriter: w}
	s.mux.ServeHTTP(j, r)
	j.finish()
}

// ---- helpers --------------------------------------------------------------

type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: code, Message: msg})
}

// authed wraps h with authentication (a bearer token, or a session cookie
// plus CSRF token: session.go); admin routes refuse agents.
func (s *Server) authed(admin bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		r = withAuditKey(r) // audit.go
		if p := principalFrom(r.Context()); p.IsKey() {
			// A key reaches only the routes its scopes name (apikeys.go).
			if !keyAllows(p, r) {
				writeError(w, http.StatusForbidden, "forbidden", "this API key's scopes do not include this route")
				return
			}
		} else if admin && !p.IsAdmin() {
			writeError(w, http.StatusForbidden, "forbidden", "this route is for admins")
			return
		}
		h(w, r)
	}
}

// decodeBody reads a JSON body strictly: size-capped (413 before reading a
// larger body whole), unknown fields refused, exactly one JSON value.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeLimited(w, r, v, s.o.MaxBodyBytes, "")
}

// storeError maps store and router errors to HTTP answers.
func storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, store.ErrAuditFailed):
		auditUnavailable(w) // audit.go: the action was not done
	case errors.Is(err, store.ErrNotReplicated): // store.redis.min_replicas_ack
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "not_replicated", "not acknowledged: too few Redis replicas confirmed the write in time; try again")
	case errors.Is(err, router.ErrCannotReply):
		writeError(w, http.StatusUnprocessableEntity, codeCannotReply, err.Error())
	case errors.Is(err, router.ErrNoConsent):
		// A reply refused for consent (the customer sent STOP): 409
		// cannot_send, as before consent purposes; starting a conversation
		// without consent answers 422 consent_required (consents.go).
		writeError(w, http.StatusConflict, "cannot_send", err.Error())
	case errors.Is(err, consent.ErrRequired):
		writeError(w, http.StatusUnprocessableEntity, "consent_required", err.Error())
	case errors.Is(err, connectors.ErrInvalid), errors.Is(err, router.ErrEmptyMessage), errors.Is(err, directory.ErrBadPhase), errors.Is(err, timeline.ErrBadCursor):
		writeError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
	case errors.Is(err, connectors.ErrUnknownChannel), errors.Is(err, connectors.ErrChannelOff):
		writeError(w, http.StatusNotFound, "unknown_channel", err.Error())
	case errors.Is(err, router.ErrNotSending), errors.Is(err, router.ErrNoRecipient), errors.Is(err, connectors.ErrPermanent), errors.Is(err, router.ErrNoConsent):
		writeError(w, http.StatusConflict, "cannot_send", err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
	}
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeError(w, http.StatusServiceUnavailable, "draining", "this replica is shutting down")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.o.Store.Ping(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "store_unreachable", err.Error())
		return
	}
	io.WriteString(w, "ready\n")
}

// ---- the api channel ----------------------------------------------------

type apiMessage struct {
	ExternalID string `json:"external_id"`
	Sender     struct {
		Email string `json:"email"`
		Phone string `json:"phone"`
		Name  string `json:"name"`
	} `json:"sender"`
	Text       string `json:"text"`
	ThreadID   string `json:"thread_id"`
	OccurredAt string `json:"occurred_at"`
	Subject    string `json:"subject"`
}

// apiChannelMessage accepts a message pushed to an api channel. Its input
// is checked on the raw bytes and field by field (400, every problem named
// at once): ids (external_id, thread_id, the sender's email and phone) are
// at most connectors.MaxIDBytes of UTF-8 without control characters or
// U+FFFD, the sender's name and the subject one line; occurred_at is not
// before 2000, and a time in the future is taken as now (a clock far ahead
// would keep the message above everything the customer writes next).
// Whoever posts is recorded on the entry (posted_by) and in the audit log.
func (s *Server) apiChannelMessage(w http.ResponseWriter, r *http.Request) {
	// The plugin host's limits for the same fields.
	const (
		maxNameBytes    = 1 << 10
		maxSubjectBytes = 4 << 10
	)
	minOccurredAt := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	name := r.PathValue("name")
	ch, ok := s.o.Directory.Get(name)
	if !ok || ch.Type != "api" || ch.Phase == store.PhaseOff {
		// An off channel looks like no channel at all (DESIGN invariant 8).
		writeError(w, http.StatusNotFound, "unknown_channel", fmt.Sprintf("no api channel %q is accepting messages", name))
		return
	}
	if ok, why := mayPost(principalFrom(r.Context()), name, ch.Trusted); !ok {
		writeError(w, http.StatusForbidden, "forbidden", why)
		return
	}
	// The raw bytes first: encoding/json replaces invalid UTF-8 with
	// U+FFFD, so two external_ids differing only in invalid bytes became
	// one id, and the second message was dropped as a duplicate.
	var in apiMessage
	if !decodeUTF8(w, r, &in, s.o.MaxBodyBytes) {
		return
	}
	var bad, problems []string // 400: malformed values; 422: missing ones
	for _, f := range []struct {
		name, value string
		max         int
		id          bool
	}{
		{"external_id", in.ExternalID, connectors.MaxIDBytes, true},
		{"thread_id", in.ThreadID, connectors.MaxIDBytes, true},
		{"sender.email", in.Sender.Email, connectors.MaxIDBytes, true},
		{"sender.phone", in.Sender.Phone, connectors.MaxIDBytes, true},
		{"sender.name", in.Sender.Name, maxNameBytes, false},
		{"subject", in.Subject, maxSubjectBytes, false},
	} {
		if err := connectors.CheckLine(f.value, f.max); err != nil {
			bad = append(bad, f.name+" "+err.Error())
		} else if f.id && strings.ContainsRune(f.value, '\uFFFD') {
			// A lone surrogate escape ("\ud800") decodes to U+FFFD too:
			// ids that differ only there would be one id.
			bad = append(bad, f.name+" contains U+FFFD (a replacement character, or a lone surrogate escape), which would make different ids one")
		}
	}
	if strings.TrimSpace(in.ExternalID) == "" {
		problems = append(problems, "external_id is required")
	}
	if in.Sender.Email == "" && in.Sender.Phone == "" {
		problems = append(problems, "sender needs at least one identity (email or phone)")
	}
	// Whoever posts is recorded on the entry (posted_by: an agent's name or
	// "key:NAME") and in the audit log.
	by := principalFrom(r.Context()).Name
	now := s.o.Clock().UTC()
	msg := connectors.Message{Channel: name, ProviderID: in.ExternalID, ThreadKey: in.ThreadID, SenderName: in.Sender.Name,
		Text: in.Text, Subject: in.Subject, PostedBy: by, ReceivedAt: now}
	if in.OccurredAt != "" {
		t, err := time.Parse(time.RFC3339Nano, in.OccurredAt)
		switch {
		case err != nil:
			problems = append(problems, "occurred_at is not RFC 3339: "+err.Error())
		case t.Before(minOccurredAt):
			bad = append(bad, fmt.Sprintf("occurred_at %s is before %s", in.OccurredAt, minOccurredAt.Format(time.RFC3339)))
		case t.After(now):
			t = now
		}
		msg.OccurredAt = t
	}
	if in.Sender.Email != "" {
		msg.Identities = append(msg.Identities, connectors.Identity{Type: connectors.Email, Value: in.Sender.Email})
	}
	if in.Sender.Phone != "" {
		msg.Identities = append(msg.Identities, connectors.Identity{Type: connectors.Phone, Value: in.Sender.Phone})
	}
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, "bad_input", strings.Join(append(bad, problems...), "; "))
		return
	}
	if len(problems) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid", strings.Join(problems, "; "))
		return
	}
	// The audit record of the post is written while the message is
	// enqueued, not after it: on the embedded store the two writes then
	// share one commit instead of waiting for two in a row. It records the
	// post (a refused one too, with the reason). Its id is the message's,
	// so when it fails the post answers 503 and the system's retry (the
	// same external_id: one message) writes it once (audit.go).
	mid := connectors.MessageID(msg.Channel, msg.ProviderID)
	rec := store.AuditRecord{ID: store.AuditID("channel.message", mid), At: now, Actor: by, Action: "channel.message", Target: name, Detail: mid}
	audited := make(chan error, 1)
	go func() { audited <- s.o.Store.AppendAudit(context.WithoutCancel(r.Context()), rec) }()
	id, err := s.o.Ingest.Deliver(r.Context(), msg)
	if aerr := <-audited; aerr != nil && err == nil {
		s.o.Logger.Error("post not confirmed: its audit record could not be written", "channel", name, "actor", by, "err", aerr)
		auditUnavailable(w)
		return
	}
	if err != nil {
		refused := store.AuditRecord{At: now, Actor: by, Action: "channel.message.refused", Target: name, Detail: rec.Detail + ": " + err.Error()}
		if rerr := s.o.Store.AppendAudit(context.WithoutCancel(r.Context()), refused); rerr != nil {
			s.auditLost(refused, rerr)
		}
		if errors.Is(err, connectors.ErrInvalid) {
			writeError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
			return
		}
		storeError(w, err)
		return
	}
	writeAccepted(w, id)
}

// ---- channels -----------------------------------------------------------

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"channels": s.viewChannels(s.o.Directory.List())})
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request) {
	c, ok := s.o.Directory.Get(r.PathValue("name"))
	if !ok {
		writeError(w, 404, "not_found", "no such channel")
		return
	}
	writeJSON(w, 200, s.viewChannel(c))
}

func (s *Server) testChannel(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	c, ok := s.o.Directory.Get(name)
	if !ok {
		writeError(w, 404, "not_found", "no such channel")
		return
	}
	t := s.o.Testers[name]
	if t == nil {
		writeJSON(w, 200, map[string]any{"channel": name, "ok": true, "phase": c.Phase,
			"report": fmt.Sprintf("%s channel: no external credentials to test", c.Type)})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	report, err := t.Test(ctx)
	if err != nil {
		writeJSON(w, 200, map[string]any{"channel": name, "ok": false, "phase": c.Phase, "report": report, "error": err.Error()})
		return
	}
	writeJSON(w, 200, map[string]any{"channel": name, "ok": true, "phase": c.Phase, "report": report})
}

// ---- customers ----------------------------------------------------------

// CustomerView is the JSON shape of one customer as agents see it.
type CustomerView struct {
	ID         string                `json:"id"`
	Name       string                `json:"name"`
	AvatarURL  string                `json:"avatar_url,omitempty"`
	Identities []connectors.Identity `json:"identities"`
	// MergedFrom lists customers merged into this one.
	MergedFrom []string        `json:"merged_from,omitempty"`
	Consents   []store.Consent `json:"consents,omitempty"`
	Entries    int             `json:"entries"`
	CreatedAt  time.Time       `json:"created_at"`
	// ClaimedBy (identity lookups): other customers holding the identity
	// only claimed, besides this one that has it verified.
	ClaimedBy []string `json:"claimed_by,omitempty"`
	// Labels and Attributes (issue 24): of every merged record, the
	// root's attribute values winning.
	Labels     []string          `json:"labels,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

func (s *Server) view(ctx context.Context, id string) (timeline.View, CustomerView, error) {
	v, err := timeline.Load(ctx, s.o.Store, id)
	if err != nil {
		return v, CustomerView{}, err
	}
	out := CustomerView{ID: v.Root.ID, Name: v.Root.Name, CreatedAt: v.Root.CreatedAt, Identities: []connectors.Identity{}}
	for _, m := range v.Members {
		if out.Name == "" {
			out.Name = m.Name
		}
		if out.AvatarURL == "" {
			out.AvatarURL = m.AvatarURL
		}
		if m.ID != v.Root.ID {
			out.MergedFrom = append(out.MergedFrom, m.ID)
		}
		for _, id := range m.Identities {
			if !slices.ContainsFunc(out.Identities, func(x connectors.Identity) bool { return x.Key() == id.Key() }) {
				out.Identities = append(out.Identities, id)
			}
		}
		cs, err := s.o.Store.ListConsents(ctx, m.ID)
		if err != nil {
			return v, out, err
		}
		out.Consents = append(out.Consents, cs...)
		n, err := s.o.Store.CountEntries(ctx, m.ID)
		if err != nil {
			return v, out, err
		}
		out.Entries += n
	}
	out.Labels, out.Attributes = timeline.MergedLabels(v)
	return v, out, nil
}

func (s *Server) findCustomer(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("identity")
	if q == "" {
		s.listCustomers(w, r)
		return
	}
	id, err := connectors.ParseKey(q)
	if err == nil {
		id, err = normalizeOrRaw(id, s.o.DefaultRegion)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_identity", err.Error())
		return
	}
	ctx := r.Context()
	h, err := s.o.Resolver.Lookup(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, 404, "not_found", "no customer has identity "+id.Key())
			return
		}
		storeError(w, err)
		return
	}
	_, out, err := s.view(ctx, h.Customer)
	if err != nil {
		storeError(w, err)
		return
	}
	out.ClaimedBy = h.ClaimedBy
	writeJSON(w, 200, out)
}

func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request) {
	limit := intParam(r, "limit", 50, 500)
	cs, err := s.o.Store.ListCustomers(r.Context(), r.URL.Query().Get("after"), limit)
	if err != nil {
		storeError(w, err)
		return
	}
	out := make([]CustomerView, 0, len(cs))
	for _, c := range cs {
		if c.MergedInto != "" {
			continue
		}
		out = append(out, CustomerView{ID: c.ID, Name: c.Name, Identities: c.Identities, MergedFrom: c.Members, CreatedAt: c.CreatedAt})
	}
	next := ""
	if len(cs) == limit {
		next = cs[len(cs)-1].ID
	}
	writeJSON(w, 200, map[string]any{"customers": out, "next": next})
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) {
	_, out, err := s.view(r.Context(), r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, 200, out)
}

func intParam(r *http.Request, name string, def, max int) int {
	n, err := strconv.Atoi(r.URL.Query().Get(name))
	if err != nil || n <= 0 {
		return def
	}
	return min(n, max)
}

func (s *Server) customerTimeline(w http.ResponseWriter, r *http.Request) {
	v, err := timeline.Load(r.Context(), s.o.Store, r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	es, next, err := timeline.Page(r.Context(), s.o.Store, v, r.URL.Query().Get("before"), intParam(r, "limit", 50, 500))
	if err != nil {
		storeError(w, err)
		return
	}
	if es == nil {
		es = []store.Entry{}
	}
	writeJSON(w, 200, map[string]any{"customer_id": v.Root.ID, "entries": es, "next": next})
}

func (s *Server) exportCustomer(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("format") != "json" {
		s.exportZip(w, r) // export.go
		return
	}
	ctx := r.Context()
	v, out, err := s.view(ctx, r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	if !s.auditExport(w, r, v.Root.ID, "json") {
		return
	}
	var entries []store.Entry
	cursor := ""
	for {
		es, next, err := timeline.Page(ctx, s.o.Store, v, cursor, 500)
		if err != nil {
			storeError(w, err)
			return
		}
		entries = append(entries, es...)
		if next == "" {
			break
		}
		cursor = next
	}
	convs, err := timeline.Conversations(ctx, s.o.Store, v, 10000)
	if err != nil {
		storeError(w, err)
		return
	}
	var merges []store.Merge
	for _, id := range v.IDs() {
		ms, err := s.o.Store.ListMerges(ctx, id)
		if err != nil {
			storeError(w, err)
			return
		}
		merges = append(merges, ms...)
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "customer-"+v.Root.ID+".json"))
	writeJSON(w, 200, map[string]any{"customer": out, "conversations": convs, "entries": entries, "merges": merges, "exported_at": s.o.Clock().UTC()})
}

// eraseCustomer erases the person completely (admin; audited).
func (s *Server) eraseCustomer(w http.ResponseWriter, r *http.Request) {
	if !s.recordErased(w, r, r.PathValue("id")) {
		return
	}
	rep, err := erasure.Erase(r.Context(), s.o.Store, s.o.Blobs, r.PathValue("id"), principalFrom(r.Context()).Name, s.o.Clock, s.o.Conversations.Delete)
	if errors.Is(err, erasure.ErrHeld) {
		writeError(w, http.StatusConflict, "held", "the customer is under a legal hold; release it first")
		return
	}
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, 200, rep)
}

func (s *Server) mergeCustomer(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Other    string `json:"other"`
		Evidence string `json:"evidence"`
	}
	if !s.decodeBody(w, r, &in) {
		return
	}
	if in.Other == "" {
		writeError(w, 422, "invalid", "other (the customer id to merge with) is required")
		return
	}
	p := principalFrom(r.Context())
	ev := "manual merge by " + p.Name
	if in.Evidence != "" {
		ev += ": " + in.Evidence
	}
	root, m, err := s.o.Resolver.Merge(r.Context(), r.PathValue("id"), in.Other, p.Name, ev, "")
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"customer_id": root, "merge": m})
}

func (s *Server) customerMerges(w http.ResponseWriter, r *http.Request) {
	v, err := timeline.Load(r.Context(), s.o.Store, r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	out := []store.Merge{}
	seen := map[string]bool{}
	for _, id := range v.IDs() {
		ms, err := s.o.Store.ListMerges(r.Context(), id)
		if err != nil {
			storeError(w, err)
			return
		}
		for _, m := range ms {
			if !seen[m.ID] {
				seen[m.ID] = true
				out = append(out, m)
			}
		}
	}
	writeJSON(w, 200, map[string]any{"merges": out})
}

func (s *Server) unmerge(w http.ResponseWriter, r *http.Request) {
	m, err := s.o.Resolver.Unmerge(r.Context(), r.PathValue("id"), principalFrom(r.Context()).Name)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, 200, m)
}

func (s *Server) decide(accept bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m, err := s.o.Resolver.Decide(r.Context(), r.PathValue("id"), accept, principalFrom(r.Context()).Name)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, 200, m)
	}
}
