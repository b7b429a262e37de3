package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret (Standard Webhooks).
const SecretPrefix = "whsec_"

// NewSecret returns a fresh signing secret: whsec_ and 32 random bytes in
// base64.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// decodeSecret returns the key bytes of a whsec_ secret.
func decodeSecret(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil || len(b) < 16 {
		return nil, fmt.Errorf("webhook secret must be %s followed by base64 of at least 16 bytes", SecretPrefix)
	}
	return b, nil
}

// CheckSecret reports what is wrong with a secret ("" when nothing).
func CheckSecret(s string) error {
	_, err := decodeSecret(s)
	return err
}

// Sign returns the webhook-signature header value for id, ts and body: one
// "v1,BASE64" of HMAC-SHA256 over "id.ts.body" per secret, space-separated
// (two during a rotation; receivers accept any that verifies).
func Sign(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	keys, err := decodeSecrets(secrets)
	if err != nil {
		return "", err
	}
	return signWith(keys, id, ts.Unix(), body), nil
}

// decodeSecrets returns the key bytes of each secret (at least one).
func decodeSecrets(secrets []string) ([][]byte, error) {
	keys := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		key, err := decodeSecret(s)
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no signing secret")
	}
	return keys, nil
}

// signWith is Sign with the secrets decoded (once per endpoint and round
// by the dispatcher, not per delivery).
func signWith(keys [][]byte, id string, ts int64, body []byte) string {
	var prefix [96]byte
	p := append(append(append(prefix[:0], id...), '.'), strconv.FormatInt(ts, 10)...)
	p = append(p, '.')
	out := make([]byte, 0, len(keys)*48)
	var sum [sha256.Size]byte
	for i, key := range keys {
		m := hmac.New(sha256.New, key)
		m.Write(p)
		m.Write(body)
		if i > 0 {
			out = append(out, ' ')
		}
		out = append(out, "v1,"...)
		out = base64.StdEncoding.AppendEncode(out, m.Sum(sum[:0]))
	}
	return string(out)
}
