package inbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-hub/switchboard/connectors"

	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// audiences lists the conversation audiences p may see (DESIGN invariant 8):
// live conversations, pilot conversations of p's teams (admins: every
// team's), and shadow ones only for admins who ask for them.
func (s *Server) audiences(p Principal, includeShadow bool) []string {
	if p.IsAdmin() && includeShadow {
		return nil // everything
	}
	out := []string{store.AudienceAll}
	teams := p.Teams
	if p.IsAdmin() {
		teams = s.o.Teams
	}
	for _, t := range teams {
		out = append(out, store.TeamAudience(t))
	}
	return out
}

func (s *Server) visible(p Principal, c store.Conversation) bool {
	a := s.audiences(p, true)
	return a == nil || slices.Contains(a, c.Audience)
}

// conversationFilter reads the conversation list's query (status, channel,
// assignee — "me" is the caller —, team, before, limit up to maxLimit,
// include_shadow), limited to what the caller may see.
func (s *Server) conversationFilter(r *http.Request, maxLimit int) store.ConversationFilter {
	p := principalFrom(r.Context())
	q := r.URL.Query()
	f := store.ConversationFilter{Status: q.Get("status"), Channel: q.Get("channel"), Assignee: q.Get("assignee"),
		Team: q.Get("team"), Before: q.Get("before"), Limit: intParam(r, "limit", 50, maxLimit), Label: q.Get("label"),
		Audiences: s.audiences(p, q.Get("include_shadow") == "true")}
	if f.Assignee == "me" {
		f.Assignee = p.Name
	}
	if f.Label != "" {
		f.LabelOnCustomer = s.customerLabel(r.Context(), f.Label) // labelfilter.go
	}
	if q.Get("sort") == store.SortSLADue { // earliest SLA due time first (issue 17)
		f.Sort = store.SortSLADue
	}
	f.Priority = q.Get("priority")           // checked by badPriority (priority.go)
	if q.Get("sort") == store.SortPriority { // urgent first (issue 24)
		f.Sort = store.SortPriority
	}
	return f
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) {
	if badSort(w, r) || badPriority(w, r) { // sortparam.go, priority.go
		return
	}
	cs, next, err := s.o.Store.ListConversations(r.Context(), s.conversationFilter(r, 500))
	if err != nil {
		storeError(w, err)
		return
	}
	if cs == nil {
		cs = []store.Conversation{}
	}
	writeJSON(w, 200, map[string]any{"conversations": cs, "next": next})
}

func (s *Server) conversationFor(w http.ResponseWriter, r *http.Request) (store.Conversation, bool) {
	c, err := s.o.Store.GetConversation(r.Context(), r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return c, false
	}
	if !s.visible(principalFrom(r.Context()), c) {
		// Not "forbidden": a conversation outside one's audience does not exist for them.
		writeError(w, http.StatusNotFound, "not_found", "no such conversation")
		return c, false
	}
	return c, true
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request) {
	if c, ok := s.conversationFor(w, r); ok {
		writeJSON(w, 200, c)
	}
}

