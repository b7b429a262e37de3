package inbox

// The HTTP server's guards: timeouts and body deadlines (a slow client
// cannot hold a connection and goroutine for ever), and JSON errors with
// 405 + Allow on every machine-facing route, whoever registered it (the
// API here, channels' webhooks and forms, plugins).

import (
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Timeouts of the hub's HTTP server (config http.*_timeout).
type Timeouts struct {
	// ReadHeader bounds reading the request headers.
	ReadHeader time.Duration
	// Read bounds reading a request, headers included; a request with a
	// body gets Options.BodyTimeout from the start of its handler instead.
	Read time.Duration
	// Write bounds writing a response; the event stream clears it.
	Write time.Duration
	// Idle closes a keep-alive connection idle this long.
	Idle time.Duration
}

// NewHTTPServer is the hub's http.Server for h with timeouts t.
func NewHTTPServer(h http.Handler, t Timeouts, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.Default()
	}
	return &http.Server{Handler: h, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write,
		IdleTimeout: t.Idle, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}

// setBodyDeadline gives a request with a body BodyTimeout (UploadTimeout
// for multipart bodies) to arrive whole: a body trickled slower fails to
// read, the handler answers, and the connection is closed.
func (s *Server) setBodyDeadline(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return
	}
	d := s.o.BodyTimeout
	if mt := strings.ToLower(r.Header.Get("Content-Type")); strings.HasPrefix(mt, "multipart/form-data") && s.o.UploadTimeout > 0 {
		d = s.o.UploadTimeout
	}
	if d <= 0 {
		return
	}
	// Not supported (a test's recorder): nothing to guard.
	rc := http.NewResponseController(w)
	now := time.Now()
	_ = rc.SetReadDeadline(now.Add(d))
	if s.o.WriteTimeout > 0 {
		_ = rc.SetWriteDeadline(now.Add(d + s.o.WriteTimeout))
	}
}

// clearDeadlines lifts the read and write deadlines of a long-lived
// response (the event stream, which has its own keep-alive).
func clearDeadlines(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})
}

// machineRoute reports whether path is answered to programs, not people:
// its errors are JSON.
func machineRoute(path string) bool {
	for _, p := range []string{"/api/", "/webhooks/", "/forms/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	switch path {
	case "/healthz", "/readyz", "/metrics", "/api", "/webhooks", "/forms":
		return true
	}
	return false
}

// errorCodes name the HTTP errors a handler answered in plain text.
var errorCodes = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestTimeout:        "timeout",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusUnsupportedMediaType:  "bad_content_type",
	http.StatusUnprocessableEntity:   "invalid",
	http.StatusTooManyRequests:       "rate_limited",
	http.StatusInternalServerError:   "internal",
	http.StatusBadGateway:            "bad_gateway",
	http.StatusServiceUnavailable:    "unavailable",
	http.StatusGatewayTimeout:        "timeout",
}

func errorCode(status int) string {
	if c, ok := errorCodes[status]; ok {
		return c
	}
	return "error"
}

// jsonErrors rewrites an error answered in plain text (http.Error, the
// mux's 404 and 405, a channel's or plugin's text answer) into the API's
// JSON error {"error": code, "message": text}. JSON answers and HTML pages
// (a web form's page for a person's browser) pass unchanged, as does every
// success.
type jsonErrors struct {
	http.ResponseWriter
	decided bool // WriteHeader (or Write) was called
	status  int  // rewritten status; 0: passing through
	msg     []byte
}

// maxErrorText is how much of a plain-text error becomes the message.
const maxErrorText = 512

func (j *jsonErrors) WriteHeader(code int) {
	if j.decided {
		j.ResponseWriter.WriteHeader(code) // superfluous: let net/http say so
		return
	}
	if code >= 400 && !jsonOrHTML(j.Header().Get("Content-Type")) {
		j.decided, j.status = true, code
		j.Header().Del("Content-Length")
		j.Header().Set("Content-Type", "application/json")
		return // written by finish
	}
	if code >= 200 {
		j.decided = true
	}
	j.ResponseWriter.WriteHeader(code)
}

func (j *jsonErrors) Write(b []byte) (int, error) {
	if !j.decided {
		j.WriteHeader(http.StatusOK)
	}
	if j.status != 0 {
		if n := maxErrorText - len(j.msg); n > 0 {
			j.msg = append(j.msg, b[:min(n, len(b))]...)
		}
		return len(b), nil
	}
	return j.ResponseWriter.Write(b)
}

// Flush passes through unless an error is being rewritten.
func (j *jsonErrors) Flush() {
	if j.status != 0 {
		return
	}
	if !j.decided {
		j.WriteHeader(http.StatusOK)
	}
	if f, ok := j.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (j *jsonErrors) Unwrap() http.ResponseWriter { return j.ResponseWriter }

// finish writes a rewritten error.
func (j *jsonErrors) finish() {
	if j.status == 0 {
		return
	}
	msg := strings.TrimSpace(string(j.msg))
	if msg == "" {
		msg = http.StatusText(j.status)
	}
	writeError(j.ResponseWriter, j.status, errorCode(j.status), msg)
}

func jsonOrHTML(contentType string) bool {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	return strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "application/problem+json") || strings.HasPrefix(ct, "text/html")
}

// probeMethods are the methods tried for an Allow header.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// allowed lists the methods some route other than fallback serves at r's
// path (nil when none does).
func (s *Server) allowed(r *http.Request, fallback string) []string {
	var out []string
	for _, m := range probeMethods {
		r2 := r.WithContext(r.Context())
		r2.Method = m
		if _, p := s.mux.Handler(r2); p != "" && p != fallback {
			out = append(out, m)
		}
	}
	return out
}

// apiFallback answers a request under /api/ that no route serves: 405 with
// Allow when the path exists for other methods, 404 otherwise.
func (s *Server) apiFallback(w http.ResponseWriter, r *http.Request) {
	if allow := s.allowed(r, "/api/"); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+strings.Join(allow, ", "))
		return
	}
	writeError(w, http.StatusNotFound, "not_found", "no such API route: "+r.Method+" "+r.URL.Path)
}
