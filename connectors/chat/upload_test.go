package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack/slacktest"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store/blobs"
)

// fakeUploads is Slack's external upload on the slacktest server:
// files.getUploadURLExternal hands out an upload URL on the same server,
// the upload keeps the bytes by file id, files.completeUploadExternal
// records where the files were shared.
type fakeUploads struct {
	mu        sync.Mutex
	base      string // the server's origin, for upload URLs
	next      int
	names     map[string]string // file id -> filename asked for
	lengths   map[string]string // file id -> length asked for
	got       map[string][]byte // file id -> bytes uploaded
	gotNames  map[string]string // file id -> filename of the multipart part
	completes []url.Values
	// completeErr is a Slack error files.completeUploadExternal answers.
	completeErr string
	// uploadStatus, when set, is the upload URL's HTTP answer.
	uploadStatus int
}

func newFakeUploads() *fakeUploads {
	return &fakeUploads{names: map[string]string{}, lengths: map[string]string{}, got: map[string][]byte{}, gotNames: map[string]string{}}
}

func (u *fakeUploads) bind(c slacktest.Customize) {
	c.Handle("/files.getUploadURLExternal", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		u.mu.Lock()
		u.next++
		id := fmt.Sprintf("F0UPLOAD%d", u.next)
		u.names[id], u.lengths[id] = r.Form.Get("filename"), r.Form.Get("length")
		u.mu.Unlock()
		writeJSON(w, map[string]any{"ok": true, "file_id": id, "upload_url": u.base + "/upload/v1/" + id})
	})
	c.Handle("/upload/v1/", func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/upload/v1/")
		u.mu.Lock()
		status := u.uploadStatus
		u.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		f, hdr, err := r.FormFile("file")
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(f)
		u.mu.Lock()
		u.got[id], u.gotNames[id] = b, hdr.Filename
		u.mu.Unlock()
		io.WriteString(w, "OK - "+fmt.Sprint(len(b)))
	})
	c.Handle("/files.completeUploadExternal", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		u.mu.Lock()
		defer u.mu.Unlock()
		if u.completeErr != "" {
			writeJSON(w, map[string]any{"ok": false, "error": u.completeErr})
			return
		}
		u.completes = append(u.completes, r.Form)
		writeJSON(w, map[string]any{"ok": true, "files": []any{}})
	})
}

func (u *fakeUploads) set(fn func(u *fakeUploads)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	fn(u)
}

// uploadHub is a hub whose Slack channel has a blob store and a Slack
// server that takes uploads, with one customer message in a thread.
func uploadHub(t *testing.T) (*hub, *fakeUploads, *blobs.Dir, string) {
	t.Helper()
	bl, err := blobs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	up := newFakeUploads()
	h := newHub(t, func(s *hubSetup) { s.binders = append(s.binders, up.bind); s.blobs = bl })
	up.base = strings.TrimSuffix(strings.TrimSuffix(h.slack.GetAPIURL(), "/"), "/api")
	h.run(t)
	h.mustSend(t, ev("Ev0UPQ", map[string]any{"text": "question", "ts": "1760000000.000100"}))
	h.mustSend(t, ev("Ev0UPQ2", map[string]any{"text": "the log?", "ts": "1760000010.000100", "thread_ts": "1760000000.000100"}))
	es := h.waitEntries(t, customerKey, 2)
	return h, up, bl, es[1].ConversationID
}