// patchConversation assigns, unassigns, snoozes, resolves and reopens
// through the conversation service; it checks here what only the inbox
// knows (the configured agents and teams).
func (s *Server) patchConversation(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversationFor(w, r)
	if !ok {
		return
	}
	var in struct {
		Status       *string    `json:"status"`
		Assignee     *string    `json:"assignee"`
		Team         *string    `json:"team"`
		SnoozedUntil *time.Time `json:"snoozed_until"`
		Priority     *string    `json:"priority"` // "" or "none" clears it
	}
	if !s.decodeBody(w, r, &in) {
		return
	}
	if in.Assignee != nil && *in.Assignee != "" {
		if _, ok := s.auth.byName(*in.Assignee); !ok {
			writeError(w, 422, "invalid", fmt.Sprintf("assignee %q is not a configured agent", *in.Assignee))
			return
		}
	}
	if in.Team != nil && *in.Team != "" && !slices.Contains(s.o.Teams, *in.Team) {
		writeError(w, 422, "invalid", fmt.Sprintf("team %q is not a configured team", *in.Team))
		return
	}
	if in.Priority != nil {
		p, ok := store.ParsePriority(*in.Priority)
		if !ok {
			writeError(w, http.StatusBadRequest, "invalid", priorityHint("priority", *in.Priority))
			return
		}
		in.Priority = &p
	}
	c, err := s.o.Conversations.Update(r.Context(), c.ID, timeline.Change{Status: in.Status, SnoozedUntil: in.SnoozedUntil,
		Assignee: in.Assignee, Team: in.Team, Priority: in.Priority}, principalFrom(r.Context()).Name)
	switch {
	case errors.Is(err, timeline.ErrInvalidChange):
		writeError(w, 422, "invalid", err.Error())
		return
	case errors.Is(err, timeline.ErrAudit):
		auditUnavailable(w) // audit.go: nothing changed
		return
	case errors.Is(err, store.ErrConflict):
		writeError(w, 409, "conflict", "another conversation of this customer is open on the same thread; resolve it first")
		return
	case err != nil:
		storeError(w, err)
		return
	}
	writeJSON(w, 200, c)
}

// Limits of the attachments of one reply (JSON, base64 in "data").
const (
	MaxReplyAttachments      = 20
	MaxReplyAttachmentBytes  = int64(10 << 20) // one attachment, decoded
	MaxReplyAttachmentsBytes = int64(25 << 20) // all of one reply, decoded
)

type replyAttachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"` // base64 in JSON
}

// codeCannotReply answers a reply on a channel that only receives: one
// with no Sender (an api channel, a web form; router.ErrCannotReply).
const codeCannotReply = "channel_cannot_reply"

// reply queues an agent's reply. Attachments come inline as base64; they
// are stored as blobs before the entry is written, and the entry names
// them (name, type, size, sha256). The body may be as large as the
// attachment limits need, however small http.max_body_bytes is.
func (s *Server) reply(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversationFor(w, r)
	if !ok {
		return
	}
	var in struct {
		Text        string            `json:"text"`
		Channel     string            `json:"channel"`
		Attachments []replyAttachment `json:"attachments"`
	}
	// base64 is 4/3 of the content, plus room for the text and JSON.
	limit := max(s.o.MaxBodyBytes, MaxReplyAttachmentsBytes/3*4+s.o.MaxBodyBytes)
	if !decodeLimited(w, r, &in, limit, fmt.Sprintf(" (attachments may carry at most %d bytes together, base64-encoded in the JSON)", MaxReplyAttachmentsBytes)) {
		return
	}
	// The channel's phase decides who may send (DESIGN invariant 8), not
	// the UI's hiding of it: an agent may name any channel here. An unknown
	// name is the router's 404.
	channel := in.Channel
	if channel == "" {
		channel = c.Channel
	}
	if ch, known := s.o.Directory.Get(channel); known {
		p := principalFrom(r.Context())
		if err := ch.MaySend(p.Teams, p.IsAdmin()); err != nil {
			writeError(w, http.StatusForbidden, "forbidden", err.Error())
			return
		}
		if s.o.Outbound != nil {
			// Before the audit record and the blobs: nothing is stored,
			// queued or shown for a reply that could never go out. The
			// router's checks, in its order: an off or shadow channel is
			// 409 cannot_send before a channel with no Sender (an api
			// channel, a web form) is 422 channel_cannot_reply.
			if err := s.o.Outbound.CanReply(ch.Name); err != nil {
				storeError(w, err)
				return
			}
		}
	}
	// Every cheap check comes before a blob is stored, in the order that
	// decides which answer a request failing several of them gets.
	if !s.checkReplyAttachments(w, in.Attachments) {
		return
	}
	if int64(len(in.Text)) > s.o.MaxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("text of %d bytes exceeds the limit of %d", len(in.Text), s.o.MaxBodyBytes))
		return
	}
	if !s.auditBefore(w, r, "conversation.reply", c.ID, c.CustomerID, fmt.Sprintf("channel=%s attachments=%d", in.Channel, len(in.Attachments))) {
		return // audit.go: not audited, not sent
	}
	atts, ok := s.storeReplyAttachments(w, r, in.Attachments)
	if !ok {
		return
	}
	e, err := s.o.Outbound.ReplyWith(r.Context(), router.ReplyRequest{ConversationID: c.ID, Agent: principalFrom(r.Context()).Name,
		Channel: in.Channel, Text: in.Text, Attachments: atts})
	if errors.Is(err, router.ErrAttachmentsUnsupported) {
		writeError(w, http.StatusUnprocessableEntity, "attachments_unsupported", err.Error())
		return
	}
	if err != nil {
		storeError(w, err) // router.ErrCannotReply: 422 channel_cannot_reply
		return
	}
	writeJSON(w, http.StatusAccepted, e)
}

