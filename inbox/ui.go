package inbox

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/microcosm-cc/bluemonday"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// The web UI: plain HTML, CSS and JavaScript embedded in the binary (no
// build step), served at / with a strict Content-Security-Policy. The UI
// only talks to the JSON API (with the session cookie and CSRF token) and
// the SSE stream; it builds every piece of customer content with
// textContent, and shows email HTML only inside a sandboxed frame whose
// document comes from entryHTML below with a CSP of its own.

//go:embed ui
var uiFiles embed.FS

// appCSP is the UI's policy: only its own scripts, styles, API and frames;
// no inline script or style, no plugins, not framable.
const appCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// htmlCSP is the policy of a shown email body: nothing may load or run but
// inline data: images and inline styles; the document is sandboxed (an
// opaque origin, no script, no top navigation, no forms) even when opened
// outside its frame. Links may open in a new tab.
const htmlCSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; " +
	"frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"

type asset struct {
	body  []byte
	ctype string
	etag  string
}

func loadAssets() map[string]asset {
	out := map[string]asset{}
	fs.WalkDir(uiFiles, "ui", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := uiFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		out[strings.TrimPrefix(p, "ui/")] = asset{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	out["langs.js"] = langsAsset(out)
	return out
}

// langsAsset is every message catalogue (ui/lang-CODE.js, see ui/i18n.js)
// in one script, ending with the choice of language: adding a language is
// adding one file.
func langsAsset(assets map[string]asset) asset {
	var names []string
	for n := range assets {
		if strings.HasPrefix(n, "lang-") && strings.HasSuffix(n, ".js") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		b.Write(assets[n].body)
		b.WriteString("\n")
	}
	b.WriteString("sbSetLang(sbChooseLang(), false);\n")
	sum := sha256.Sum256(b.Bytes())
	return asset{body: b.Bytes(), ctype: "text/javascript; charset=utf-8", etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// uiHeaders sets the app's security headers; over https (TLS, or an https
// public URL) also HSTS, so the browser never tries plain HTTP again.
func (s *Server) uiHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if s.sess.secure(r) {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	h.Set("Content-Security-Policy", appCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// mountUI serves the UI: / (the app), /admin (the app, for admins only) and
// /ui/FILE (its assets).
func (s *Server) mountUI() {
	assets := loadAssets()
	serve := func(w http.ResponseWriter, r *http.Request, name string) {
		a, ok := assets[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		s.uiHeaders(w, r)
		w.Header().Set("Content-Type", a.ctype)
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", a.etag)
		if r.Header.Get("If-None-Match") == a.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(a.body)
	}
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { serve(w, r, "index.html") })
	s.mux.HandleFunc("GET /ui/{file}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("file") == "index.html" {
			http.Redirect(w, r, "/", http.StatusFound)
			return
		}
		serve(w, r, r.PathValue("file"))
	})
	// Admin pages are refused to agents by the server itself, not only hidden
	// by the app. Someone not signed in gets the app, which asks them to.
	s.mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		if c := s.sess.readCookie(r); c != "" {
			if sess, err := s.sess.check(r.Context(), c); err == nil {
				if p, ok := s.auth.byName(sess.Name); ok && !p.IsAdmin() {
					s.uiHeaders(w, r)
					w.Header().Set("Content-Type", "text/html; charset=utf-8")
					w.WriteHeader(http.StatusForbidden)
					forbiddenPage.Execute(w, p.Name)
					return
				}
			}
		}
		serve(w, r, "index.html")
	})
}

// forbiddenPage is in the agent's language: the inbox's catalogues
// (i18n.js, langs.js) fill in its data-i18n texts.
var forbiddenPage = template.Must(template.New("403").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Admins only · Switchboard</title><link rel="stylesheet" href="/ui/app.css">
<script src="/ui/i18n.js" defer></script><script src="/ui/langs.js" defer></script></head>
<body class="forbidden"><main><h1 data-i18n="forbidden.title">Admins only</h1><p><span data-i18n="forbidden.signedInAs">You are signed in as</span> {{.}}<span data-i18n="forbidden.agent">, an agent. Channels and phases are managed by admins.</span></p>
<p><a href="/" data-i18n="forbidden.back">Back to the inbox</a></p></main></body></html>`))

// ---- the inbox list ---------------------------------------------------------

// CustomerSummary is what the inbox list shows of a conversation's customer.
type CustomerSummary struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	AvatarURL string `json:"avatar_url,omitempty"`
	// Identity is the first identity, shown when there is no name.
	Identity string `json:"identity,omitempty"`
}

// InboxItem is one row of the inbox: the conversation, its (root) customer
// and the type of its channel (for the icon).
type InboxItem struct {
	store.Conversation
	Customer    CustomerSummary `json:"customer"`
	ChannelType string          `json:"channel_type"`
}

// inboxList answers GET /api/v1/inbox: the conversations list of
// /api/v1/conversations with what the UI shows beside each one, in one call.
func (s *Server) inboxList(w http.ResponseWriter, r *http.Request) {
	if badSort(w, r) || badPriority(w, r) { // sortparam.go, priority.go
		return
	}
	cs, next, err := s.o.Store.ListConversations(r.Context(), s.conversationFilter(r, 200))
	if err != nil {
		storeError(w, err)
		return
	}
	items := make([]InboxItem, 0, len(cs))
	known := map[string]CustomerSummary{}
	for _, c := range cs {
		sum, ok := known[c.CustomerID]
		if !ok {
			root, err := timeline.Root(r.Context(), s.o.Store, c.CustomerID)
			switch {
			case errors.Is(err, store.ErrNotFound):
				sum = CustomerSummary{ID: c.CustomerID}
			case err != nil:
				storeError(w, err)
				return
			default:
				sum = CustomerSummary{ID: root.ID, Name: root.Name, AvatarURL: root.AvatarURL}
				if len(root.Identities) > 0 {
					sum.Identity = root.Identities[0].Value
				}
			}
			known[c.CustomerID] = sum
		}
		ch, _ := s.o.Directory.Get(c.Channel)
		items = append(items, InboxItem{Conversation: c, Customer: sum, ChannelType: ch.Type})
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": items, "next": next, "now": s.o.Clock().UTC()})
}

// ---- email HTML -------------------------------------------------------------

// displayPolicy sanitises email HTML again before it is shown (it was
// sanitised at ingest; a second pass keeps an older or foreign record from
// reaching a browser unsanitised): bluemonday's UGC policy; only absolute
// links are kept (a relative one would navigate the frame inside the hub),
// and they open in a new tab without a referrer; inline data: images
// (data:image/…;base64) are kept, and every other image becomes an empty
// data: URL, so nothing remote is fetched.
var displayPolicy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("cid")
	p.AllowRelativeURLs(false)
	p.AllowDataURIImages()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.RewriteSrc(func(u *url.URL) {
		if u.Scheme != "data" {
			*u = url.URL{Scheme: "data", Opaque: ","}
		}
	})
	return p
}()

// SanitizeForDisplay is the sanitiser applied to email HTML when it is shown.
func SanitizeForDisplay(html string) string { return displayPolicy.Sanitize(html) }

// entryHTML serves the sanitised HTML body of an entry as a document of its
// own (GET /api/v1/entries/{id}/html), for the UI's sandboxed frame. It
// follows the rule of GET /api/v1/customers/{id}/timeline, which returns
// the entry (html included) to every signed-in agent: whoever may read a
// customer's timeline may read its entries' HTML, whatever the audience of
// the conversation an entry belongs to (DESIGN invariant 8: shadow
// messages are put on timelines; only conversations are withheld).
func (s *Server) entryHTML(w http.ResponseWriter, r *http.Request) {
	e, err := s.o.Store.GetEntry(r.Context(), r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	if e.HTML == "" {
		writeError(w, http.StatusNotFound, "not_found", "no HTML body to show")
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", htmlCSP)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(`<!doctype html><html><head><meta charset="utf-8"><style>body{font:14px/1.45 system-ui,sans-serif;margin:8px;color:#1d2330;overflow-wrap:anywhere}img{max-width:100%}</style></head><body>`))
	w.Write([]byte(SanitizeForDisplay(e.HTML)))
	w.Write([]byte(`</body></html>`))
}
