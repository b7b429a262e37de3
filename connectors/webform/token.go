package webform

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// A form token is "v1.ISSUED.NONCE.SIG": ISSUED the issue time in Unix
// milliseconds, NONCE 16 random bytes (base64url), SIG the base64url
// HMAC-SHA256 of "CHANNEL|ISSUED|NONCE" under the channel's secret. The
// nonce is the submission's provider id, so one token makes at most one
// timeline entry however often it is replayed.

var (
	errTokenMissing = errors.New("form token is missing")
	errTokenInvalid = errors.New("form token is not valid")
	errTokenExpired = errors.New("form token has expired; reload the form")
)

// maxClockSkew tolerates replicas whose clocks differ a little.
const maxClockSkew = 30 * time.Second

type tokens struct {
	channel string
	secret  []byte
	ttl     time.Duration
}

func (k tokens) mac(issued, nonce string) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte(k.channel + "|" + issued + "|" + nonce))
	return m.Sum(nil)
}

// issue returns a fresh token issued at now.
func (k tokens) issue(now time.Time) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return k.issueWith(now, base64.RawURLEncoding.EncodeToString(b[:]))
}

func (k tokens) issueWith(now time.Time, nonce string) string {
	issued := strconv.FormatInt(now.UnixMilli(), 10)
	return "v1." + issued + "." + nonce + "." + base64.RawURLEncoding.EncodeToString(k.mac(issued, nonce))
}

// verify checks tok's signature and age at now and returns its nonce and
// issue time. Errors are errTokenInvalid or errTokenExpired.
func (k tokens) verify(tok string, now time.Time) (nonce string, issued time.Time, err error) {
	if tok == "" {
		return "", time.Time{}, errTokenMissing
	}
	parts := strings.Split(tok, ".")
	if len(tok) > 200 || len(parts) != 4 || parts[0] != "v1" || strings.ContainsAny(tok, "\r\n") {
		return "", time.Time{}, errTokenInvalid
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil || !hmac.Equal(sig, k.mac(parts[1], parts[2])) {
		return "", time.Time{}, errTokenInvalid
	}
	ms, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || parts[2] == "" {
		return "", time.Time{}, errTokenInvalid
	}
	issued = time.UnixMilli(ms)
	if issued.After(now.Add(maxClockSkew)) {
		return "", time.Time{}, errTokenInvalid
	}
	if now.Sub(issued) > k.ttl {
		return "", time.Time{}, errTokenExpired
	}
	return parts[2], issued, nil
}
