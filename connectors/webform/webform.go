package webform

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
)

// Counter names (env.Counters) are "webform:CHANNEL:KIND" with these kinds.
const (
	CountReceived      = "received"       // submissions delivered to the hub
	CountSpam          = "spam"           // honeypot or bot-speed submissions quarantined
	CountUnknownFields = "unknown_fields" // field values dropped because no such field is configured
	CountRateLimited   = "rate_limited"   // submissions refused with 429
	CountRefused       = "refused"        // other refusals (origin, token, size, invalid fields)
)

// Quarantine reasons.
const (
	ReasonHoneypot = "honeypot"
	ReasonTooFast  = "too-fast"
)

// Channel is one web form channel. It serves the routes below and has no
// Sender: an answer to a form goes out through the customer's email or
// phone channel.
type Channel struct {
	name    string
	s       Settings
	tok     tokens
	env     connectors.Env
	spam    connectors.Quarantiner // env.Sink's quarantine
	counts  connectors.Counters
	log     *slog.Logger
	clock   func() time.Time
	perIP   *limiter
	perChan *limiter
	embed   []byte
	self    string // origin of env.PublicURL, always allowed
}

var _ connectors.Router = (*Channel)(nil)

// New builds the channel from the settings LoadSettings gives (the same
// rules `switchboard config check` applies, every problem reported at
// once). Errors name the key at fault and never hold the secret.
// env.Sink must be able to quarantine (connectors.Quarantiner: suspected
// spam goes there), and env.Counters keeps the channel's statistics.
func New(cfg config.Channel, env connectors.Env) (*Channel, error) {
	s, err := LoadSettings(cfg)
	if err != nil {
		return nil, err
	}
	spam, ok := env.Sink.(connectors.Quarantiner)
	if !ok || env.Counters == nil {
		return nil, errors.New("webform: a sink that can quarantine and counters are required")
	}
	name := cfg.Name
	if env.Name != "" {
		name = env.Name
	}
	c := &Channel{name: name, s: s, env: env, spam: spam, counts: env.Counters, log: env.Logger, clock: env.Clock,
		tok:     tokens{channel: name, secret: []byte(s.Secret), ttl: s.TokenTTL.D()},
		perIP:   newLimiter(s.RateLimit.PerIP, s.RateLimit.Window.D()),
		perChan: newLimiter(s.RateLimit.PerChannel, s.RateLimit.Window.D())}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.clock == nil {
		c.clock = time.Now
	}
	if u, err := url.Parse(env.PublicURL); err == nil && u.Host != "" {
		c.self = u.Scheme + "://" + u.Host
	}
	c.embed = c.buildEmbed()
	return c, nil
}

// Settings returns the channel's settings after defaults (without the secret).
func (c *Channel) Settings() Settings {
	s := c.s
	s.Secret = ""
	return s
}

// Routes implements connectors.Router.
func (c *Channel) Routes() []connectors.Route {
	return []connectors.Route{
		{Pattern: "POST /forms/{channel}", Handler: http.HandlerFunc(c.submit)},
		{Pattern: "OPTIONS /forms/{channel}", Handler: http.HandlerFunc(c.preflight)},
		{Pattern: "GET /forms/{channel}/token", Handler: http.HandlerFunc(c.token)},
		{Pattern: "GET /forms/{channel}/embed.js", Handler: http.HandlerFunc(c.script)},
	}
}

