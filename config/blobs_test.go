package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBlobsS3(t *testing.T) {
	dir := t.TempDir()
	ak, sk := filepath.Join(dir, "ak"), filepath.Join(dir, "sk")
	must(t, os.WriteFile(ak, []byte("AKIDEXAMPLE\n"), 0o600))
	must(t, os.WriteFile(sk, []byte("s3-secret-value\n"), 0o600))
	cfg := mustLoad(t, writeConfig(t, `
store:
  redis: {addrs: ["r:6379"]}
  blobs:
    s3:
      endpoint: https://s3.eu-north-1.amazonaws.com
      bucket: acme-attachments
      region: eu-north-1
      access_key_file: `+ak+`
      secret_key_file: `+sk+`
      sse: AES256
`), nil)
	s := cfg.Store.Blobs.S3
	eq(t, s.AccessKey, "AKIDEXAMPLE")
	eq(t, s.SecretKey, "s3-secret-value")
	eq(t, s.SSE, SSEAES256)
	eq(t, s.PathStyle, false)
	r := cfg.Redacted()
	eq(t, r.Store.Blobs.S3.SecretKey, RedactedValue)
	eq(t, r.Store.Blobs.S3.SecretKeyFile, sk)
	noSecret(t, "Redacted dump", dump(r))

	// Defaults, and an environment override.
	cfg = mustLoad(t, writeConfig(t, `
store:
  blobs: {s3: {endpoint: "http://127.0.0.1:7070", allow_http: true, path_style: true, bucket: b-1, access_key_file: `+ak+`, secret_key_file: `+sk+`}}
`), []string{"SWITCHBOARD_STORE_BLOBS_S3_BUCKET=other-bucket"})
	eq(t, cfg.Store.Blobs.S3.Region, "us-east-1")
	eq(t, cfg.Store.Blobs.S3.SSE, SSENone)
	eq(t, cfg.Store.Blobs.S3.Bucket, "other-bucket")

	for _, c := range []struct{ yaml, want string }{
		{`{s3: {bucket: b-1, access_key_file: ` + ak + `, secret_key_file: ` + sk + `}}`, "store.blobs.s3.endpoint: is required"},
		{`{s3: {endpoint: "http://s3.internal:9000", bucket: b-1, access_key_file: ` + ak + `, secret_key_file: ` + sk + `}}`, "store.blobs.s3.endpoint: \"http://s3.internal:9000\" is plain http"},
		{`{s3: {endpoint: "https://s3.example.com/bucket", bucket: b-1, access_key_file: ` + ak + `, secret_key_file: ` + sk + `}}`, "must be scheme://host[:port]"},
		{`{s3: {endpoint: "https://s3.example.com", bucket: Attachments, access_key_file: ` + ak + `, secret_key_file: ` + sk + `}}`, `store.blobs.s3.bucket: "Attachments" is not a bucket name`},
		{`{s3: {endpoint: "https://s3.example.com", bucket: b-1}}`, "store.blobs.s3.access_key_file: is required"},
		{`{s3: {endpoint: "https://s3.example.com", bucket: b-1}}`, "store.blobs.s3.secret_key_file: is required"},
		{`{s3: {endpoint: "https://s3.example.com", bucket: b-1, access_key_file: /nonexistent/ak, secret_key_file: ` + sk + `}}`, "store.blobs.s3.access_key_file: reading secret file"},
		{`{s3: {endpoint: "https://s3.example.com", bucket: b-1, access_key_file: ` + ak + `, secret_key_file: ` + sk + `, sse: aws:kms}}`, `store.blobs.s3.sse: "aws:kms" is not one of none, AES256`},
		{`{}`, "store.blobs: set s3"},
	} {
		_, err := Load(writeConfig(t, "store:\n  blobs: "+c.yaml+"\n"), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("store.blobs: %s\n  error = %v\n  want %q", c.yaml, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3-secret-value") {
			t.Errorf("error carries the secret key: %v", err)
		}
	}
	_, err := Load(writeConfig(t, "store:\n  blobs_path: /srv/blobs\n  blobs: {s3: {endpoint: \"https://s3.example.com\", bucket: b-1, access_key_file: "+ak+", secret_key_file: "+sk+"}}\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "store.blobs_path: set either blobs_path or blobs.s3, not both") {
		t.Errorf("blobs_path with blobs.s3: %v", err)
	}
}
