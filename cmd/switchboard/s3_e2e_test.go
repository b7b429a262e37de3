package main_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store/blobs"
	"github.com/switchboard-hub/switchboard/store/blobs/blobtest"
)

// s3Store is the store section of two replicas sharing one Redis prefix
// and one bucket on the test S3-compatible server.
func s3Store(t *testing.T, o blobs.S3Options) string {
	_, prefix := testenv.Redis(t)
	dir := t.TempDir()
	ak, sk := filepath.Join(dir, "s3-access"), filepath.Join(dir, "s3-secret")
	os.WriteFile(ak, []byte(o.AccessKey+"\n"), 0o600)
	os.WriteFile(sk, []byte(o.SecretKey+"\n"), 0o600)
	return fmt.Sprintf(`store:
  redis:
    addrs: [%s]
    prefix: %s
  blobs:
    s3:
      endpoint: %s
      bucket: %s
      access_key_file: %s
      secret_key_file: %s
      path_style: true
      allow_http: true
`, testenv.RedisAddr(), prefix, o.Endpoint, o.Bucket, ak, sk)
}

const uploadForm = `  - name: web
    type: webform
    phase: live
    webform:
      fields:
        - {name: email, type: email, required: true}
        - {name: message, type: textarea, required: true}
        - {name: receipt, type: file}
      secret: e2e-form-signing-secret-42
      min_fill_time: 0s
      uploads: {max_file_bytes: 1048576, max_total_bytes: 1048576, allowed_types: [text/plain]}
`

// A file a customer uploads through one replica is kept in the bucket,
// downloaded by an agent through another replica, and erased with the
// customer; the image's health check answers for a ready hub and not for
// a dead one.
func TestS3AttachmentsAcrossReplicas(t *testing.T) {
	o := blobtest.S3Options(t)
	cfg := writeConfig(t, s3Store(t, o), uploadForm)
	a, b := start(t, cfg, freeAddr(t)), start(t, cfg, freeAddr(t))

	content := []byte("receipt 2026-0042: 3 x widget, 29.70 EUR\n")
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("_token", formToken(t, a, "web"))
	mw.WriteField("email", "rita@example.com")
	mw.WriteField("message", "my receipt, please refund")
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{`form-data; name="receipt"; filename="receipt.txt"`}
	h["Content-Type"] = []string{"text/plain"}
	fw, _ := mw.CreatePart(h)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", a.base+"/forms/web", &form)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("form post: %d %s", resp.StatusCode, body)
	}

	var rita customer
	var es []entry
	waitFor(t, "Rita's entry on the other replica", 10*time.Second, func() bool {
		var code int
		if rita, code = b.find(t, "email:rita@example.com"); code != 200 {
			return false
		}
		es = b.timeline(t, rita.ID)
		return len(es) == 1
	})
	// The agent downloads it through replica b.
	req, _ = http.NewRequest("GET", b.base+"/api/v1/entries/"+es[0].ID+"/attachments/0", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, content) {
		t.Fatalf("download through the other replica: %d %q, want 200 %q", resp.StatusCode, got, content)
	}
	// It is an object in the bucket, named by its SHA-256.
	bucket, err := blobs.OpenS3(o)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if r, err := bucket.Get(context.Background(), hex.EncodeToString(sum[:])); err != nil {
		t.Fatalf("the upload is not in the bucket: %v", err)
	} else {
		r.Close()
	}

	// Erasing Rita through replica b deletes the object.
	if code := call(t, "DELETE", b.base+"/api/v1/customers/"+rita.ID, adminToken, nil, nil); code != 200 {
		t.Fatalf("erase: %d", code)
	}
	if _, err := bucket.Get(context.Background(), hex.EncodeToString(sum[:])); !errors.Is(err, connectors.ErrBlobNotFound) {
		t.Fatalf("the bucket after Rita's erasure: %v, want the object gone", err)
	}

	// The health check: ready by URL, and by the config plus its address.
	if out, err := exec.Command(binary(t), "healthcheck", "--url", a.base).CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "ready" {
		t.Fatalf("healthcheck of a ready hub: %v %q", err, out)
	}
	hc := exec.Command(binary(t), "healthcheck", "--config", cfg)
	hc.Env = append(os.Environ(), "SWITCHBOARD_HTTP_ADDR=0.0.0.0:"+strings.Split(b.base, ":")[2])
	if out, err := hc.CombinedOutput(); err != nil {
		t.Fatalf("healthcheck --config with a wildcard http.addr: %v %q", err, out)
	}
	a.kill()
	out, err := exec.Command(binary(t), "healthcheck", "--url", a.base, "--timeout", "2s").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not ready") {
		t.Fatalf("healthcheck of a dead hub: %v %q, want a failure saying not ready", err, out)
	}
}

// A hub whose bucket does not exist, or whose key is wrong, refuses to
// start and says which.
func TestS3MisconfiguredHubRefusesToStart(t *testing.T) {
	o := blobtest.S3Options(t)
	for _, c := range []struct {
		change func(*blobs.S3Options)
		want   string
	}{
		{func(o *blobs.S3Options) { o.Bucket += "-missing" }, "does not exist"},
		{func(o *blobs.S3Options) { o.SecretKey = "wrong-secret" }, "access denied"},
	} {
		bad := o
		c.change(&bad)
		cmd := exec.Command(binary(t), "serve", "--config", writeConfig(t, s3Store(t, bad), ""))
		cmd.Env = append(os.Environ(), "SWITCHBOARD_HTTP_ADDR="+freeAddr(t))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...).CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("serve with a bad s3 setting: %v\n%s\nwant an exit naming %q", err, out, c.want)
		}
	}
}
