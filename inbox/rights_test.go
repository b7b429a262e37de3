package inbox_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/export"
	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/retention"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/blobs"
)

type rightsEnv struct {
	t   *testing.T
	st  store.Store
	bl  *blobs.Dir
	srv *inbox.Server
}

func newRightsEnv(t *testing.T, st store.Store) *rightsEnv {
	bl, err := blobs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := directory.New(st, []directory.Channel{{Name: "crm", Type: "api", Phase: store.PhaseLive}}, store.SystemClock, nil)
	srv := inbox.New(inbox.Options{Store: st, Directory: dir, Blobs: bl, Logger: slog.New(slog.DiscardHandler),
		Retention: retention.New(retention.Options{Store: st, Blobs: bl, Channels: map[string]time.Duration{"crm": time.Hour}}),
		Credentials: []inbox.Credential{
			{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken("root-token")},
			{Principal: inbox.Principal{Name: "bot", Role: "agent"}, TokenSHA256: inbox.HashToken("bot-token")},
		}})
	return &rightsEnv{t: t, st: st, bl: bl, srv: srv}
}

func (e *rightsEnv) do(method, path, body, token string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

// customer makes a customer by email with one entry carrying files.
func (e *rightsEnv) customer(email, text string, files ...string) string {
	e.t.Helper()
	ctx := context.Background()
	m := connectors.Message{ID: "crm:" + email, Channel: "crm", Identities: []connectors.Identity{{Type: connectors.Email, Value: email, Verified: true}}, ReceivedAt: time.Now()}
	res, err := identity.NewResolver(e.st, store.SystemClock, nil, nil).Resolve(ctx, m)
	if err != nil {
		e.t.Fatal(err)
	}
	en := store.Entry{ID: "m-" + email, CustomerID: res.Customer, Channel: "crm", Kind: store.KindMessage, Direction: connectors.Inbound, Text: text, OccurredAt: time.Now()}
	for _, f := range files {
		sum, n, err := e.bl.Put(ctx, strings.NewReader(f), 1<<20)
		if err != nil {
			e.t.Fatal(err)
		}
		en.Attachments = append(en.Attachments, connectors.Attachment{Name: "doc.txt", SHA256: sum, Size: n})
	}
	if _, _, err := e.st.AppendEntry(ctx, en); err != nil {
		e.t.Fatal(err)
	}
	return res.Customer
}

func unzip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name], _ = io.ReadAll(r)
		r.Close()
	}
	return out
}