func putBlob(t *testing.T, bl *blobs.Dir, name, ctype string, data []byte) connectors.Attachment {
	t.Helper()
	sum, n, err := bl.Put(context.Background(), bytes.NewReader(data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return connectors.Attachment{Name: name, ContentType: ctype, Size: n, SHA256: sum}
}

// TestReplyFilesUploadedIntoThread: an agent's reply with files reaches
// the customer's Slack thread as one message: each file's bytes and name
// uploaded, all shared in the conversation's channel and thread with the
// escaped reply text as the comment; nothing goes through chat.postMessage.
func TestReplyFilesUploadedIntoThread(t *testing.T) {
	h, up, bl, conv := uploadHub(t)
	logTxt := []byte("2026-12-07 lamp: overheat at 14:02\n")
	png := []byte("\x89PNG\r\n\x1a\n not really a picture")
	atts := []connectors.Attachment{putBlob(t, bl, "lamp.log", "text/plain", logTxt), putBlob(t, bl, "wiring diagram.png", "image/png", png)}
	e, err := h.out.ReplyWith(context.Background(), router.ReplyRequest{ConversationID: conv, Agent: "alice",
		Text: "Here are the <b>files</b> & the log", Attachments: atts})
	if err != nil {
		t.Fatal(err)
	}
	e = h.waitEntry(t, e.ID)
	if e.Status != connectors.StatusSent || !strings.HasPrefix(e.ProviderID, "C0SUPPORT:files:") {
		t.Fatalf("entry %+v", e)
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	want := map[string][]byte{"lamp.log": logTxt, "wiring diagram.png": png}
	if len(up.got) != 2 {
		t.Fatalf("%d files uploaded", len(up.got))
	}
	var ids []string
	for id, b := range up.got {
		name := up.names[id]
		if !bytes.Equal(b, want[name]) || up.gotNames[id] != name || up.lengths[id] != fmt.Sprint(len(want[name])) {
			t.Errorf("file %s: name %q (part %q, length %s), bytes %q", id, name, up.gotNames[id], up.lengths[id], b)
		}
		ids = append(ids, id)
	}
	if len(up.completes) != 1 {
		t.Fatalf("%d files.completeUploadExternal calls", len(up.completes))
	}
	c := up.completes[0]
	if c.Get("channel_id") != "C0SUPPORT" || c.Get("thread_ts") != "1760000000.000100" {
		t.Fatalf("shared into channel %q thread %q", c.Get("channel_id"), c.Get("thread_ts"))
	}
	if c.Get("initial_comment") != "Here are the &lt;b&gt;files&lt;/b&gt; &amp; the log" {
		t.Fatalf("initial comment %q", c.Get("initial_comment"))
	}
	for _, id := range ids {
		if !strings.Contains(c.Get("files"), `"`+id+`"`) {
			t.Fatalf("files %s lacks %s", c.Get("files"), id)
		}
	}
	if n := len(h.slack.posted()); n != 0 {
		t.Fatalf("%d chat.postMessage calls besides the upload", n)
	}
}

// TestReplyFilesFailureMarksReply: what Slack refuses fails the reply with
// Slack's reason; the reply keeps its files in the hub (nothing lost), and
// a file the hub no longer holds is named as the reason, with nothing sent.
func TestReplyFilesFailureMarksReply(t *testing.T) {
	h, up, bl, conv := uploadHub(t)
	up.set(func(u *fakeUploads) { u.completeErr = "not_in_channel" })
	att := putBlob(t, bl, "invoice.pdf", "application/pdf", []byte("%PDF-1.7 invoice"))
	e, err := h.out.ReplyWith(context.Background(), router.ReplyRequest{ConversationID: conv, Agent: "alice", Text: "the invoice", Attachments: []connectors.Attachment{att}})
	if err != nil {
		t.Fatal(err)
	}
	e = h.waitEntry(t, e.ID)
	if e.Status != connectors.StatusFailed || !strings.Contains(e.StatusDetail, "not_in_channel") || len(e.Attachments) != 1 || e.Attachments[0].SHA256 != att.SHA256 {
		t.Fatalf("entry %+v", e)
	}
	if rc, err := bl.Get(context.Background(), att.SHA256); err != nil {
		t.Fatalf("the file is gone from the hub: %v", err)
	} else {
		rc.Close()
	}

	// A file whose content the hub no longer holds: nothing uploaded.
	up.set(func(u *fakeUploads) { u.completeErr = ""; u.got = map[string][]byte{} })
	gone := putBlob(t, bl, "gone.txt", "text/plain", []byte("erased"))
	if err := bl.Delete(context.Background(), gone.SHA256); err != nil {
		t.Fatal(err)
	}
	e, err = h.out.ReplyWith(context.Background(), router.ReplyRequest{ConversationID: conv, Agent: "alice", Text: "x", Attachments: []connectors.Attachment{gone}})
	if err != nil {
		t.Fatal(err)
	}
	e = h.waitEntry(t, e.ID)
	if e.Status != connectors.StatusFailed || !strings.Contains(e.StatusDetail, `"gone.txt" has no stored content`) {
		t.Fatalf("entry %+v", e)
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if len(up.got) != 0 || len(up.completes) != 0 {
		t.Fatalf("sent %d files, %d shares", len(up.got), len(up.completes))
	}
}

// TestUploadErrorsClassified: a Slack server error on the way is retried
// by the queue (not permanent); an upload URL refusing the file is
// permanent; neither shares anything.
func TestUploadErrorsClassified(t *testing.T) {
	bl, err := blobs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	up := newFakeUploads()
	h := newHub(t, func(s *hubSetup) { s.binders = append(s.binders, up.bind); s.blobs = bl })
	up.base = strings.TrimSuffix(strings.TrimSuffix(h.slack.GetAPIURL(), "/"), "/api")
	out := connectors.Outgoing{Channel: channelName, ThreadKey: "C0SUPPORT:1760000000.000100", InReplyTo: "C0SUPPORT:1760000000.000100",
		Attachments: []connectors.Attachment{putBlob(t, bl, "a.txt", "text/plain", []byte("a"))}}
	for _, tc := range []struct {
		status    int
		permanent bool
	}{{http.StatusInternalServerError, false}, {http.StatusForbidden, true}} {
		up.set(func(u *fakeUploads) { u.uploadStatus = tc.status })
		_, err := h.ch.Send(context.Background(), out)
		if err == nil || errors.Is(err, connectors.ErrPermanent) != tc.permanent || !strings.Contains(err.Error(), `"a.txt"`) {
			t.Errorf("upload answering %d: err = %v, permanent want %v", tc.status, err, tc.permanent)
		}
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if len(up.completes) != 0 {
		t.Fatalf("%d shares after failed uploads", len(up.completes))
	}
}
