// Package blobtest is the conformance suite every connectors.Blobs
// implementation passes (the directory store and the S3 store, the latter
// against a real S3-compatible server), and finds that server for tests.
//
// It may import connectors, store/blobs, internal/testenv and the standard
// library; only tests import it.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store/blobs"
)

// Factory returns an empty store for one test.
type Factory func(t *testing.T) connectors.Blobs

// Run runs every conformance test against stores made by f.
func Run(t *testing.T, f Factory) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, connectors.Blobs)
	}{
		{"PutGetDelete", testPutGetDelete},
		{"Empty", testEmpty},
		{"ExactlyMax", testExactlyMax},
		{"TooLargeKeepsNothing", testTooLarge},
		{"SameContentOneBlob", testSameContent},
		{"Binary", testBinary},
		{"MissingIsNotFound", testMissing},
		{"DeleteMissing", testDeleteMissing},
		{"BadNames", testBadNames},
		{"Concurrent", testConcurrent},
		{"ReaderError", testReaderError},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, f(t)) })
	}
}

func sumOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func read(t *testing.T, b connectors.Blobs, sum string) []byte {
	t.Helper()
	r, err := b.Get(context.Background(), sum)
	if err != nil {
		t.Fatalf("Get(%s): %v", sum, err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %s: %v", sum, err)
	}
	return got
}

func put(t *testing.T, b connectors.Blobs, content []byte, max int64) string {
	t.Helper()
	sum, n, err := b.Put(context.Background(), bytes.NewReader(content), max)
	if err != nil {
		t.Fatalf("Put(%d bytes): %v", len(content), err)
	}
	if n != int64(len(content)) || sum != sumOf(content) {
		t.Fatalf("Put(%d bytes) = %s, %d; want %s, %d", len(content), sum, n, sumOf(content), len(content))
	}
	return sum
}

func gone(t *testing.T, b connectors.Blobs, sum, when string) {
	t.Helper()
	r, err := b.Get(context.Background(), sum)
	if err == nil {
		r.Close()
		t.Fatalf("%s: Get(%s) found the blob", when, sum)
	}
	if !errors.Is(err, connectors.ErrBlobNotFound) {
		t.Fatalf("%s: Get(%s) = %v, want ErrBlobNotFound", when, sum, err)
	}
}

func testPutGetDelete(t *testing.T, b connectors.Blobs) {
	sum := put(t, b, []byte("hello"), 10)
	if sum != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("hello stored as %s", sum)
	}
	if got := read(t, b, sum); string(got) != "hello" {
		t.Fatalf("got %q, want hello", got)
	}
	if err := b.Delete(context.Background(), sum); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	gone(t, b, sum, "after Delete")
}

func testEmpty(t *testing.T, b connectors.Blobs) {
	sum := put(t, b, nil, 10)
	if got := read(t, b, sum); len(got) != 0 {
		t.Fatalf("empty blob read back as %d bytes", len(got))
	}
}

func testExactlyMax(t *testing.T, b connectors.Blobs) {
	sum := put(t, b, []byte("12345"), 5)
	if got := read(t, b, sum); string(got) != "12345" {
		t.Fatalf("got %q", got)
	}
}

func testTooLarge(t *testing.T, b connectors.Blobs) {
	content := []byte("one byte too many")
	_, _, err := b.Put(context.Background(), bytes.NewReader(content), int64(len(content)-1))
	if !errors.Is(err, connectors.ErrTooLarge) {
		t.Fatalf("Put over max = %v, want ErrTooLarge", err)
	}
	gone(t, b, sumOf(content), "after a refused Put")
}

