package sms

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/switchboard-hub/switchboard/connectors"
)

// emptyTwiML answers a message webhook without sending anything back.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// FlagHelp marks an inbound HELP/INFO keyword message.
const FlagHelp = "sms-help"

// Keyword kinds of an inbound body.
const (
	keywordNone = iota
	keywordStop
	keywordStart
	keywordHelp
)

// keywords are Twilio's default opt-out, opt-in and help keywords. Like
// Twilio, only a body that is exactly one keyword counts (case and
// surrounding spaces or a final full stop or exclamation mark aside).
var keywords = map[string]int{
	"STOP": keywordStop, "STOPALL": keywordStop, "UNSUBSCRIBE": keywordStop, "CANCEL": keywordStop,
	"END": keywordStop, "QUIT": keywordStop, "OPTOUT": keywordStop, "REVOKE": keywordStop,
	"START": keywordStart, "UNSTOP": keywordStart, "YES": keywordStart,
	"HELP": keywordHelp, "INFO": keywordHelp,
	// Finnish (the hub's customers text in Finnish too; Twilio itself does
	// not stop a number on these, the hub's consent does).
	"LOPETA": keywordStop, "ALOITA": keywordStart,
}

// keyword classifies an inbound body. optOutType is Twilio's OptOutType
// parameter (sent with Advanced Opt-Out); when present it is authoritative.
func keyword(body, optOutType string) int {
	switch strings.ToUpper(strings.TrimSpace(optOutType)) {
	case "STOP":
		return keywordStop
	case "START":
		return keywordStart
	case "HELP":
		return keywordHelp
	}
	w := strings.ToUpper(strings.TrimRight(strings.TrimSpace(body), ".! "))
	if len(w) > 12 {
		return keywordNone
	}
	return keywords[w]
}

// validSID reports whether s is a Twilio message SID: SM or MM and 32 hex
// digits. (A hand-written check: a regexp was a seventh of the webhook's CPU.)
func validSID(s string) bool {
	if len(s) != 34 || s[1] != 'M' || s[0] != 'S' && s[0] != 'M' {
		return false
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// maxMedia is the most media items Twilio puts in one message.
const maxMedia = 10

// inbound is a parsed message webhook.
type inbound struct {
	msg   connectors.Message
	media []mediaRef
}

type mediaRef struct {
	url, contentType string
}

// parseInbound turns the (signature-checked) parameters of a message
// webhook into a Message. Errors wrap connectors.ErrInvalid.
func parseInbound(channel string, p form) (inbound, error) {
	sid := p.Get("MessageSid")
	if sid == "" {
		sid = p.Get("SmsMessageSid")
	}
	if !validSID(sid) {
		return inbound{}, fmt.Errorf("%w: MessageSid %q is not a Twilio message SID", connectors.ErrInvalid, trunc(sid))
	}
	from := strings.TrimSpace(p.Get("From"))
	if !strings.HasPrefix(from, "+") {
		// Twilio sends E.164; anything else (a short code, an
		// alphanumeric sender) is no phone identity a reply can reach.
		return inbound{}, fmt.Errorf("%w: From %q is not a phone number in E.164", connectors.ErrInvalid, trunc(from))
	}
	id := connectors.Identity{Type: connectors.Phone, Value: from}
	if !plainE164(from) {
		// Twilio sends plain E.164, which the hub's sink normalises
		// again anyway; anything else is normalised (or refused) here.
		var err error
		if id, err = connectors.Normalize(id, ""); err != nil {
			return inbound{}, err
		}
	}
	id.Verified = true // Twilio vouches for the sender of a signed webhook
	body := p.Get("Body")
	in := inbound{msg: connectors.Message{Channel: channel, ProviderID: sid, Identities: []connectors.Identity{id}, Text: body}}
	if to := p.Get("To"); to != "" {
		in.msg.Fields = append(in.msg.Fields, connectors.Field{Name: "To", Value: to})
	}
	switch keyword(body, p.Get("OptOutType")) {
	case keywordStop:
		in.msg.Consent = &connectors.ConsentChange{Purpose: connectors.PurposeMessages, Granted: false, Text: strings.TrimSpace(body)}
	case keywordStart:
		in.msg.Consent = &connectors.ConsentChange{Purpose: connectors.PurposeMessages, Granted: true, Text: strings.TrimSpace(body)}
	case keywordHelp:
		in.msg.Flags = append(in.msg.Flags, FlagHelp)
	}
	n := 0
	if s := p.Get("NumMedia"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 0 || n > maxMedia {
			return inbound{}, fmt.Errorf("%w: NumMedia %q is not 0-%d", connectors.ErrInvalid, trunc(s), maxMedia)
		}
	}
	for i := 0; i < n; i++ {
		u := p.Get("MediaUrl" + strconv.Itoa(i))
		if u == "" {
			return inbound{}, fmt.Errorf("%w: NumMedia is %d but MediaUrl%d is missing", connectors.ErrInvalid, n, i)
		}
		in.media = append(in.media, mediaRef{url: u, contentType: p.Get("MediaContentType" + strconv.Itoa(i))})
	}
	return in, nil
}

// plainE164 reports whether s is "+" and 7 to 15 digits, the first not 0.
func plainE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// trunc shortens untrusted input quoted in an error.
func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// readSigned reads a form-encoded webhook body within the size limit and
// checks its X-Twilio-Signature against u (plus the request's query
// string, which Twilio signs too). It writes the error answer itself and
// returns ok=false when the request must not be processed. The body is
// read into a pooled buffer and kept as one string that the parameters
// share.
func (c *Channel) readSigned(w http.ResponseWriter, r *http.Request, u signedURL) (form, bool) {
	if r.ContentLength > c.s.MaxBodyBytes {
		http.Error(w, "body of "+strconv.FormatInt(r.ContentLength, 10)+" bytes exceeds the limit of "+strconv.FormatInt(c.s.MaxBodyBytes, 10), http.StatusRequestEntityTooLarge)
		return nil, false
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		http.Error(w, "missing X-Twilio-Signature", http.StatusForbidden)
		return nil, false
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/x-www-form-urlencoded" {
			http.Error(w, "expected an application/x-www-form-urlencoded body", http.StatusUnsupportedMediaType)
			return nil, false
		}
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, c.s.MaxBodyBytes))
	body := buf.String()
	if buf.Cap() <= 64<<10 {
		bodyPool.Put(buf)
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body exceeds the limit of "+strconv.FormatInt(c.s.MaxBodyBytes, 10)+" bytes", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "cannot read body", http.StatusBadRequest)
		}
		return nil, false
	}
	f, err := parseForm(body, make(form, 0, 24))
	if err != nil {
		status := http.StatusBadRequest
		if err == errRepeatedParam {
			// The signature covers one value per name; a repeated name
			// would carry values it does not cover.
			status = http.StatusForbidden
		}
		http.Error(w, err.Error(), status)
		return nil, false
	}
	if !c.signer.valid(u, r.URL.RawQuery, f, sig) {
		full := u.raw
		if r.URL.RawQuery != "" {
			full += "?" + r.URL.RawQuery
		}
		c.log.Warn("twilio webhook with a wrong signature refused", "url", full)
		http.Error(w, "invalid X-Twilio-Signature", http.StatusForbidden)
		return nil, false
	}
	return f, true
}

