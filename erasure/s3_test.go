package erasure_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/erasure"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/blobs/blobtest"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Erasure reaches attachments kept on S3-compatible storage (a real
// server): erasing a customer deletes the objects only they referenced,
// and keeps one another customer's entry still references, until that
// customer is erased too.
func TestErasureReachesS3(t *testing.T) {
	bl := blobtest.S3(t)
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dir := directory.New(st, erasureChannels, store.SystemClock, nil)
		rt := router.New(st, dir, router.Options{})
		in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
		convs := timeline.NewService(st, timeline.Options{})
		tag := t.Name() // each backend its own content, so the bucket is shared safely
		put := func(content string) connectors.Attachment {
			sum, size, err := bl.Put(ctx, strings.NewReader(content+tag), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			return connectors.Attachment{Name: "file.txt", ContentType: "text/plain", Size: size, SHA256: sum}
		}
		send := func(provider, text string, atts []connectors.Attachment, id connectors.Identity) {
			m, err := in.Prepare(connectors.Message{Channel: "sms", ProviderID: provider, Text: text, Identities: []connectors.Identity{id},
				Attachments: atts, OccurredAt: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatal(err)
			}
			if err := rt.Process(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		erin := connectors.Identity{Type: connectors.Phone, Value: "+358409998877", Verified: true}
		bob := connectors.Identity{Type: connectors.Phone, Value: "+358401112223", Verified: true}
		shared, own := put("the shared price list "), put("erin's own invoice ")
		send("SMerin1", "here is my invoice", []connectors.Attachment{shared, own}, erin)
		send("SMbob1", "price list?", []connectors.Attachment{shared}, bob)
		customer := func(id connectors.Identity) string {
			b, err := st.LookupIdentity(ctx, id.Type, id.Value)
			if err != nil {
				t.Fatal(err)
			}
			return b.CustomerID
		}

		rep, err := erasure.Erase(ctx, st, bl, customer(erin), "admin", store.SystemClock, convs.Delete)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Attachments != 1 || rep.SharedAttachments != 1 {
			t.Fatalf("report %+v: want 1 attachment deleted and 1 shared kept", rep)
		}
		if _, err := bl.Get(ctx, own.SHA256); !errors.Is(err, connectors.ErrBlobNotFound) {
			t.Fatalf("Erin's own attachment on S3 after her erasure: %v, want gone", err)
		}
		r, err := bl.Get(ctx, shared.SHA256)
		if err != nil {
			t.Fatalf("the attachment Bob shares went with Erin: %v", err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if string(got) != "the shared price list "+tag {
			t.Fatalf("the shared attachment reads %q", got)
		}

		if _, err := erasure.Erase(ctx, st, bl, customer(bob), "admin", store.SystemClock, convs.Delete); err != nil {
			t.Fatal(err)
		}
		if _, err := bl.Get(ctx, shared.SHA256); !errors.Is(err, connectors.ErrBlobNotFound) {
			t.Fatalf("the shared attachment after both customers' erasure: %v, want gone", err)
		}
	})
}
