package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/export"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/blobs"
)

// seed gives customer c n entries, every (n/files)th with its own
// attachment of size bytes, and returns the attachments' content by hash.
func seed(t testing.TB, st store.Store, bl connectors.Blobs, c string, n, files, size int) map[string][]byte {
	ctx := context.Background()
	if err := st.CreateCustomer(ctx, store.Customer{ID: c, Name: "Ann Export",
		Identities: []connectors.Identity{{Type: "email", Value: "ann@example.com", Verified: true}, {Type: "phone", Value: "+358401234567"}}}); err != nil {
		t.Fatal(err)
	}
	content := map[string][]byte{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rnd := rand.New(rand.NewSource(1))
	for i := 0; i < n; i++ {
		e := store.Entry{ID: fmt.Sprintf("e%05d", i), CustomerID: c, Channel: "api", Kind: store.KindMessage, Direction: connectors.Inbound,
			Text: fmt.Sprintf("message %d", i), Fields: []connectors.Field{{Name: "order", Value: fmt.Sprint(i)}}, OccurredAt: t0.Add(time.Duration(i) * time.Second)}
		if files > 0 && i%(n/files) == 0 && len(content) < files {
			b := make([]byte, size)
			rnd.Read(b)
			sum, sz, err := bl.Put(ctx, bytes.NewReader(b), int64(size))
			if err != nil {
				t.Fatal(err)
			}
			content[sum] = b
			e.Attachments = []connectors.Attachment{{Name: fmt.Sprintf("../scan %d.pdf", i), ContentType: "application/pdf", Size: sz, SHA256: sum}}
		}
		if _, _, err := st.AppendEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutConsent(ctx, store.Consent{CustomerID: c, Channel: "*", Purpose: "marketing", Granted: true, Source: "web form", At: t0}); err != nil {
		t.Fatal(err)
	}
	// A withdrawal later: the current state is one decision, the history
	// (what consents.json carries) two.
	if err := st.PutConsent(ctx, store.Consent{CustomerID: c, Channel: "*", Purpose: "marketing", Granted: false, Source: "self_service", At: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return content
}

// A customer with 1,000 entries and 50 attachments: the zip holds every
// entry, every file with the right bytes, and a manifest whose hashes
// match each file.
func TestZipHoldsEverything(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		bl, err := blobs.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		content := seed(t, st, bl, "c1", 1000, 50, 4096)
		var buf bytes.Buffer
		man, err := export.Zip(context.Background(), &buf, st, bl, "c1", export.Options{})
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, f := range zr.File {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r)
			r.Close()
			files[f.Name] = b
		}
		var m export.Manifest
		if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
			t.Fatalf("manifest.json: %v", err)
		}
		if len(m.Files) != len(man.Files) || len(m.Files) != 3+50 || len(files) != len(m.Files)+1 {
			t.Fatalf("manifest lists %d files, zip has %d, want 53 + manifest", len(m.Files), len(files))
		}
		for _, f := range m.Files {
			b, ok := files[f.Path]
			sum := sha256.Sum256(b)
			if !ok || hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(b)) != f.Size {
				t.Errorf("file %s: present %v, hash/size do not match the manifest", f.Path, ok)
			}
		}
		for sum, want := range content {
			got, ok := files[export.AttachmentPath(sum, "scan.pdf")]
			if !ok {
				for name, b := range files {
					if bytes.Equal(b, want) {
						got, ok = b, true
						if name[:12] != "attachments/" {
							t.Errorf("attachment at %s, outside attachments/", name)
						}
					}
				}
			}
			if !ok || !bytes.Equal(got, want) {
				t.Errorf("attachment %s missing or different", sum)
			}
		}
		var tl struct {
			Entries []store.Entry `json:"entries"`
		}
		if err := json.Unmarshal(files["timeline.json"], &tl); err != nil {
			t.Fatalf("timeline.json: %v", err)
		}
		seen := map[string]bool{}
		for _, e := range tl.Entries {
			seen[e.ID] = true
			if len(e.Fields) != 1 {
				t.Fatalf("entry %s lost its fields", e.ID)
			}
		}
		if len(seen) != 1000 {
			t.Fatalf("timeline.json has %d distinct entries, want 1000", len(seen))
		}
		var cust export.Customer
		if err := json.Unmarshal(files["customer.json"], &cust); err != nil || cust.Name != "Ann Export" || len(cust.Identities) != 2 {
			t.Fatalf("customer.json: %+v (%v)", cust, err)
		}
		if cust.Identities[0].Status != "verified" || cust.Identities[1].Status != "claimed" {
			t.Fatalf("identity status: %+v", cust.Identities)
		}
		var cs struct{ Consents []store.Consent }
		if err := json.Unmarshal(files["consents.json"], &cs); err != nil || len(cs.Consents) != 2 || !cs.Consents[0].Granted || cs.Consents[1].Granted {
			t.Fatalf("consents.json, want the history (granted, then withdrawn): %s (%v)", files["consents.json"], err)
		}
	})
}

// peakHeap runs f while sampling the live heap and returns the highest
// value seen above the heap before f.
func peakHeap(f func()) uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			mu.Lock()
			peak = max(peak, s[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	if peak < base {
		return 0
	}
	return peak - base
}

// BenchmarkZipPeakHeap exports 1,000 entries with 0 or 50 attachments of
// 1 MiB to a discarding writer and reports the peak heap above the
// baseline: the attachments add their bytes to the zip, not to memory.
func BenchmarkZipPeakHeap(b *testing.B) {
	for _, files := range []int{0, 50} {
		b.Run(fmt.Sprintf("entries=1000/attachments=%d", files), func(b *testing.B) {
			st := hubtest.Embedded(b)
			bl, err := blobs.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			seed(b, st, bl, "c1", 1000, files, 1<<20)
			var worst uint64
			var written int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cw := &counting{}
				p := peakHeap(func() {
					if _, err := export.Zip(context.Background(), cw, st, bl, "c1", export.Options{}); err != nil {
						b.Fatal(err)
					}
				})
				worst, written = max(worst, p), cw.n
			}
			b.ReportMetric(float64(worst)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(written)/(1<<20), "zip-MiB")
		})
	}
}

type counting struct{ n int64 }

func (c *counting) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
