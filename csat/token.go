package csat

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// A link token names a survey (its entry id: an opaque id, no personal
// data), a score (0: the page asks) and an expiry, signed with a key
// derived from the store's session key, so every replica can check it:
//
//	base64url(surveyEntryID "|" score "|" expiry-unix) "." base64url(HMAC-SHA256[:16])
//
// Single use is the survey's: once answered, every link of it is spent.

// ErrBadToken: the link is forged, damaged or expired.
var ErrBadToken = errors.New("csat: the survey link is not valid")

type token struct {
	Survey string
	Score  int
	Expiry time.Time
}

type signer struct {
	st  store.Sessions
	mu  sync.Mutex
	key []byte
}

func (g *signer) derived(ctx context.Context) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.key != nil {
		return g.key, nil
	}
	candidate := make([]byte, 32)
	rand.Read(candidate)
	k, err := g.st.GetOrCreateSessionKey(ctx, candidate)
	if err != nil {
		return nil, fmt.Errorf("csat: token key: %w", err)
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte("switchboard csat link v1"))
	g.key = m.Sum(nil)
	return g.key, nil
}

func (g *signer) sign(ctx context.Context, t token) (string, error) {
	k, err := g.derived(ctx)
	if err != nil {
		return "", err
	}
	body := base64.RawURLEncoding.EncodeToString([]byte(t.Survey + "|" + strconv.Itoa(t.Score) + "|" + strconv.FormatInt(t.Expiry.Unix(), 10)))
	m := hmac.New(sha256.New, k)
	m.Write([]byte(body))
	return body + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16]), nil
}

func (g *signer) verify(ctx context.Context, s string, now time.Time) (token, error) {
	body, sig, ok := strings.Cut(s, ".")
	// base64 decoding skips CR and LF, so a token with them inserted
	// would verify as a different string than the one the hub made.
	if !ok || len(s) > 512 || strings.ContainsAny(s, "\r\n") {
		return token{}, ErrBadToken
	}
	k, err := g.derived(ctx)
	if err != nil {
		return token{}, err
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil {
		return token{}, ErrBadToken
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(body))
	if !hmac.Equal(got, m.Sum(nil)[:16]) {
		return token{}, ErrBadToken
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return token{}, ErrBadToken
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 {
		return token{}, ErrBadToken
	}
	score, err1 := strconv.Atoi(parts[1])
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || parts[0] == "" {
		return token{}, ErrBadToken
	}
	t := token{Survey: parts[0], Score: score, Expiry: time.Unix(exp, 0)}
	if !now.Before(t.Expiry) {
		return token{}, ErrBadToken
	}
	return t, nil
}