// Stats returns the channel's counters (see the Count* kinds), summed over
// every replica.
func (c *Channel) Stats(ctx context.Context) (map[string]int64, error) {
	prefix := "webform:" + c.name + ":"
	raw, err := c.counts.GetCounters(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for k, v := range raw {
		out[strings.TrimPrefix(k, prefix)] = v
	}
	return out, nil
}

func (c *Channel) count(ctx context.Context, kind string, n int64) {
	if n == 0 {
		return
	}
	if _, err := c.counts.Incr(context.WithoutCancel(ctx), "webform:"+c.name+":"+kind, n); err != nil {
		c.log.Warn("webform: counting failed", "kind", kind, "err", err)
	}
}

// ---- CORS -----------------------------------------------------------------

// originAllowed: an exact match of allowed_origins, or the hub's own origin.
func (c *Channel) originAllowed(origin string, r *http.Request) bool {
	if slices.Contains(c.s.AllowedOrigins, origin) {
		return true
	}
	return origin == c.self || origin == "http://"+r.Host || origin == "https://"+r.Host
}

// cors answers for the Origin header: it reports false (after writing a
// 403) when a browser on a page of another site sent the request.
func (c *Channel) cors(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a cross-site browser request (curl, a server, a same-origin GET)
	}
	if !c.originAllowed(origin, r) {
		c.count(r.Context(), CountRefused, 1)
		c.log.Debug("webform: origin refused", "origin", origin)
		c.fail(w, r, refuse(http.StatusForbidden, "origin_not_allowed", "this form does not accept submissions from %s", origin))
		return false
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	return true
}

func (c *Channel) preflight(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") == "" {
		w.Header().Set("Allow", "POST, OPTIONS")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !c.cors(w, r) {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Accept")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// ---- token and script -------------------------------------------------------

func (c *Channel) token(w http.ResponseWriter, r *http.Request) {
	if !c.cors(w, r) {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	now := c.clock()
	writeJSON(w, http.StatusOK, map[string]any{"token": c.tok.issue(now), "expires_at": now.Add(c.tok.ttl).UTC()})
}

//go:embed embed.js
var embedJS []byte

// clientForm is what embed.js is told about the form (no secrets).
type clientForm struct {
	Channel  string       `json:"channel"`
	Fields   []clientItem `json:"fields"`
	Honeypot string       `json:"honeypot"`
	Submit   string       `json:"submit"`
	Thanks   string       `json:"thanks"`
	Files    bool         `json:"files"`
}

type clientItem struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Label       string   `json:"label"`
	Placeholder string   `json:"placeholder,omitempty"`
	Required    bool     `json:"required,omitempty"`
	MaxLength   int      `json:"max_length,omitempty"`
	Options     []string `json:"options,omitempty"`
	Accept      string   `json:"accept,omitempty"`
}

func (c *Channel) buildEmbed() []byte {
	f := clientForm{Channel: c.name, Honeypot: c.s.Honeypot, Submit: c.s.SubmitLabel, Thanks: c.s.ThankYouText, Files: c.s.hasType(TypeFile)}
	for _, fs := range c.s.Fields {
		it := clientItem{Name: fs.Name, Type: fs.Type, Label: fs.Label, Placeholder: fs.Placeholder, Required: fs.Required, MaxLength: fs.MaxLength, Options: fs.Options}
		if c.s.Consent != nil && c.s.Consent.Field == fs.Name {
			it.Label = c.s.Consent.Text // what is shown is what is recorded
		}
		if fs.Type == TypeFile {
			it.Accept = strings.Join(c.s.Uploads.AllowedTypes, ",")
		}
		f.Fields = append(f.Fields, it)
	}
	// encoding/json escapes <, >, &, U+2028 and U+2029: the literal is inert
	// inside a script whatever the configured labels hold.
	j, _ := json.Marshal(f)
	return bytes.Replace(embedJS, []byte("__FORM__"), j, 1)
}

func (c *Channel) script(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	w.Write(c.embed)
}

// ---- submissions --------------------------------------------------------------

func (c *Channel) submit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !c.cors(w, r) {
		return
	}
	now := c.clock()
	if ok, wait := c.perIP.allow(clientKey(r), now); !ok {
		c.limited(w, r, wait)
		return
	}
	if ok, wait := c.perChan.allow("", now); !ok {
		c.limited(w, r, wait)
		return
	}
	// Only multipart may carry the upload allowance: a URL-encoded or JSON
	// body is read whole, so it gets the plain limit.
	limit := c.s.bodyLimit(r.Header.Get("Content-Type"))
	if r.ContentLength > limit {
		c.refused(w, r, tooLarge(limit))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	sub, err := c.s.parseBody(r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		c.refused(w, r, err.(*reqError))
		return
	}
	c.count(ctx, CountUnknownFields, int64(sub.unknown))
	form, rerr := c.s.check(sub)
	// The token is judged before the fields: a forged or expired one says
	// nothing about the fields, and a form from a bot must not learn which
	// of its values would pass.
	nonce, issued, terr := c.tok.verify(form.token, now)
	switch {
	case errors.Is(terr, errTokenMissing) && !*c.s.RequireToken:
		nonce = randomNonce()
	case errors.Is(terr, errTokenExpired):
		c.refused(w, r, refuse(http.StatusForbidden, "token_expired", "%s", terr))
		return
	case terr != nil:
		c.refused(w, r, refuse(http.StatusForbidden, "token_invalid", "%s", terr))
		return
	}
	if rerr != nil {
		c.refused(w, r, rerr)
		return
	}
	msg := connectors.Message{
		ID: connectors.MessageID(c.name, nonce), Channel: c.name, ProviderID: nonce, ThreadKey: form.thread,
		Identities: form.identities, SenderName: form.name, Subject: form.subject, Text: form.text,
		Fields: form.fields, Consent: form.consent, OccurredAt: now.UTC(), ReceivedAt: now.UTC(),
	}
	if msg.ThreadKey == "" {
		msg.ThreadKey = nonce // each submission is its own conversation
	}
	for _, u := range form.uploads {
		sum, size, err := c.env.Blobs.Put(ctx, bytes.NewReader(u.data), c.s.Uploads.MaxFileBytes)
		if err != nil {
			c.log.Error("webform: keeping an upload failed", "err", err)
			c.fail(w, r, refuse(http.StatusServiceUnavailable, "unavailable", "the submission could not be saved; try again"))
			return
		}
		msg.Attachments = append(msg.Attachments, connectors.Attachment{Name: u.filename, ContentType: u.contentType, Size: size, SHA256: sum})
	}
	reason := ""
	switch {
	case form.honeypot:
		reason = ReasonHoneypot
	case !issued.IsZero() && now.Sub(issued) < c.s.MinFillTime.D():
		reason = ReasonTooFast
	}
	if reason != "" {
		c.quarantine(w, r, msg, reason, sub.json)
		return
	}
	id, err := c.env.Sink.Deliver(ctx, msg)
	switch {
	case errors.Is(err, connectors.ErrInvalid):
		c.refused(w, r, refuse(http.StatusUnprocessableEntity, "invalid", "%s", deliverMessage(err)))
		return
	case errors.Is(err, connectors.ErrChannelOff), errors.Is(err, connectors.ErrUnknownChannel):
		c.fail(w, r, refuse(http.StatusNotFound, "not_found", "no such form"))
		return
	case err != nil:
		c.log.Error("webform: delivering a submission failed", "err", err)
		c.fail(w, r, refuse(http.StatusServiceUnavailable, "unavailable", "the submission could not be saved; try again"))
		return
	}
	c.count(ctx, CountReceived, 1)
	c.success(w, r, id, sub.json)
}

// quarantine keeps a suspected bot's submission aside through the sink
// (an admin can list and release it) and answers exactly as for a person.
func (c *Channel) quarantine(w http.ResponseWriter, r *http.Request, msg connectors.Message, reason string, isJSON bool) {
	ctx := r.Context()
	if err := c.spam.Quarantine(ctx, msg, reason); err != nil {
		c.log.Error("webform: quarantining a submission failed", "err", err)
		c.fail(w, r, refuse(http.StatusServiceUnavailable, "unavailable", "the submission could not be saved; try again"))
		return
	}
	c.log.Info("webform: submission quarantined", "reason", reason, "message_id", msg.ID)
	c.count(ctx, CountSpam, 1)
	c.success(w, r, msg.ID, isJSON)
}

// deliverMessage keeps the first line of the hub's validation error.
func deliverMessage(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, connectors.ErrInvalid.Error()+": ")
	s = strings.TrimPrefix(s, connectors.ErrInvalid.Error()+"\n")
	if i := strings.IndexByte(s, '\n'); i > 0 {
		s = s[:i]
	}
	return s
}

func randomNonce() string {
	var b [16]byte
	rand.Read(b[:])
	return "n" + base64.RawURLEncoding.EncodeToString(b[:])
}

// wantsJSON: scripts (a JSON body, or Accept naming JSON) get JSON; plain
// HTML forms get a redirect or a page.
func wantsJSON(r *http.Request, isJSON bool) bool {
	if isJSON || strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return true
	}
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

func (c *Channel) success(w http.ResponseWriter, r *http.Request, id string, isJSON bool) {
	if wantsJSON(r, isJSON) {
		writeJSON(w, http.StatusOK, map[string]string{"id": id, "status": "received"})
		return
	}
	if c.s.ThankYouURL != "" {
		http.Redirect(w, r, c.s.ThankYouURL, http.StatusSeeOther)
		return
	}
	writePage(w, http.StatusOK, "Thank you", c.s.ThankYouText, nil)
}

func (c *Channel) limited(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	c.count(r.Context(), CountRateLimited, 1)
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	c.fail(w, r, refuse(http.StatusTooManyRequests, "rate_limited", "too many submissions; try again in %d seconds", int(math.Ceil(wait.Seconds()))))
}

func (c *Channel) refused(w http.ResponseWriter, r *http.Request, e *reqError) {
	c.count(r.Context(), CountRefused, 1)
	c.log.Debug("webform: submission refused", "status", e.status, "code", e.code)
	c.fail(w, r, e)
}

func (c *Channel) fail(w http.ResponseWriter, r *http.Request, e *reqError) {
	if wantsJSON(r, false) {
		body := map[string]any{"error": e.code, "message": e.msg}
		if len(e.fields) > 0 {
			body["fields"] = e.fields
		}
		writeJSON(w, e.status, body)
		return
	}
	writePage(w, e.status, "The form could not be sent", e.msg, e.fields)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.Text}}</p>{{if .Fields}}<ul>{{range $k, $v := .Fields}}<li>{{$k}}: {{$v}}</li>{{end}}</ul>{{end}}</body></html>
`))

func writePage(w http.ResponseWriter, status int, title, text string, fields map[string]string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.WriteHeader(status)
	_ = page.Execute(w, map[string]any{"Title": title, "Text": text, "Fields": fields})
}
