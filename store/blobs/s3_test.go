package blobs_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store/blobs"
	"github.com/switchboard-hub/switchboard/store/blobs/blobtest"
)

func TestDirConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) connectors.Blobs {
		d, err := blobs.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

// The same suite against a real S3-compatible server (scripts/peers/s3.sh).
func TestS3Conformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) connectors.Blobs { return blobtest.S3(t) })
}

func TestS3ServerSideEncryption(t *testing.T) {
	o := blobtest.S3Options(t)
	o.SSE = blobs.SSEAES256
	var sent []string
	o.Client = &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPut {
			sent = append(sent, r.Header.Get("X-Amz-Server-Side-Encryption"))
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	s, err := blobs.OpenS3(o)
	if err != nil {
		t.Fatal(err)
	}
	sum, _, err := s.Put(context.Background(), strings.NewReader("encrypted at rest"), 100)
	if err != nil {
		t.Fatalf("Put with sse AES256: %v", err)
	}
	r, err := s.Get(context.Background(), sum)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if len(sent) != 1 || sent[0] != "AES256" {
		t.Errorf("PUT sent x-amz-server-side-encryption %q, want [AES256]", sent)
	}
}

func TestS3Check(t *testing.T) {
	ctx := context.Background()
	o := blobtest.S3Options(t)
	s, err := blobs.OpenS3(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check of an existing bucket: %v", err)
	}
	missing := o
	missing.Bucket = o.Bucket + "-missing"
	if err := mustOpen(t, missing).Check(ctx); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Check of a missing bucket = %v, want does not exist", err)
	}
	wrong := o
	wrong.SecretKey = "not-the-secret"
	if err := mustOpen(t, wrong).Check(ctx); err == nil || !strings.Contains(err.Error(), "access denied") {
		t.Errorf("Check with a wrong secret key = %v, want access denied", err)
	}
	// A wrong key must not write either: the server checks every signature.
	if _, _, err := mustOpen(t, wrong).Put(ctx, strings.NewReader("x"), 10); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("Put with a wrong secret key = %v, want a 403", err)
	}
}

func mustOpen(t *testing.T, o blobs.S3Options) *blobs.S3 {
	t.Helper()
	s, err := blobs.OpenS3(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenS3Refuses(t *testing.T) {
	ok := blobs.S3Options{Endpoint: "https://s3.example.com", Bucket: "attachments", AccessKey: "AK", SecretKey: "SK"}
	if _, err := blobs.OpenS3(ok); err != nil {
		t.Fatalf("valid options refused: %v", err)
	}
	for _, c := range []struct {
		change func(*blobs.S3Options)
		want   string
	}{
		{func(o *blobs.S3Options) { o.Endpoint = "" }, "endpoint is required"},
		{func(o *blobs.S3Options) { o.Endpoint = "http://127.0.0.1:9000" }, "plain http"},
		{func(o *blobs.S3Options) { o.Endpoint = "ftp://s3.example.com" }, "must start with https://"},
		{func(o *blobs.S3Options) { o.Endpoint = "https://s3.example.com/attachments" }, "no path"},
		{func(o *blobs.S3Options) { o.Endpoint = "s3.example.com" }, "scheme://host"},
		{func(o *blobs.S3Options) { o.Bucket = "Attachments" }, "not a bucket name"},
		{func(o *blobs.S3Options) { o.Bucket = "ab" }, "not a bucket name"},
		{func(o *blobs.S3Options) { o.Bucket = "-attachments" }, "not a bucket name"},
		{func(o *blobs.S3Options) { o.Bucket = "10.0.0.1" }, "not a bucket name"},
		{func(o *blobs.S3Options) { o.SecretKey = "" }, "secret key are required"},
		{func(o *blobs.S3Options) { o.SSE = "aws:kms" }, "must be none or AES256"},
	} {
		o := ok
		c.change(&o)
		_, err := blobs.OpenS3(o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("OpenS3(%+v) = %v, want an error containing %q", o, err, c.want)
		}
	}
	o := ok
	o.Endpoint, o.AllowHTTP = "http://127.0.0.1:9000", true
	if _, err := blobs.OpenS3(o); err != nil {
		t.Errorf("http with allow_http refused: %v", err)
	}
}

// Virtual-host style (the default) puts the bucket in the host name; path
// style puts it first in the path. Seen on the wire by a recording
// transport, since a loopback server cannot answer to bucket.127.0.0.1.
func TestS3Addressing(t *testing.T) {
	for _, c := range []struct {
		pathStyle bool
		want      string
	}{{false, "https://attachments.s3.example.com/2c/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},
		{true, "https://s3.example.com/attachments/2c/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}} {
		var seen *http.Request
		rt := roundTrip(func(r *http.Request) (*http.Response, error) {
			seen = r
			return &http.Response{StatusCode: 404, Body: http.NoBody, Request: r}, nil
		})
		s, err := blobs.OpenS3(blobs.S3Options{Endpoint: "https://s3.example.com", Bucket: "attachments", AccessKey: "AK", SecretKey: "SK",
			Region: "eu-north-1", PathStyle: c.pathStyle, Client: &http.Client{Transport: rt}})
		if err != nil {
			t.Fatal(err)
		}
		s.Get(context.Background(), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
		if seen.URL.String() != c.want {
			t.Errorf("path_style %v: GET %s, want %s", c.pathStyle, seen.URL, c.want)
		}
		if a := seen.Header.Get("Authorization"); !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AK/") || !strings.Contains(a, "/eu-north-1/s3/aws4_request") {
			t.Errorf("Authorization %q is not SigV4 for eu-north-1", a)
		}
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
