package inbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/store"
)

// TestAttachmentPreviewOnlyForRasterImages: ?inline=1 serves a PNG,
// JPEG, GIF or WebP inline (for the inbox's thumbnails), with the same
// nosniff and sandbox CSP; an SVG, an HTML file, and an HTML file
// declared as a PNG stay downloads.
func TestAttachmentPreviewOnlyForRasterImages(t *testing.T) {
	h := newReplyHub(t)
	ctx := context.Background()
	conv, err := h.st.GetConversation(ctx, h.mail)
	if err != nil {
		t.Fatal(err)
	}
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	files := []struct {
		name, ct string
		data     []byte
		inline   string // the Content-Type served inline; "" = a download
	}{
		{"photo.png", "image/png", tinyPNG(t), "image/png"},
		{"anim.gif", "image/gif", gif, "image/gif"},
		{"logo.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), ""},
		{"page.html", "text/html", []byte(`<script>alert(1)</script>`), ""},
		{"fake.png", "image/png", []byte(`<html><script>alert(1)</script></html>`), ""},
	}
	var atts []connectors.Attachment
	for _, f := range files {
		sum, n, err := h.blobs.Put(ctx, bytes.NewReader(f.data), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		atts = append(atts, connectors.Attachment{Name: f.name, ContentType: f.ct, Size: n, SHA256: sum})
	}
	now := time.Now().UTC()
	if _, _, err := h.st.AppendEntry(ctx, store.Entry{ID: "m_prev", CustomerID: conv.CustomerID, ConversationID: conv.ID, Channel: "mail",
		Direction: connectors.Inbound, Kind: store.KindMessage, Text: "pictures", OccurredAt: now, CreatedAt: now, UpdatedAt: now, Attachments: atts}); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		for _, q := range []string{"", "?inline=1"} {
			req := httptest.NewRequest("GET", "/api/v1/entries/m_prev/attachments/"+strconv.Itoa(i)+q, nil)
			req.Header.Set("Authorization", "Bearer tok")
			rec := httptest.NewRecorder()
			h.srv.ServeHTTP(rec, req)
			if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), f.data) {
				t.Fatalf("%s%s: %d, %d bytes", f.name, q, rec.Code, rec.Body.Len())
			}
			hd := rec.Header()
			if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("Content-Security-Policy") != "default-src 'none'; sandbox" {
				t.Errorf("%s%s: headers %v", f.name, q, hd)
			}
			disp := hd.Get("Content-Disposition")
			if q != "" && f.inline != "" {
				if disp != "inline; filename="+f.name || hd.Get("Content-Type") != f.inline {
					t.Errorf("%s preview: %q, %q", f.name, disp, hd.Get("Content-Type"))
				}
			} else if disp != "attachment; filename="+f.name {
				t.Errorf("%s%s: Content-Disposition %q, want a download", f.name, q, disp)
			}
		}
	}
}

// TestChannelsSayWhichSendFiles: the channel list tells the composer
// which channels take files (email), and an SMS reply with a file is
// refused with a clear 422.
func TestChannelsSayWhichSendFiles(t *testing.T) {
	h := newReplyHub(t)
	req := httptest.NewRequest("GET", "/api/v1/channels", nil)
	req.Header.Set("Authorization", "Bearer tok")
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	var out struct {
		Channels []struct {
			Name        string `json:"name"`
			Attachments bool   `json:"attachments"`
		} `json:"channels"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != 200 {
		t.Fatalf("channels: %d %s", rec.Code, rec.Body)
	}
	got := map[string]bool{}
	for _, c := range out.Channels {
		got[c.Name] = c.Attachments
	}
	if !got["mail"] || got["text"] {
		t.Fatalf("attachments by channel = %v", got)
	}
	code, body := h.post(t, h.sms, map[string]any{"text": "see file", "attachments": []any{att("a.txt", "text/plain", []byte("a"))}})
	if code != 422 || body["error"] != "attachments_unsupported" {
		t.Fatalf("SMS reply with a file: %d %v", code, body)
	}
}

// TestComposerLimitsMatchServer keeps files.js's limits equal to the
// server's, so the composer refuses exactly what the server would.
func TestComposerLimitsMatchServer(t *testing.T) {
	src, err := os.ReadFile("ui/files.js")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{"MAX_FILES": inbox.MaxReplyAttachments, "MAX_FILE_BYTES": inbox.MaxReplyAttachmentBytes,
		"MAX_TOTAL_BYTES": inbox.MaxReplyAttachmentsBytes} {
		m := regexp.MustCompile(`const ` + name + ` = (\d+)(?: << (\d+))?;`).FindStringSubmatch(string(src))
		if m == nil {
			t.Fatalf("files.js has no %s", name)
		}
		v, _ := strconv.ParseInt(m[1], 10, 64)
		if m[2] != "" {
			sh, _ := strconv.Atoi(m[2])
			v <<= sh
		}
		if v != want {
			t.Errorf("files.js %s = %d, server %d", name, v, want)
		}
	}
	if !strings.Contains(string(src), "sbComposerAttachments") {
		t.Error("files.js does not offer the attachments to app.js")
	}
}
