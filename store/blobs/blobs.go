package blobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/switchboard-hub/switchboard/connectors"
)

// Dir stores each blob as DIR/ab/abcdef... (its SHA-256).
type Dir struct{ root string }

var _ connectors.Blobs = (*Dir)(nil)

// ErrNotFound is returned by Get for an unknown blob.
var ErrNotFound = connectors.ErrBlobNotFound

// Open returns a blob store rooted at dir (created if missing).
func Open(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blobs: %w", err)
	}
	return &Dir{root: dir}, nil
}

func (d *Dir) path(sum string) (string, error) {
	if len(sum) != 64 {
		return "", fmt.Errorf("blobs: %q is not a SHA-256", sum)
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return "", fmt.Errorf("blobs: %q is not a SHA-256", sum)
	}
	return filepath.Join(d.root, sum[:2], sum), nil
}

// Put writes r to a temporary file while hashing it, then renames it into
// place, so a reader never sees a partial blob.
func (d *Dir) Put(ctx context.Context, r io.Reader, max int64) (string, int64, error) {
	tmp, err := os.CreateTemp(d.root, ".put-*")
	if err != nil {
		return "", 0, fmt.Errorf("blobs: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, max+1))
	if err != nil {
		return "", 0, fmt.Errorf("blobs: %w", err)
	}
	if n > max {
		return "", 0, fmt.Errorf("blobs: content over %d bytes: %w", max, connectors.ErrTooLarge)
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("blobs: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	p, _ := d.path(sum)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", 0, fmt.Errorf("blobs: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", 0, fmt.Errorf("blobs: %w", err)
	}
	return sum, n, nil
}

func (d *Dir) Get(ctx context.Context, sum string) (io.ReadCloser, error) {
	p, err := d.path(sum)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

// Delete removes a blob (erasure); a missing blob is not an error.
func (d *Dir) Delete(ctx context.Context, sum string) error {
	p, err := d.path(sum)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