// bodyPool holds the buffers webhook bodies are read into.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// serveMessage is the message webhook: check, fetch media, deliver, and
// answer empty TwiML once the message is durable.
func (c *Channel) serveMessage(w http.ResponseWriter, r *http.Request) {
	form, ok := c.readSigned(w, r, c.signedWebhook)
	if !ok {
		return
	}
	in, err := parseInbound(c.name, form)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := c.clock()
	in.msg.OccurredAt, in.msg.ReceivedAt = now, now
	if len(in.media) > 0 {
		in.msg.Attachments = c.fetchMedia(r.Context(), in.msg.ProviderID, in.media)
	}
	if _, err := c.env.Sink.Deliver(r.Context(), in.msg); err != nil {
		c.deliverError(w, in.msg.ProviderID, err)
		return
	}
	if c.log.Enabled(r.Context(), slog.LevelDebug) {
		c.log.Debug("sms received", "sid", in.msg.ProviderID)
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(emptyTwiMLBytes)
}

var emptyTwiMLBytes = []byte(emptyTwiML)

func (c *Channel) deliverError(w http.ResponseWriter, sid string, err error) {
	switch {
	case errors.Is(err, connectors.ErrChannelOff), errors.Is(err, connectors.ErrUnknownChannel):
		http.Error(w, "no such channel", http.StatusNotFound)
	case errors.Is(err, connectors.ErrInvalid):
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		// Twilio then tries the number's fallback URL: not accepted.
		c.log.Warn("sms not accepted", "sid", sid, "err", err)
		http.Error(w, "message not accepted, try again", http.StatusServiceUnavailable)
	}
}

// statusFor maps Twilio's MessageStatus to a hub delivery status; ok=false
// for statuses that say nothing new (the entry is already sent when the
// send returned) or belong to inbound messages.
func statusFor(s string) (string, bool) {
	switch s {
	case "sent":
		return "sent", true
	case "delivered", "read", "partially_delivered":
		return "delivered", true
	case "undelivered":
		return "undelivered", true
	case "failed", "canceled":
		return "failed", true
	}
	return "", false // accepted, scheduled, queued, sending, receiving, received
}

// serveStatus is the status callback of replies sent by Send.
func (c *Channel) serveStatus(w http.ResponseWriter, r *http.Request) {
	form, ok := c.readSigned(w, r, c.signedStatus)
	if !ok {
		return
	}
	sid := form.Get("MessageSid")
	if !validSID(sid) {
		http.Error(w, "MessageSid is not a Twilio message SID", http.StatusBadRequest)
		return
	}
	raw := form.Get("MessageStatus")
	if raw == "" {
		raw = form.Get("SmsStatus")
	}
	status, ok := statusFor(strings.ToLower(raw))
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	detail := ""
	if code := form.Get("ErrorCode"); code != "" && code != "0" {
		n, err := strconv.Atoi(code)
		if err != nil {
			http.Error(w, "ErrorCode is not a number", http.StatusBadRequest)
			return
		}
		detail = twilioError(n, form.Get("ErrorMessage"))
	} else if raw != status {
		detail = "twilio status " + raw
	}
	if c.env.Status == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	err := c.env.Status.UpdateStatus(r.Context(), c.name, sid, status, detail)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, connectors.ErrInvalid):
		http.Error(w, err.Error(), http.StatusBadRequest)
	case errors.Is(err, connectors.ErrUnknownMessage):
		// A message this hub did not send (another system on the same
		// number): nothing to update, and nothing for Twilio to retry.
		c.log.Debug("status callback for an unknown message", "sid", sid, "status", status)
		w.WriteHeader(http.StatusNoContent)
	default:
		c.log.Warn("status callback not applied", "sid", sid, "status", status, "err", err)
		http.Error(w, "status not recorded, try again", http.StatusServiceUnavailable)
	}
}
