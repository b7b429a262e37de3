package blobs

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
)

// SSE values for S3Options.SSE: the server-side encryption asked for on
// every upload.
const (
	SSENone   = "none"
	SSEAES256 = "AES256"
)

// S3Options locate a bucket on S3-compatible object storage.
type S3Options struct {
	// Endpoint is scheme://host[:port], e.g. https://s3.eu-north-1.amazonaws.com.
	Endpoint string
	Bucket   string
	// Region signs requests (SigV4). Default us-east-1.
	Region    string
	AccessKey string
	SecretKey string
	// SSE is "" or SSENone (no header), or SSEAES256 (x-amz-server-side-encryption: AES256).
	SSE string
	// PathStyle addresses ENDPOINT/BUCKET/KEY instead of BUCKET.ENDPOINT/KEY.
	PathStyle bool
	// AllowHTTP permits an http:// endpoint (a gateway on loopback or a
	// private link); otherwise only https:// is accepted.
	AllowHTTP bool
	// Client sends the requests. Default: a client of its own.
	Client *http.Client
}

// S3 stores each blob as the object ab/abcdef... (its SHA-256) in one
// bucket: the same layout as Dir, so a directory can be copied into a
// bucket as it is. Requests are signed with AWS Signature Version 4; the
// signed payload hash of an upload is the blob's own SHA-256, so the
// server checks the content it receives against its name.
type S3 struct {
	o    S3Options
	base *url.URL // where BUCKET/KEY or KEY is appended
	hc   *http.Client
}

var _ connectors.Blobs = (*S3)(nil)

// emptySHA256 is the SHA-256 of an empty payload (GET, HEAD, DELETE).
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// OpenS3 checks o and returns a store for its bucket. It sends nothing;
// Check asks the server.
func OpenS3(o S3Options) (*S3, error) {
	u, err := url.Parse(o.Endpoint)
	switch {
	case o.Endpoint == "":
		return nil, errors.New("blobs: s3 endpoint is required")
	case err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil:
		return nil, fmt.Errorf("blobs: s3 endpoint %q must be scheme://host[:port] with no path, query or user", o.Endpoint)
	case u.Scheme == "http" && !o.AllowHTTP:
		return nil, fmt.Errorf("blobs: s3 endpoint %q is plain http: use https, or set allow_http for a loopback or private gateway", o.Endpoint)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("blobs: s3 endpoint %q must start with https:// (or http:// with allow_http)", o.Endpoint)
	case !validBucket(o.Bucket):
		return nil, fmt.Errorf("blobs: s3 bucket %q is not a bucket name (3-63 of a-z 0-9 . -, starting and ending with a letter or digit)", o.Bucket)
	case o.AccessKey == "" || o.SecretKey == "":
		return nil, errors.New("blobs: s3 access key and secret key are required")
	case o.SSE != "" && o.SSE != SSENone && o.SSE != SSEAES256:
		return nil, fmt.Errorf("blobs: s3 sse %q must be none or AES256", o.SSE)
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	base := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}
	if o.PathStyle {
		base.Path = "/" + o.Bucket + "/"
	} else {
		base.Host = o.Bucket + "." + u.Host
	}
	hc := o.Client
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return &S3{o: o, base: base, hc: hc}, nil
}

func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || net.ParseIP(b) != nil {
		return false
	}
	for i, c := range b {
		edge := i == 0 || i == len(b)-1
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '.') && !edge:
		default:
			return false
		}
	}
	return true
}

func key(sum string) (string, error) {
	if len(sum) != 64 {
		return "", fmt.Errorf("blobs: %q is not a SHA-256", sum)
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return "", fmt.Errorf("blobs: %q is not a SHA-256", sum)
	}
	return sum[:2] + "/" + sum, nil
}

// Put reads r into memory up to max bytes while hashing it (the object's
// name is its hash, known only at the end), then uploads it in one PUT.
func (s *S3) Put(ctx context.Context, r io.Reader, max int64) (string, int64, error) {
	var buf bytes.Buffer
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(&buf, h), io.LimitReader(r, max+1))
	if err != nil {
		return "", 0, fmt.Errorf("blobs: %w", err)
	}
	if n > max {
		return "", 0, fmt.Errorf("blobs: content over %d bytes: %w", max, connectors.ErrTooLarge)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	k, _ := key(sum)
	hdr := http.Header{}
	if s.o.SSE == SSEAES256 {
		hdr.Set("X-Amz-Server-Side-Encryption", SSEAES256)
	}
	resp, err := s.do(ctx, http.MethodPut, k, hdr, buf.Bytes(), sum)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", 0, s.fail(resp, "PUT", k)
	}
	return sum, n, nil
}