// Two customers upload the same file: erasing one (refused while held,
// done once released) leaves the other's attachment in their export zip,
// with its hash in the manifest; the erased one's own file is gone. Every
// step is audited without content.
func TestSharedAttachmentSurvivesErasure(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		e := newRightsEnv(t, st)
		ann := e.customer("ann@example.com", "ann's private words", "the shared contract", "ann's own file")
		bob := e.customer("bob@example.com", "bob's words", "the shared contract")

		if rec := e.do("PUT", "/api/v1/customers/"+ann+"/hold", `{"reason":"case 12"}`, "bot-token"); rec.Code != 403 {
			t.Fatalf("hold by an agent: %d, want 403", rec.Code)
		}
		if rec := e.do("PUT", "/api/v1/customers/"+ann+"/hold", `{"reason":"case 12"}`, "root-token"); rec.Code != 200 {
			t.Fatalf("hold: %d %s", rec.Code, rec.Body)
		}
		if rec := e.do("DELETE", "/api/v1/customers/"+ann, "", "root-token"); rec.Code != 409 {
			t.Fatalf("erase under hold: %d %s, want 409", rec.Code, rec.Body)
		}
		if rec := e.do("DELETE", "/api/v1/customers/"+ann+"/hold", "", "root-token"); rec.Code != 200 {
			t.Fatalf("release: %d %s", rec.Code, rec.Body)
		}
		rec := e.do("DELETE", "/api/v1/customers/"+ann, "", "root-token")
		if rec.Code != 200 {
			t.Fatalf("erase: %d %s", rec.Code, rec.Body)
		}
		var rep struct {
			Attachments       int `json:"attachments"`
			SharedAttachments int `json:"shared_attachments"`
		}
		json.Unmarshal(rec.Body.Bytes(), &rep)
		if rep.Attachments != 1 || rep.SharedAttachments != 1 {
			t.Fatalf("erasure report %s: want 1 attachment deleted, 1 shared kept", rec.Body)
		}
		if rec := e.do("GET", "/api/v1/customers/"+ann+"/export", "", "root-token"); rec.Code != 404 {
			t.Fatalf("export of the erased customer: %d, want 404", rec.Code)
		}
		own := sha256.Sum256([]byte("ann's own file"))
		if _, err := e.bl.Get(context.Background(), hex.EncodeToString(own[:])); !errors.Is(err, connectors.ErrBlobNotFound) {
			t.Fatalf("ann's unshared file: %v, want gone", err)
		}

		rec = e.do("GET", "/api/v1/customers/"+bob+"/export", "", "root-token")
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/zip" {
			t.Fatalf("bob's export: %d %s", rec.Code, rec.Header().Get("Content-Type"))
		}
		files := unzip(t, rec.Body.Bytes())
		var man export.Manifest
		if err := json.Unmarshal(files["manifest.json"], &man); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte("the shared contract"))
		path := export.AttachmentPath(hex.EncodeToString(sum[:]), "doc.txt")
		if string(files[path]) != "the shared contract" {
			t.Fatalf("bob's export lacks the shared file at %s: files %v", path, man.Files)
		}
		found := false
		for _, f := range man.Files {
			found = found || (f.Path == path && f.SHA256 == hex.EncodeToString(sum[:]))
		}
		if !found {
			t.Fatalf("manifest %+v does not list %s with its hash", man.Files, path)
		}
		if rec := e.do("GET", "/api/v1/customers/"+bob+"/export?format=json", "", "root-token"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "bob's words") {
			t.Fatalf("json export: %d", rec.Code)
		}

		if rec := e.do("POST", "/api/v1/retention/run?dry_run=true", "", "root-token"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"dry_run":true`) {
			t.Fatalf("retention dry run: %d %s", rec.Code, rec.Body)
		}

		as, err := st.ListAudit(context.Background(), 50)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, a := range as {
			seen[a.Action] = true
			raw, _ := json.Marshal(a)
			for _, secret := range []string{"words", "contract", "ann@example.com", "case 12"} {
				if strings.Contains(string(raw), secret) {
					t.Errorf("audit record %s holds %q", raw, secret)
				}
			}
		}
		for _, want := range []string{"customer.hold", "customer.release", "customer.erase", "customer.export"} {
			if !seen[want] {
				t.Errorf("no %s audit record", want)
			}
		}
	})
}

// Erasing one identity removes its binding, its place on the record and
// the sender of its entries; the customer stays.
func TestEraseOneIdentity(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		e := newRightsEnv(t, st)
		ctx := context.Background()
		ann := e.customer("ann@example.com", "hello")
		if _, err := st.UpdateEntry(ctx, "m-ann@example.com", func(x *store.Entry) error {
			x.Sender = &connectors.Identity{Type: connectors.Email, Value: "ann@example.com"}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if rec := e.do("DELETE", "/api/v1/customers/"+ann+"/identities/email:nobody@example.com", "", "root-token"); rec.Code != 404 {
			t.Fatalf("unknown identity: %d", rec.Code)
		}
		if rec := e.do("DELETE", "/api/v1/customers/"+ann+"/identities/email:ann@example.com", "", "root-token"); rec.Code != 200 {
			t.Fatalf("erase identity: %d %s", rec.Code, rec.Body)
		}
		if _, err := st.LookupIdentity(ctx, "email", "ann@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("binding after erasure: %v", err)
		}
		c, err := st.GetCustomer(ctx, ann)
		if err != nil || len(c.Identities) != 0 {
			t.Fatalf("customer %+v (%v): want kept, without the identity", c, err)
		}
		if en, _ := st.GetEntry(ctx, "m-ann@example.com"); en.Sender != nil || en.Text != "hello" {
			t.Fatalf("entry %+v: want the text kept, the sender gone", en)
		}
	})
}
