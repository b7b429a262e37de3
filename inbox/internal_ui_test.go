package inbox

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

func TestCostliestHashIsTheDummy(t *testing.T) {
	b4, _ := bcrypt.GenerateFromPassword([]byte("x"), 4)
	b6, _ := bcrypt.GenerateFromPassword([]byte("y"), 6)
	argonSmall := "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$Jg1xLRvGFiQ4gEHS2aJzsU0GJF7mO7rVkuB8R3PL1xE"
	argonBig := "$argon2id$v=19$m=65536,t=3,p=2$c29tZXNhbHRzb21lc2FsdA$Jg1xLRvGFiQ4gEHS2aJzsU0GJF7mO7rVkuB8R3PL1xE"
	if got := costliestHash([]string{string(b4), argonSmall, string(b6)}); got != string(b6) {
		t.Fatalf("costliest of bcrypt 4, argon2id m=64, bcrypt 6: %q", got)
	}
	if got := costliestHash([]string{string(b6), argonBig, string(b4)}); got != argonBig {
		t.Fatalf("costliest of bcrypt 6, argon2id m=64MiB t=3: %q", got)
	}
	// Unknown names are checked against a fresh hash with those parameters,
	// not against the first agent's.
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(Options{Store: st, Credentials: []Credential{
		{Principal: Principal{Name: "a"}, PasswordHash: string(b4)},
		{Principal: Principal{Name: "b"}, PasswordHash: string(b6)},
	}})
	if d := s.sess.dummyHash(); !strings.HasPrefix(d, "$2a$06$") || d == string(b6) {
		t.Fatalf("dummy hash %q", d)
	}
}

func TestPasswordHashCostCaps(t *testing.T) {
	for _, h := range []string{
		"$2a$17$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
		"$argon2id$v=19$m=1048577,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$Jg1xLRvGFiQ4gEHS2aJzsU0GJF7mO7rVkuB8R3PL1xE",
		"$argon2id$v=19$m=64,t=11,p=1$c29tZXNhbHRzb21lc2FsdA$Jg1xLRvGFiQ4gEHS2aJzsU0GJF7mO7rVkuB8R3PL1xE",
	} {
		if ok, err := VerifyPassword(h, "x"); ok || err == nil {
			t.Errorf("VerifyPassword(%s…) = %v, %v; want a refusal", h[:12], ok, err)
		}
	}
}

func TestSignInQueueIsBounded(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), 4)
	s := New(Options{Store: st, Clock: store.SystemClock, Credentials: []Credential{{Principal: Principal{Name: "a"}, PasswordHash: string(h)}}})
	login := func() int {
		req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"name":"a","password":"pw"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code
	}
	// As many sign-ins as the slots and the queue hold are under way.
	s.sess.waiting.Store(verifySlots + verifyQueue)
	if code := login(); code != http.StatusServiceUnavailable {
		t.Fatalf("sign-in with a full queue: %d", code)
	}
	s.sess.waiting.Store(0)
	// The refused attempt counted as no failure and left nothing in progress.
	if len(s.sess.fails) != 0 {
		t.Fatalf("failures after a busy refusal: %v", s.sess.fails)
	}
	if code := login(); code != http.StatusOK {
		t.Fatalf("sign-in afterwards: %d", code)
	}
}
