package inbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/inbox"
)

const sessionSecret = "a session secret of at least thirty-two bytes"

// TestSessionSecret: with http.session_secret set, a cookie signed with the
// store's key alone (what a copy of the store gives) is refused, and a
// replica with the same secret over the same store accepts the cookies of
// another; a replica with another secret does not.
func TestSessionSecret(t *testing.T) {
	var aliceHash string
	a := newUIEnvWith(t, "", func(o *inbox.Options) {
		o.SessionSecret = sessionSecret
		aliceHash = o.Credentials[0].PasswordHash
	})
	s, rec := a.login("alice", alicePW)
	if rec.Code != 200 {
		t.Fatalf("sign in: %d %s", rec.Code, rec.Body)
	}
	ctx := context.Background()
	key, err := a.st.GetOrCreateSessionKey(ctx, []byte("not the key: one exists already"))
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := legacyCookie(key, "alice", aliceHash, 0, a.clock.Now().Add(time.Hour))
	if rec := a.do("GET", "/api/v1/session", "", forged); rec.Code != 401 {
		t.Fatalf("a cookie minted from the store's key alone: %d, want 401", rec.Code)
	}
	if rec := a.do("GET", "/api/v1/session", "", s.cookie); rec.Code != 200 {
		t.Fatalf("the signed-in session: %d", rec.Code)
	}

	// Another replica over the same store.
	replica := func(secret string) *uiEnv {
		return &uiEnv{t: t, st: a.st, clock: a.clock, srv: inbox.New(inbox.Options{Store: a.st, Clock: a.clock.Now,
			Credentials:   []inbox.Credential{{Principal: inbox.Principal{Name: "alice", Role: "agent"}, PasswordHash: aliceHash}},
			SessionSecret: secret})}
	}
	b := replica(sessionSecret)
	if rec := b.do("GET", "/api/v1/session", "", s.cookie); rec.Code != 200 {
		t.Fatalf("a replica with the same secret refuses the cookie: %d", rec.Code)
	}
	if rec := replica("another secret of at least thirty-two bytes").do("GET", "/api/v1/session", "", s.cookie); rec.Code != 401 {
		t.Fatalf("a replica with another secret: %d, want 401", rec.Code)
	}
	if rec := replica("").do("GET", "/api/v1/session", "", s.cookie); rec.Code != 401 {
		t.Fatalf("a replica without the secret (the store's key alone): %d, want 401", rec.Code)
	}
	// And the store's key alone still signs without a secret (today's behaviour).
	if rec := replica("").do("GET", "/api/v1/session", "", forged); rec.Code != 200 {
		t.Fatalf("without a secret the store's key signs: %d", rec.Code)
	}
}
