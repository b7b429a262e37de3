package inbox_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/blobs"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

type replyHub struct {
	srv   *inbox.Server
	st    store.Store
	blobs *blobs.Dir
	mail  string // a conversation on the email channel
	sms   string // a conversation on the sms channel
	crm   string // a conversation on the api channel (receives only)
	dir   *directory.Directory
}

// newReplyHub is a hub below HTTP with one email and one SMS conversation.
func newReplyHub(t *testing.T) *replyHub {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bl, err := blobs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive},
		{Name: "text", Type: "sms", Phase: store.PhaseLive},
		{Name: "pilotmail", Type: "email", Phase: store.PhasePilot, PilotTeam: "pilots"},
		{Name: "shadowmail", Type: "email", Phase: store.PhaseShadow, PilotTeam: "pilots"},
		{Name: "crm", Type: "api", Phase: store.PhaseLive, Trusted: true}, {Name: "chat", Type: "slack", Phase: store.PhaseLive},
		{Name: "form", Type: "webform", Phase: store.PhaseLive, Trusted: true},
		{Name: "pigeon", Type: "carrierpigeon", Phase: store.PhaseLive, Trusted: true}}, store.SystemClock, nil)
	rt := router.New(st, dir, router.Options{Routing: router.Routing{Teams: []string{"support"}, Agents: []router.Agent{{Name: "alice", Teams: []string{"support"}}}}})
	in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
	out := withSenders(router.NewOutbound(st, dir, store.SystemClock, nil, nil, rt.Conversations()), dir)
	h := &replyHub{st: st, blobs: bl, dir: dir, srv: inbox.New(inbox.Options{Store: st, Directory: dir, Ingest: in, Outbound: out, Blobs: bl,
		Credentials: []inbox.Credential{{Principal: inbox.Principal{Name: "alice", Role: "agent", Teams: []string{"support"}}, TokenSHA256: inbox.HashToken("tok")},
			{Principal: inbox.Principal{Name: "pia", Role: "agent", Teams: []string{"pilots"}}, TokenSHA256: inbox.HashToken("pia-tok")},
			{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken("root-tok")}}})}
	conv := func(channel string, id connectors.Identity) string {
		m, err := in.Prepare(connectors.Message{Channel: channel, ProviderID: "p-" + channel, Text: "hello", Identities: []connectors.Identity{id},
			OccurredAt: time.Now().UTC()})
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Process(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		e, err := st.GetEntry(context.Background(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		return e.ConversationID
	}
	h.mail = conv("mail", connectors.Identity{Type: connectors.Email, Value: "ann@customer.example", Verified: true})
	h.sms = conv("text", connectors.Identity{Type: connectors.Phone, Value: "+358401234567", Verified: true})
	h.crm = conv("crm", connectors.Identity{Type: connectors.Email, Value: "ben@customer.example", Verified: true})
	return h
}

func (h *replyHub) post(t *testing.T, conv string, body any) (int, map[string]any) {
	t.Helper()
	return h.postAs(t, "tok", conv, body)
}

func (h *replyHub) postAs(t *testing.T, token, conv string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req := httptest.NewRequest("POST", "/api/v1/conversations/"+conv+"/messages", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

func att(name, ct string, data []byte) map[string]any {
	return map[string]any{"name": name, "content_type": ct, "data": base64.StdEncoding.EncodeToString(data)}
}

// TestReplyAttachmentsStoredOnEntry: attachments are stored as blobs and
// named on the queued entry.
func TestReplyAttachmentsStoredOnEntry(t *testing.T) {
	h := newReplyHub(t)
	pdf := []byte("%PDF-1.4 the invoice")
	code, body := h.post(t, h.mail, map[string]any{"text": "Here is your invoice.", "attachments": []any{att("invoice.pdf", "application/pdf", pdf)}})
	if code != http.StatusAccepted {
		t.Fatalf("status %d: %v", code, body)
	}
	e, err := h.st.GetEntry(context.Background(), body["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Attachments) != 1 {
		t.Fatalf("entry attachments = %+v", e.Attachments)
	}
	a := e.Attachments[0]
	if a.Name != "invoice.pdf" || a.ContentType != "application/pdf" || a.Size != int64(len(pdf)) || a.SHA256 == "" {
		t.Fatalf("attachment = %+v", a)
	}
	rc, err := h.blobs.Get(context.Background(), a.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, pdf) {
		t.Fatalf("blob = %q", got)
	}
	// Attachments alone are a reply too; a missing content type is sniffed.
	code, body = h.post(t, h.mail, map[string]any{"attachments": []any{att("notes.txt", "", []byte("plain words"))}})
	if code != http.StatusAccepted {
		t.Fatalf("attachment-only reply: %d %v", code, body)
	}
	if as := body["attachments"].([]any); len(as) != 1 || !strings.HasPrefix(as[0].(map[string]any)["content_type"].(string), "text/plain") {
		t.Fatalf("attachments = %v", body["attachments"])
	}
}

// TestReplyAttachmentLimits: every limit answers with a clear error and
// queues nothing.
func TestReplyAttachmentLimits(t *testing.T) {
	h := newReplyHub(t)
	big := bytes.Repeat([]byte{'a'}, int(inbox.MaxReplyAttachmentBytes)+1)
	nine := bytes.Repeat([]byte{'b'}, 9<<20)
	eight := bytes.Repeat([]byte{'c'}, 17<<19) // 8.5 MiB: three fit the body limit, not the total
	many := make([]any, inbox.MaxReplyAttachments+1)
	for i := range many {
		many[i] = att(fmt.Sprintf("f%d.txt", i), "text/plain", []byte("x"))
	}
	cases := []struct {
		name string
		conv string
		body map[string]any
		code int
		want string
	}{
		{"one too large", h.mail, map[string]any{"text": "x", "attachments": []any{att("big.bin", "", big)}}, 413, "one attachment may have at most"},
		{"together too large", h.mail, map[string]any{"text": "x", "attachments": []any{att("a", "", eight), att("b", "", eight), att("c", "", eight)}}, 413, "together"},
		{"body too large", h.mail, map[string]any{"text": "x", "attachments": []any{att("a", "", nine), att("b", "", nine), att("c", "", nine)}}, 413, "attachments may carry at most"},
		{"too many", h.mail, map[string]any{"text": "x", "attachments": many}, 400, "at most 20"},
		{"no name", h.mail, map[string]any{"text": "x", "attachments": []any{att("", "", []byte("x"))}}, 400, "attachments[0].name"},
		{"path as name", h.mail, map[string]any{"text": "x", "attachments": []any{att("../etc/passwd", "", []byte("x"))}}, 400, "attachments[0].name"},
		{"header in name", h.mail, map[string]any{"text": "x", "attachments": []any{att("a\r\nBcc: x@y", "", []byte("x"))}}, 400, "attachments[0].name"},
		{"empty data", h.mail, map[string]any{"text": "x", "attachments": []any{map[string]any{"name": "a.txt"}}}, 400, "has no data"},
		{"bad base64", h.mail, map[string]any{"text": "x", "attachments": []any{map[string]any{"name": "a.txt", "data": "!!not base64!!"}}}, 400, "base64"},
		{"bad content type", h.mail, map[string]any{"text": "x", "attachments": []any{att("a.txt", "text/plain\r\nBcc: x", []byte("x"))}}, 400, "content_type"},
		{"sms cannot", h.sms, map[string]any{"text": "x", "attachments": []any{att("a.txt", "text/plain", []byte("x"))}}, 422, "attachments are not supported"},
		{"nothing at all", h.mail, map[string]any{"text": " "}, 422, "empty"},
	}
	for _, c := range cases {
		code, body := h.post(t, c.conv, c.body)
		if code != c.code || !strings.Contains(fmt.Sprint(body["message"]), c.want) {
			t.Errorf("%s: %d %v; want %d with %q", c.name, code, body["message"], c.code, c.want)
		}
	}
	// Nothing was queued by any of them.
	st, err := h.st.QueueStats(context.Background(), store.QueueOutbound)
	if err != nil {
		t.Fatal(err)
	}
	if st.Length != 0 {
		t.Fatalf("%d replies queued by refused requests", st.Length)
	}
}

// TestReplyChannelPhaseIsLaw: naming a channel in a reply does not get
// round its phase (DESIGN invariant 8). An agent outside a pilot channel's
// team, and anyone on a shadow channel, is refused with 403 and nothing is
// queued; the pilot team's agents and admins send through the pilot channel.
func TestReplyChannelPhaseIsLaw(t *testing.T) {
	h := newReplyHub(t)
	queued := func() int64 {
		t.Helper()
		st, err := h.st.QueueStats(context.Background(), store.QueueOutbound)
		if err != nil {
			t.Fatal(err)
		}
		return st.Length
	}
	for _, c := range []struct {
		name, token, channel string
		code                 int
	}{
		{"agent outside the pilot team", "tok", "pilotmail", http.StatusForbidden},
		{"pilot team agent, shadow channel", "pia-tok", "shadowmail", http.StatusForbidden},
		{"admin, shadow channel", "root-tok", "shadowmail", http.StatusForbidden},
		{"pilot team agent", "pia-tok", "pilotmail", http.StatusAccepted},
		{"admin, pilot channel", "root-tok", "pilotmail", http.StatusAccepted},
		{"agent outside the pilot team, live channel", "tok", "mail", http.StatusAccepted},
	} {
		before := queued()
		code, body := h.postAs(t, c.token, h.mail, map[string]any{"text": "hello from " + c.name, "channel": c.channel})
		if code != c.code {
			t.Errorf("%s: %d %v, want %d", c.name, code, body, c.code)
			continue
		}
		grew := queued() - before
		if code == http.StatusForbidden {
			if body["error"] != "forbidden" || !strings.Contains(fmt.Sprint(body["message"]), c.channel) {
				t.Errorf("%s: answer %v, want a JSON forbidden error naming the channel", c.name, body)
			}
			if grew != 0 {
				t.Errorf("%s: refused, yet %d replies queued", c.name, grew)
			}
			continue
		}
		if grew != 1 || body["channel"] != c.channel {
			t.Errorf("%s: accepted entry %v, %d queued; want one on %s", c.name, body, grew, c.channel)
		}
	}
}

// TestReplyOnAPIChannelRefused: an api channel only receives, so a reply
// on it through the API is refused up front with 422 channel_cannot_reply
// naming the channel: the conversation keeps its status, nothing is on
// the timeline or in the outbound queue, no attachment is stored. GET
// /api/v1/channels says which channels take replies (those with a Sender:
// not the api channel, the web form or a type whose connector does not send)
// and files (Slack's included).
func TestReplyOnAPIChannelRefused(t *testing.T) {
	h := newReplyHub(t)
	ctx := context.Background()
	before, err := h.st.GetConversation(ctx, h.crm)
	if err != nil {
		t.Fatal(err)
	}
	file := []byte("quote for order 4711")
	for _, body := range []map[string]any{{"text": "on it"}, {"text": "see file", "attachments": []any{att("quote.txt", "text/plain", file)}}} {
		code, out := h.post(t, h.crm, body)
		if code != http.StatusUnprocessableEntity || out["error"] != "channel_cannot_reply" || !strings.Contains(fmt.Sprint(out["message"]), "crm is an api channel") {
			t.Fatalf("reply on the api channel: %d %v", code, out)
		}
	}
	after, err := h.st.GetConversation(ctx, h.crm)
	if err != nil {
		t.Fatal(err)
	}
	es, err := h.st.PageEntries(ctx, after.CustomerID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	q, err := h.st.QueueStats(ctx, store.QueueOutbound)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != before.Status || after.Status != store.StatusOpen || len(es) != 1 || q.Length != 0 {
		t.Fatalf("after a refused reply: status %s (was %s), %d entries, %d queued", after.Status, before.Status, len(es), q.Length)
	}
	sum := sha256.Sum256(file)
	if _, err := h.blobs.Get(ctx, hex.EncodeToString(sum[:])); !errors.Is(err, connectors.ErrBlobNotFound) {
		t.Fatalf("the refused reply's file was stored: %v", err)
	}
	// The same conversation is answered on a channel that can reply.
	if code, out := h.post(t, h.crm, map[string]any{"text": "on it", "channel": "mail"}); code != http.StatusAccepted {
		t.Fatalf("reply by email: %d %v", code, out)
	}

	req := httptest.NewRequest("GET", "/api/v1/channels", nil)
	req.Header.Set("Authorization", "Bearer tok")
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	var list struct {
		Channels []struct {
			Name        string `json:"name"`
			Attachments bool   `json:"attachments"`
			Replies     bool   `json:"replies"`
		} `json:"channels"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != 200 {
		t.Fatalf("channels: %d %s", rec.Code, rec.Body)
	}
	got := map[string]string{}
	for _, c := range list.Channels {
		got[c.Name] = fmt.Sprintf("replies=%v attachments=%v", c.Replies, c.Attachments)
	}
	want := map[string]string{"crm": "replies=false attachments=false", "chat": "replies=true attachments=true",
		"mail": "replies=true attachments=true", "text": "replies=true attachments=false", "form": "replies=false attachments=false",
		"pigeon": "replies=false attachments=false"}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %s, want %s", name, got[name], w)
		}
	}
}

// TestReplyOnReceiveOnlyChannelsThroughTheAPI: a channel with no Sender is
// refused with 422 channel_cannot_reply whatever its type (a web form, a
// made-up type whose connector does not send), naming it; but the phase is checked first, as the router
// does: on an off or shadow api channel or web form the answer is the
// phase's (403 forbidden, "nothing is sent through it"), as for an off
// email channel, not channel_cannot_reply. Nothing is queued either way.
func TestReplyOnReceiveOnlyChannelsThroughTheAPI(t *testing.T) {
	h := newReplyHub(t)
	ctx := context.Background()
	for _, c := range []struct{ channel, says string }{{"form", "form is a webform channel"}, {"pigeon", "pigeon is a carrierpigeon channel"}} {
		code, out := h.post(t, h.mail, map[string]any{"text": "on it", "channel": c.channel})
		if code != http.StatusUnprocessableEntity || out["error"] != "channel_cannot_reply" || !strings.Contains(fmt.Sprint(out["message"]), c.says) {
			t.Fatalf("reply on %s: %d %v, want 422 channel_cannot_reply naming it", c.channel, code, out)
		}
	}
	for _, name := range []string{"crm", "form", "mail"} {
		for _, phase := range []string{store.PhaseOff, store.PhaseShadow} {
			if _, err := h.dir.SetPhase(ctx, name, phase, "root"); err != nil {
				t.Fatal(err)
			}
			code, out := h.postAs(t, "root-tok", h.crm, map[string]any{"text": "on it", "channel": name})
			if code != http.StatusForbidden || out["error"] != "forbidden" || !strings.Contains(fmt.Sprint(out["message"]), "is "+phase) {
				t.Fatalf("reply on %s %s: %d %v, want 403 forbidden naming the phase", phase, name, code, out)
			}
		}
	}
	if q, err := h.st.QueueStats(ctx, store.QueueOutbound); err != nil || q.Length != 0 {
		t.Fatalf("%d queued (%v), want none", q.Length, err)
	}
}
