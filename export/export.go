package export

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// ConsentHistory returns one customer record's consent history, oldest
// first. The default is the store's history (ConsentLog.ConsentHistory).
type ConsentHistory func(ctx context.Context, customerID string) ([]store.Consent, error)

// Options configure an export.
type Options struct {
	Clock store.Clock
	// Consents: nil uses the store's consent history.
	Consents ConsentHistory
}

// File is one file of the zip as manifest.json lists it.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Manifest is manifest.json: every other file of the zip with its hash.
type Manifest struct {
	CustomerID string    `json:"customer_id"`
	ExportedAt time.Time `json:"exported_at"`
	Files      []File    `json:"files"`
	// Missing lists attachments whose content the blob store no longer
	// holds (by SHA-256): the entry names them, the zip cannot carry them.
	Missing []string `json:"missing,omitempty"`
}

// Identity is an identity as customer.json shows it.
type Identity struct {
	Type  string `json:"type"`
	Value string `json:"value"`
	// Status is "verified" (proven by the channel) or "claimed".
	Status string `json:"status"`
	// Record is the customer record it is attached to.
	Record string `json:"record"`
}

// Customer is customer.json.
type Customer struct {
	ID            string               `json:"id"`
	Name          string               `json:"name,omitempty"`
	AvatarURL     string               `json:"avatar_url,omitempty"`
	CreatedAt     time.Time            `json:"created_at"`
	Identities    []Identity           `json:"identities"`
	Records       []store.Customer     `json:"records"`
	Merges        []store.Merge        `json:"merges"`
	Conversations []store.Conversation `json:"conversations"`
	Hold          *store.Hold          `json:"hold,omitempty"`
	// Labels and Attributes of the person (issue 24).
	Labels     []string          `json:"labels,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Zip writes the customer's export as a zip to w, streaming, and returns
// its manifest. customerID may be any record of the merged person.
func Zip(ctx context.Context, w io.Writer, st store.Store, blobs connectors.Blobs, customerID string, o Options) (Manifest, error) {
	if o.Clock == nil {
		o.Clock = store.SystemClock
	}
	v, err := timeline.Load(ctx, st, customerID)
	if err != nil {
		return Manifest{}, err
	}
	man := Manifest{CustomerID: v.Root.ID, ExportedAt: o.Clock().UTC(), Files: []File{}}
	zw := zip.NewWriter(w)
	// add opens one file; its size and hash are taken from what is written.
	add := func(name string, write func(io.Writer) error) error {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: man.ExportedAt})
		if err != nil {
			return err
		}
		h := &hashing{w: f, h: sha256.New()}
		if err := write(h); err != nil {
			return fmt.Errorf("export: %s: %w", name, err)
		}
		man.Files = append(man.Files, File{Path: name, Size: h.n, SHA256: hex.EncodeToString(h.h.Sum(nil))})
		return nil
	}

	cust, err := customerFile(ctx, st, v)
	if err != nil {
		return man, err
	}
	if err := add("customer.json", func(w io.Writer) error { return writeJSON(w, cust) }); err != nil {
		return man, err
	}

	// timeline.json streams page by page; the attachments it names are
	// remembered by hash only (a blob shared by entries is one file).
	type att struct{ sum, name string }
	var atts []att
	seen := map[string]bool{}
	if err := add("timeline.json", func(w io.Writer) error {
		if _, err := fmt.Fprintf(w, "{\"customer_id\":%q,\"entries\":[", v.Root.ID); err != nil {
			return err
		}
		first := true
		for cursor := ""; ; {
			es, next, err := timeline.Page(ctx, st, v, cursor, 500)
			if err != nil {
				return err
			}
			for _, e := range es {
				if !first {
					if _, err := io.WriteString(w, ","); err != nil {
						return err
					}
				}
				first = false
				b, err := json.Marshal(e)
				if err != nil {
					return err
				}
				if _, err := w.Write(b); err != nil {
					return err
				}
				for _, a := range e.Attachments {
					if a.SHA256 != "" && !seen[a.SHA256] {
						seen[a.SHA256] = true
						atts = append(atts, att{a.SHA256, a.Name})
					}
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		_, err := io.WriteString(w, "]}")
		return err
	}); err != nil {
		return man, err
	}

	var consents []store.Consent
	for _, id := range v.IDs() {
		var cs []store.Consent
		if o.Consents != nil {
			cs, err = o.Consents(ctx, id)
		} else {
			cs, err = st.ConsentHistory(ctx, id)
		}
		if err != nil {
			return man, err
		}
		consents = append(consents, cs...)
	}
	if consents == nil {
		consents = []store.Consent{}
	}
	if err := add("consents.json", func(w io.Writer) error { return writeJSON(w, map[string]any{"consents": consents}) }); err != nil {
		return man, err
	}

	for _, a := range atts {
		if blobs == nil {
			man.Missing = append(man.Missing, a.sum)
			continue
		}
		r, err := blobs.Get(ctx, a.sum)
		if errors.Is(err, connectors.ErrBlobNotFound) {
			man.Missing = append(man.Missing, a.sum)
			continue
		}
		if err != nil {
			return man, fmt.Errorf("export: attachment %s: %w", a.sum, err)
		}
		err = add(AttachmentPath(a.sum, a.name), func(w io.Writer) error {
			_, err := io.Copy(w, r)
			return err
		})
		r.Close()
		if err != nil {
			return man, err
		}
	}
	// The manifest lists every file above; it cannot list itself.
	f, err := zw.CreateHeader(&zip.FileHeader{Name: "manifest.json", Method: zip.Deflate, Modified: man.ExportedAt})
	if err != nil {
		return man, err
	}
	if err := writeJSON(f, man); err != nil {
		return man, err
	}
	return man, zw.Close()
}

// AttachmentPath is where an attachment's content lies in the zip:
// attachments/<first 16 hex digits of its SHA-256>-<its name, made safe>.
func AttachmentPath(sum, name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, name)
	if name == "" || name == "." || name == ".." || name == "/" {
		name = "file"
	}
	if len(name) > 100 {
		name = name[:100]
	}
	return "attachments/" + sum[:min(16, len(sum))] + "-" + name
}

func customerFile(ctx context.Context, st store.Store, v timeline.View) (Customer, error) {
	out := Customer{ID: v.Root.ID, Name: v.Root.Name, AvatarURL: v.Root.AvatarURL, CreatedAt: v.Root.CreatedAt,
		Identities: []Identity{}, Records: v.Members, Merges: []store.Merge{}, Hold: v.Root.Hold}
	out.Labels, out.Attributes = timeline.MergedLabels(v)
	seen := map[string]bool{}
	for _, m := range v.Members {
		if out.Name == "" {
			out.Name = m.Name
		}
		for _, id := range m.Identities {
			status := "claimed"
			if id.Verified {
				status = "verified"
			}
			out.Identities = append(out.Identities, Identity{Type: id.Type, Value: id.Value, Status: status, Record: m.ID})
		}
		ms, err := st.ListMerges(ctx, m.ID)
		if err != nil {
			return out, err
		}
		for _, x := range ms {
			if !seen[x.ID] {
				seen[x.ID] = true
				out.Merges = append(out.Merges, x)
			}
		}
	}
	cs, err := timeline.Conversations(ctx, st, v, 10000)
	if err != nil {
		return out, err
	}
	out.Conversations = cs
	if out.Conversations == nil {
		out.Conversations = []store.Conversation{}
	}
	return out, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// hashing counts and hashes what passes through to w.
type hashing struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (h *hashing) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}