// Get opens a blob; ErrNotFound when the bucket does not hold it.
func (s *S3) Get(ctx context.Context, sum string) (io.ReadCloser, error) {
	k, err := key(sum)
	if err != nil {
		return nil, err
	}
	resp, err := s.do(ctx, http.MethodGet, k, nil, nil, emptySHA256)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Body, nil
	case http.StatusNotFound:
		resp.Body.Close()
		return nil, ErrNotFound
	}
	defer resp.Body.Close()
	return nil, s.fail(resp, "GET", k)
}

// Delete removes a blob (erasure, retention); a missing blob is not an
// error.
func (s *S3) Delete(ctx context.Context, sum string) error {
	k, err := key(sum)
	if err != nil {
		return err
	}
	resp, err := s.do(ctx, http.MethodDelete, k, nil, nil, emptySHA256)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotFound {
		return s.fail(resp, "DELETE", k)
	}
	return nil
}

// Check asks the server whether the bucket exists and these credentials
// reach it (HEAD bucket); the hub runs it at start.
func (s *S3) Check(ctx context.Context) error {
	resp, err := s.do(ctx, http.MethodHead, "", nil, nil, emptySHA256)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		return fmt.Errorf("blobs: s3 bucket %q does not exist at %s", s.o.Bucket, s.o.Endpoint)
	case http.StatusForbidden:
		return fmt.Errorf("blobs: s3 bucket %q at %s: access denied (check access_key, secret_key and region %s)", s.o.Bucket, s.o.Endpoint, s.o.Region)
	}
	return s.fail(resp, "HEAD", "")
}

// CreateBucket creates the bucket (tests, first setup); one that this
// account already owns is not an error.
func (s *S3) CreateBucket(ctx context.Context) error {
	var body []byte
	sum := emptySHA256
	if s.o.Region != "us-east-1" {
		body = []byte(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>` +
			s.o.Region + `</LocationConstraint></CreateBucketConfiguration>`)
		h := sha256.Sum256(body)
		sum = hex.EncodeToString(h[:])
	}
	resp, err := s.do(ctx, http.MethodPut, "", nil, body, sum)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	err = s.fail(resp, "PUT", "")
	if strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
		return nil
	}
	return err
}

// do sends one signed request for key (empty: the bucket itself).
func (s *S3) do(ctx context.Context, method, key string, hdr http.Header, body []byte, payloadSHA256 string) (*http.Response, error) {
	u := *s.base
	u.Path += key
	if key == "" && u.Path != "/" {
		u.Path = strings.TrimSuffix(u.Path, "/") // path style: /bucket
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("blobs: s3: %w", err)
	}
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	sign(req, s.o.AccessKey, s.o.SecretKey, s.o.Region, payloadSHA256, time.Now().UTC())
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("blobs: s3 %s %s: %w", method, u.Redacted(), err)
	}
	return resp, nil
}

// fail turns an S3 error response into an error naming its code.
func (s *S3) fail(resp *http.Response, method, key string) error {
	var e struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = xml.Unmarshal(b, &e)
	what := s.o.Bucket + "/" + key
	if e.Code == "" {
		return fmt.Errorf("blobs: s3 %s %s: %s", method, what, resp.Status)
	}
	return fmt.Errorf("blobs: s3 %s %s: %s %s: %s", method, what, resp.Status, e.Code, e.Message)
}

// sign adds AWS Signature Version 4 headers to req (service s3; the
// payload hash is given, not computed).
func sign(req *http.Request, accessKey, secretKey, region, payloadSHA256 string, now time.Time) {
	amzDate := now.Format("20060102T150405Z")
	day := amzDate[:8]
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", payloadSHA256)
	names := []string{"host"}
	for k := range req.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			names = append(names, lk)
		}
	}
	slices.Sort(names)
	var canon strings.Builder
	for _, n := range names {
		v := req.Host
		if v == "" {
			v = req.URL.Host
		}
		if n != "host" {
			v = strings.TrimSpace(req.Header.Get(n))
		}
		canon.WriteString(n + ":" + v + "\n")
	}
	signed := strings.Join(names, ";")
	// The store sends no query string, so the canonical query is empty.
	creq := strings.Join([]string{req.Method, req.URL.EscapedPath(), "", canon.String(), signed, payloadSHA256}, "\n")
	scope := day + "/" + region + "/s3/aws4_request"
	ch := sha256.Sum256([]byte(creq))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(ch[:])
	k := hmacSHA256([]byte("AWS4"+secretKey), day)
	for _, part := range []string{region, "s3", "aws4_request"} {
		k = hmacSHA256(k, part)
	}
	sig := hex.EncodeToString(hmacSHA256(k, toSign))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+accessKey+"/"+scope+", SignedHeaders="+signed+", Signature="+sig)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
