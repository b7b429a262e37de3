package config

import (
	"net"
	"net/url"
	"regexp"
)

// Blobs chooses where attachment content is kept instead of the local
// directory (store.blobs_path): S3-compatible object storage that every
// replica reaches.
type Blobs struct {
	S3 *S3Blobs `yaml:"s3"`
}

// SSE values of store.blobs.s3.sse.
const (
	SSENone   = "none"
	SSEAES256 = "AES256"
)

// S3Blobs is a bucket on S3-compatible object storage (AWS S3, MinIO,
// Ceph RGW, Versity Gateway, ...). Objects are named by their SHA-256, as
// files are in the directory store.
type S3Blobs struct {
	// Endpoint is scheme://host[:port], e.g. https://s3.eu-north-1.amazonaws.com.
	Endpoint string `yaml:"endpoint"`
	Bucket   string `yaml:"bucket"`
	// Region signs requests. Default us-east-1.
	Region string `yaml:"region"`
	// AccessKey and SecretKey: prefer the *_file forms.
	AccessKey     string `yaml:"access_key"`
	AccessKeyFile string `yaml:"access_key_file"`
	SecretKey     string `yaml:"secret_key"`
	SecretKeyFile string `yaml:"secret_key_file"`
	// SSE is the server-side encryption asked for on every upload: none
	// (default) or AES256 (x-amz-server-side-encryption: AES256).
	SSE string `yaml:"sse"`
	// PathStyle addresses ENDPOINT/BUCKET/KEY instead of BUCKET.ENDPOINT/KEY
	// (most self-hosted servers need it).
	PathStyle bool `yaml:"path_style"`
	// AllowHTTP permits an http:// endpoint: a gateway on loopback or on a
	// private link only, since keys and content then cross in clear.
	AllowHTTP bool `yaml:"allow_http"`
}

var bucketRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func (c *Config) blobsDefaults() {
	if s := c.Store.Blobs; s != nil && s.S3 != nil {
		if s.S3.Region == "" {
			s.S3.Region = "us-east-1"
		}
		if s.S3.SSE == "" {
			s.S3.SSE = SSENone
		}
	}
}

func (c *Config) validateBlobs(v *validator) {
	b := c.Store.Blobs
	if b == nil {
		return
	}
	s := b.S3
	if s == nil {
		v.add("store.blobs", "set s3 (or leave store.blobs out and use store.blobs_path)")
		return
	}
	if c.Store.BlobsPath != "" {
		v.add("store.blobs_path", "set either blobs_path or blobs.s3, not both")
	}
	u, err := url.Parse(s.Endpoint)
	switch {
	case s.Endpoint == "":
		v.add("store.blobs.s3.endpoint", "is required (e.g. https://s3.eu-north-1.amazonaws.com)")
	case err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil:
		v.add("store.blobs.s3.endpoint", "%q must be scheme://host[:port], with no path, query or user", s.Endpoint)
	case u.Scheme == "http" && !s.AllowHTTP:
		v.add("store.blobs.s3.endpoint", "%q is plain http: use https, or set allow_http: true for a gateway on loopback or a private link", s.Endpoint)
	case u.Scheme != "http" && u.Scheme != "https":
		v.add("store.blobs.s3.endpoint", "%q must start with https://", s.Endpoint)
	}
	switch {
	case s.Bucket == "":
		v.add("store.blobs.s3.bucket", "is required")
	case !bucketRe.MatchString(s.Bucket) || net.ParseIP(s.Bucket) != nil:
		v.add("store.blobs.s3.bucket", "%q is not a bucket name (3-63 of a-z 0-9 . -, starting and ending with a letter or digit)", s.Bucket)
	}
	if s.AccessKey == "" && s.AccessKeyFile == "" {
		v.add("store.blobs.s3.access_key_file", "is required (a file holding the access key id)")
	}
	if s.SecretKey == "" && s.SecretKeyFile == "" {
		v.add("store.blobs.s3.secret_key_file", "is required (a file holding the secret access key)")
	}
	v.oneOf("store.blobs.s3.sse", s.SSE, []string{SSENone, SSEAES256})
}
