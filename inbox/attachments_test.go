package inbox_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// TestAttachmentDownloadIsSafe: an agent downloads the files a customer
// sent from the conversation; whatever the file (here HTML with a
// script), it comes as a download that cannot run in the hub's origin.
func TestAttachmentDownloadIsSafe(t *testing.T) {
	h := newReplyHub(t)
	ctx := context.Background()
	conv, err := h.st.GetConversation(ctx, h.mail)
	if err != nil {
		t.Fatal(err)
	}
	evil := []byte(`<html><script>fetch("/api/v1/customers")</script></html>`)
	sum, n, err := h.blobs.Put(ctx, bytes.NewReader(evil), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	e := store.Entry{ID: "m_attach1", CustomerID: conv.CustomerID, ConversationID: conv.ID, Channel: "mail", Direction: connectors.Inbound,
		Kind: store.KindMessage, Text: "see attached", OccurredAt: now, CreatedAt: now, UpdatedAt: now,
		Attachments: []connectors.Attachment{{Name: "invoice\r\n/../x.html", ContentType: "text/html; charset=utf-8; name=x", Size: n, SHA256: sum},
			{Name: "huge.zip", ContentType: "application/zip", Size: 1 << 30, Omitted: "larger than max_attachment_bytes"}}}
	if _, _, err := h.st.AppendEntry(ctx, e); err != nil {
		t.Fatal(err)
	}
	get := func(token, path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.srv.ServeHTTP(rec, req)
		return rec
	}
	rec := get("tok", "/api/v1/entries/m_attach1/attachments/0")
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), evil) {
		t.Fatalf("download: %d %q", rec.Code, rec.Body.String())
	}
	for k, want := range map[string]string{
		"Content-Disposition":     "attachment; filename=invoice___.._x.html",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; sandbox",
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "private, no-store",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if rec := get("tok", "/api/v1/entries/m_attach1/attachments/1"); rec.Code != http.StatusNotFound {
		t.Fatalf("an omitted file: %d", rec.Code)
	}
	if rec := get("tok", "/api/v1/entries/m_attach1/attachments/2"); rec.Code != http.StatusNotFound {
		t.Fatalf("no such attachment: %d", rec.Code)
	}
	if rec := get("", "/api/v1/entries/m_attach1/attachments/0"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("without a token: %d", rec.Code)
	}
}
