package inbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// attachmentCSP keeps a downloaded file inert even if a browser renders
// it in place of saving it: no script, no plugin, nothing loaded, a unique
// origin (sandbox).
const attachmentCSP = "default-src 'none'; sandbox"

// mountAttachments serves the files customers sent (email attachments,
// Slack files, the raw original.eml of a malformed mail) to agents who may
// see the entry's conversation.
func (s *Server) mountAttachments(m routeRecorder) {
	m.HandleFunc("GET /api/v1/entries/{id}/attachments/{index}", s.authed(false, s.entryAttachment))
}

// entryAttachment streams attachment {index} (0-based, in the entry's
// order) of entry {id} as a download: Content-Disposition: attachment
// with the file name, X-Content-Type-Options: nosniff and a sandbox CSP,
// so a customer's HTML or SVG never runs in the hub's origin. With
// ?inline=1 a PNG, JPEG, GIF or WebP image is served inline instead (the
// inbox's thumbnails), with the same headers; anything else, SVG
// included, is still a download.
func (s *Server) entryAttachment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	e, err := s.o.Store.GetEntry(ctx, r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	if e.ConversationID != "" {
		c, err := s.o.Store.GetConversation(ctx, e.ConversationID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			storeError(w, err)
			return
		}
		if err == nil && !s.visible(principalFrom(ctx), c) {
			writeError(w, http.StatusNotFound, "not_found", "no such entry")
			return
		}
	}
	i, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || i < 0 || i >= len(e.Attachments) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("the entry has %d attachments", len(e.Attachments)))
		return
	}
	a := e.Attachments[i]
	if a.SHA256 == "" || a.Omitted != "" {
		why := a.Omitted
		if why == "" {
			why = "its content was not kept"
		}
		writeError(w, http.StatusNotFound, "not_kept", fmt.Sprintf("attachment %q: %s", a.Name, why))
		return
	}
	if s.o.Blobs == nil {
		writeError(w, http.StatusServiceUnavailable, "no_blob_store", "this hub has no attachment store")
		return
	}
	rc, err := s.o.Blobs.Get(ctx, a.SHA256)
	if errors.Is(err, connectors.ErrBlobNotFound) {
		writeError(w, http.StatusNotFound, "not_kept", fmt.Sprintf("attachment %q is no longer stored", a.Name))
		return
	}
	if err != nil {
		s.o.Logger.Error("attachment not read", "entry", e.ID, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not read the attachment")
		return
	}
	defer rc.Close()
	body := io.Reader(rc)
	h := w.Header()
	h.Set("Content-Type", downloadType(a.ContentType))
	disposition := "attachment"
	if r.URL.Query().Get("inline") == "1" {
		// A preview: only a raster image type a browser decodes as an
		// image alone, and only when the bytes are that type.
		br := bufio.NewReaderSize(rc, 512)
		head, _ := br.Peek(512)
		body = br
		if t, ok := previewType(a.ContentType, head); ok {
			h.Set("Content-Type", t)
			disposition = "inline"
		}
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": downloadName(a.Name)}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", attachmentCSP)
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "private, no-store")
	if a.Size > 0 {
		h.Set("Content-Length", strconv.FormatInt(a.Size, 10))
	}
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, body); err != nil {
		s.o.Logger.Warn("attachment download cut short", "entry", e.ID, "err", err)
	}
}

// downloadType is the declared media type when it is one (without
// parameters other than charset), else application/octet-stream.
func downloadType(ct string) string {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt == "" || strings.HasPrefix(mt, "multipart/") {
		return "application/octet-stream"
	}
	keep := map[string]string{}
	if cs := params["charset"]; cs != "" {
		keep["charset"] = cs
	}
	if v := mime.FormatMediaType(mt, keep); v != "" {
		return v
	}
	return "application/octet-stream"
}

// downloadName is a file name safe in a header and on a disk: one line,
// no path, not empty.
func downloadName(n string) string {
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, n)
	n = strings.TrimSpace(n)
	if n == "" || n == "." || n == ".." {
		return "attachment"
	}
	return n
}

// previewTypes are the image types served inline for a preview: raster
// formats a browser only ever decodes as pictures (never SVG, which is a
// document that can hold script).
var previewTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp"}

// previewType is the type to serve a preview as: the declared type when it
// is one of previewTypes and the content's first bytes are that type too.
func previewType(declared string, head []byte) (string, bool) {
	mt, _, err := mime.ParseMediaType(declared)
	if err != nil || !slices.Contains(previewTypes, mt) || http.DetectContentType(head) != mt {
		return "", false
	}
	return mt, true
}