// Two puts of the same content name one blob; one Delete removes it (the
// store keeps no count: references are the store layer's BlobRefs).
func testSameContent(t *testing.T, b connectors.Blobs) {
	a := put(t, b, []byte("logo.png bytes"), 100)
	c := put(t, b, []byte("logo.png bytes"), 100)
	if a != c {
		t.Fatalf("same content stored twice: %s, %s", a, c)
	}
	if got := read(t, b, a); string(got) != "logo.png bytes" {
		t.Fatalf("got %q", got)
	}
	if err := b.Delete(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	gone(t, b, a, "after Delete of shared content")
}

// Every byte value, and more than one network buffer (3 MiB).
func testBinary(t *testing.T, b connectors.Blobs) {
	content := make([]byte, 3<<20)
	rand.Read(content[256:])
	for i := range 256 {
		content[i] = byte(i)
	}
	sum := put(t, b, content, int64(len(content)))
	if got := read(t, b, sum); !bytes.Equal(got, content) {
		t.Fatalf("3 MiB blob read back differs (%d bytes)", len(got))
	}
}

func testMissing(t *testing.T, b connectors.Blobs) {
	gone(t, b, sumOf([]byte("never stored")), "never stored")
}

func testDeleteMissing(t *testing.T, b connectors.Blobs) {
	if err := b.Delete(context.Background(), sumOf([]byte("never stored"))); err != nil {
		t.Fatalf("Delete of a missing blob: %v", err)
	}
}

// A name that is not a SHA-256 is refused by every method, with an error
// that says so (never a path outside the store).
func testBadNames(t *testing.T, b connectors.Blobs) {
	ctx := context.Background()
	for _, bad := range []string{"", "../../etc/passwd", "2cf24dba", strings.Repeat("z", 64), strings.Repeat("a", 63) + "/"} {
		if r, err := b.Get(ctx, bad); err == nil {
			r.Close()
			t.Errorf("Get(%q) accepted", bad)
		} else if !strings.Contains(err.Error(), "not a SHA-256") {
			t.Errorf("Get(%q) = %v, want an error naming it not a SHA-256", bad, err)
		}
		if err := b.Delete(ctx, bad); err == nil || !strings.Contains(err.Error(), "not a SHA-256") {
			t.Errorf("Delete(%q) = %v, want an error naming it not a SHA-256", bad, err)
		}
	}
}

// Eight writers put the same content and eight others different content
// at once: every put answers the right name and every blob reads back.
func testConcurrent(t *testing.T, b connectors.Blobs) {
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			content := []byte("shared attachment")
			if i%2 == 1 {
				content = fmt.Appendf(nil, "attachment %d", i)
			}
			sum, _, err := b.Put(context.Background(), bytes.NewReader(content), 1<<10)
			if err == nil && sum != sumOf(content) {
				err = fmt.Errorf("put %d named %s", i, sum)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 16 {
		content := []byte("shared attachment")
		if i%2 == 1 {
			content = fmt.Appendf(nil, "attachment %d", i)
		}
		if got := read(t, b, sumOf(content)); !bytes.Equal(got, content) {
			t.Fatalf("blob %d read back as %q", i, got)
		}
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("connection reset by peer")
	}
	f.n--
	return copy(p, "partial "), nil
}

// A source that fails mid-way keeps nothing and says why.
func testReaderError(t *testing.T, b connectors.Blobs) {
	_, _, err := b.Put(context.Background(), &failingReader{n: 3}, 1<<10)
	if err == nil || !strings.Contains(err.Error(), "connection reset by peer") {
		t.Fatalf("Put from a failing reader = %v, want its error", err)
	}
	gone(t, b, sumOf([]byte("partial partial partial ")), "after a failed Put")
}

// S3Endpoint is the test S3-compatible server: $SWITCHBOARD_TEST_S3
// (http://127.0.0.1:PORT, started by scripts/peers/s3.sh) with the keys in
// $SWITCHBOARD_TEST_S3_ACCESS_KEY and $SWITCHBOARD_TEST_S3_SECRET_KEY.
func S3Endpoint() (endpoint, accessKey, secretKey string) {
	return os.Getenv("SWITCHBOARD_TEST_S3"), os.Getenv("SWITCHBOARD_TEST_S3_ACCESS_KEY"), os.Getenv("SWITCHBOARD_TEST_S3_SECRET_KEY")
}

// S3Options are options for a new, empty bucket of its own on the test
// server; the test is skipped (failed, with SWITCHBOARD_REQUIRE_SERVERS=1)
// when there is no server. The bucket is left behind: the server's data
// directory is the test run's own.
func S3Options(t testing.TB) blobs.S3Options {
	t.Helper()
	ep, ak, sk := S3Endpoint()
	if ep == "" {
		testenv.Absent(t, "S3-compatible server (SWITCHBOARD_TEST_S3)", nil)
	}
	o := blobs.S3Options{Endpoint: ep, Bucket: "sbtest-" + strings.ToLower(testenv.RandomID()), AccessKey: ak, SecretKey: sk,
		PathStyle: true, AllowHTTP: true}
	s, err := blobs.OpenS3(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.CreateBucket(ctx); err != nil {
		testenv.Absent(t, "S3-compatible server at "+ep, err)
	}
	return o
}

// S3 is a store on a new, empty bucket of the test server (see S3Options).
func S3(t testing.TB) *blobs.S3 {
	t.Helper()
	s, err := blobs.OpenS3(S3Options(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
