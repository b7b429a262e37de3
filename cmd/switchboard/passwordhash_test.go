package main_test

import (
	"bytes"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPasswordHashSignsIn follows the README: `switchboard password-hash`
// makes the hash an agent signs in with (no other tool needed), set through
// the environment on the quick-start config; the right password signs in,
// a wrong one does not, and a short password is refused.
func TestPasswordHashSignsIn(t *testing.T) {
	hash := func(pw string) (string, error) {
		cmd := exec.Command(binary(t), "password-hash")
		cmd.Stdin = strings.NewReader(pw + "\n")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if err != nil {
			return errb.String(), err
		}
		return strings.TrimSpace(out.String()), nil
	}
	if msg, err := hash("short"); err == nil || !strings.Contains(msg, "at least 8") {
		t.Fatalf("short password: err %v, stderr %q", err, msg)
	}
	h, err := hash("correct horse battery")
	if err != nil {
		t.Fatalf("password-hash: %v: %s", err, h)
	}
	if !strings.HasPrefix(h, "$2a$12$") || strings.Contains(h, "correct horse") {
		t.Fatalf("hash = %q", h)
	}
	t.Setenv("SWITCHBOARD_STORE_EMBEDDED_PATH", filepath.Join(t.TempDir(), "data"))
	t.Setenv("SWITCHBOARD_AGENTS_0_NAME", "ada")
	t.Setenv("SWITCHBOARD_AGENTS_0_ROLE", "admin")
	t.Setenv("SWITCHBOARD_AGENTS_0_PASSWORD_HASH", h)
	p := start(t, filepath.Join("..", "..", "examples", "quickstart.yaml"), freeAddr(t))
	signIn := func(pw string) int {
		req, _ := http.NewRequest("POST", p.base+"/api/v1/session", strings.NewReader(`{"name":"ada","password":"`+pw+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", p.base)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 && len(resp.Cookies()) == 0 {
			t.Fatal("signed in without a session cookie")
		}
		return resp.StatusCode
	}
	if code := signIn("wrong horse battery"); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", code)
	}
	if code := signIn("correct horse battery"); code/100 != 2 {
		t.Fatalf("right password: %d", code)
	}
}