// checkReplyAttachments checks the attachments of a reply against the
// limits, and that there is a blob store for them, without storing
// anything; it answers the request itself on error.
func (s *Server) checkReplyAttachments(w http.ResponseWriter, in []replyAttachment) bool {
	if len(in) == 0 {
		return true
	}
	if len(in) > MaxReplyAttachments {
		writeError(w, http.StatusBadRequest, "too_many_attachments", fmt.Sprintf("%d attachments; a reply may have at most %d", len(in), MaxReplyAttachments))
		return false
	}
	var total int64
	for i, a := range in {
		switch {
		case strings.TrimSpace(a.Name) == "" || len(a.Name) > 255 || strings.ContainsAny(a.Name, "/\\\x00\r\n") || !utf8.ValidString(a.Name):
			writeError(w, http.StatusBadRequest, "bad_attachment", fmt.Sprintf("attachments[%d].name must be a file name (1-255 bytes of UTF-8, no path separators or line breaks)", i))
			return false
		case len(a.Data) == 0:
			writeError(w, http.StatusBadRequest, "bad_attachment", fmt.Sprintf("attachments[%d] (%q) has no data (base64 in \"data\")", i, a.Name))
			return false
		case int64(len(a.Data)) > MaxReplyAttachmentBytes:
			writeError(w, http.StatusRequestEntityTooLarge, "attachment_too_large", fmt.Sprintf("attachments[%d] (%q) is %d bytes; one attachment may have at most %d", i, a.Name, len(a.Data), MaxReplyAttachmentBytes))
			return false
		}
		if a.ContentType != "" {
			if _, _, err := mime.ParseMediaType(a.ContentType); err != nil || strings.ContainsAny(a.ContentType, "\r\n") {
				writeError(w, http.StatusBadRequest, "bad_attachment", fmt.Sprintf("attachments[%d].content_type %q is not a media type", i, a.ContentType))
				return false
			}
		}
		total += int64(len(a.Data))
	}
	if total > MaxReplyAttachmentsBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "attachments_too_large", fmt.Sprintf("the attachments are %d bytes together; a reply may carry at most %d", total, MaxReplyAttachmentsBytes))
		return false
	}
	if s.o.Blobs == nil {
		writeError(w, http.StatusUnprocessableEntity, "attachments_unsupported", "this hub has no attachment store")
		return false
	}
	return true
}

// storeReplyAttachments stores the attachments of a reply, checked by
// checkReplyAttachments, as blobs; it answers the request itself on error.
func (s *Server) storeReplyAttachments(w http.ResponseWriter, r *http.Request, in []replyAttachment) ([]connectors.Attachment, bool) {
	if len(in) == 0 {
		return nil, true
	}
	out := make([]connectors.Attachment, 0, len(in))
	for i, a := range in {
		ct := a.ContentType
		if ct == "" {
			ct = http.DetectContentType(a.Data)
		}
		sum, n, err := s.o.Blobs.Put(r.Context(), bytes.NewReader(a.Data), MaxReplyAttachmentBytes)
		if err != nil {
			s.o.Logger.Error("reply attachment not stored", "index", i, "err", err)
			writeError(w, http.StatusInternalServerError, "internal", "could not store the attachments")
			return nil, false
		}
		out = append(out, connectors.Attachment{Name: a.Name, ContentType: ct, Size: n, SHA256: sum})
	}
	return out, true
}

