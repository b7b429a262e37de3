package blobs_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store/blobs"
)

func TestPutGetDelete(t *testing.T) {
	ctx := context.Background()
	d, err := blobs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sum, n, err := d.Put(ctx, strings.NewReader("hello"), 10)
	if err != nil || n != 5 || sum != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("put: %q %d %v", sum, n, err)
	}
	r, err := d.Get(ctx, sum)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "hello" {
		t.Fatalf("got %q", b)
	}
	if _, _, err := d.Put(ctx, strings.NewReader("too long"), 3); !errors.Is(err, connectors.ErrTooLarge) {
		t.Fatalf("over-limit put: %v", err)
	}
	if err := d.Delete(ctx, sum); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(ctx, sum); !errors.Is(err, blobs.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := d.Get(ctx, "../../etc/passwd"); err == nil {
		t.Fatal("path traversal accepted")
	}
}