// decodeLimited reads a JSON body strictly, as decodeBody does, with a body
// limit of its own; hint is appended to the messages of 413 answers.
func decodeLimited(w http.ResponseWriter, r *http.Request, v any, limit int64, hint string) bool {
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body of %d bytes exceeds the limit of %d", r.ContentLength, limit)+hint)
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body exceeds the limit of %d bytes", limit)+hint)
			return false
		}
		writeError(w, http.StatusBadRequest, "bad_json", "request body is not valid JSON for this route: "+err.Error())
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "bad_json", "request body has data after the JSON value")
		return false
	}
	return true
}

// decodeUTF8 is decodeLimited for a body that must be valid UTF-8 as
// sent: encoding/json replaces invalid bytes with U+FFFD, so two values
// that differ only there would decode the same. It answers 400 itself
// naming the first invalid byte.
func decodeUTF8(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	raw, ok := readLimited(w, r, limit)
	if !ok {
		return false
	}
	if i := invalidUTF8At(raw); i >= 0 {
		writeError(w, http.StatusBadRequest, "bad_input", fmt.Sprintf("body is not valid UTF-8 (byte %d): JSON must be UTF-8, and ids are never repaired", i))
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	return decodeLimited(w, r, v, limit, "")
}

// readLimited reads a body of at most limit bytes whole, answering 413
// itself (before reading a larger one when Content-Length says so), for a
// route that must look at the raw bytes before decoding them.
func readLimited(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body of %d bytes exceeds the limit of %d", r.ContentLength, limit))
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body exceeds the limit of %d bytes", limit))
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "bad_body", "could not read the request body: "+err.Error())
		return nil, false
	}
	return b, true
}

// invalidUTF8At is the offset of the first byte of b that is not UTF-8,
// or -1.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

func (s *Server) note(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversationFor(w, r)
	if !ok {
		return
	}
	var in struct {
		Text string `json:"text"`
	}
	if !s.decodeBody(w, r, &in) {
		return
	}
	if !s.auditBefore(w, r, "conversation.note", c.ID, c.CustomerID, "") {
		return // audit.go: not audited, not written
	}
	e, err := s.o.Outbound.Note(r.Context(), c.ID, principalFrom(r.Context()).Name, in.Text)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, e)
}

// ---- queues and audit (admin) -------------------------------------------

func validQueue(w http.ResponseWriter, name string) bool {
	if name != store.QueueIngest && name != store.QueueOutbound {
		writeError(w, 404, "not_found", "queues are ingest and outbound")
		return false
	}
	return true
}

func (s *Server) queueStats(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !validQueue(w, name) {
		return
	}
	st, err := s.o.Store.QueueStats(r.Context(), name)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, 200, st)
}

func (s *Server) deadLetters(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !validQueue(w, name) {
		return
	}
	ds, err := s.o.Store.DeadLetters(r.Context(), name, intParam(r, "limit", 100, 10000))
	if err != nil {
		storeError(w, err)
		return
	}
	if ds == nil {
		ds = []store.DeadLetter{}
	}
	writeJSON(w, 200, map[string]any{"dead": ds})
}

func (s *Server) replayDead(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !validQueue(w, name) {
		return
	}
	if !s.auditBefore(w, r, "queue.replay", name, "", r.URL.Query().Get("id")) {
		return // audit.go: not audited, not replayed
	}
	n, err := s.o.Store.ReplayDead(r.Context(), name, r.URL.Query().Get("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, 200, map[string]int{"replayed": n})
}
