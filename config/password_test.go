package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAgentPasswordHash(t *testing.T) {
	const bcrypt12 = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
	const argon = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$Jg1xLRvGFiQ4gEHS2aJzsU0GJF7mO7rVkuB8R3PL1xE"
	dir := t.TempDir()
	hashFile := filepath.Join(dir, "alice.hash")
	os.WriteFile(hashFile, []byte(bcrypt12+"\n"), 0o600)
	for _, c := range []struct {
		name, agent, want string
	}{
		{"bcrypt only (web UI only)", `{name: a, password_hash: "` + bcrypt12 + `"}`, ""},
		{"argon2id with a token", `{name: a, token: t-1234567890, password_hash: "` + argon + `"}`, ""},
		{"hash from a file", `{name: a, password_file: ` + hashFile + `}`, ""},
		{"plain password", `{name: a, password_hash: hunter2}`, "agents[0].password_hash: must be a bcrypt hash"},
		{"plain password in the file", `{name: a, password_file: ` + filepath.Join(dir, "plain") + `}`, "agents[0].password_file: must be a bcrypt hash"},
		{"weak bcrypt", `{name: a, password_hash: "$2a$04$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"}`, "bcrypt cost 4 is outside 10..16"},
		{"costly bcrypt", `{name: a, password_hash: "$2a$17$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"}`, "bcrypt cost 17 is outside 10..16"},
		{"argon2id memory above 1 GiB", `{name: a, password_hash: "$argon2id$v=19$m=1048577,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$Jg1xLRvGFiQ4gEHS2aJzsU0GJF7mO7rVkuB8R3PL1xE"}`, "too costly"},
		{"argon2id time above 10", `{name: a, password_hash: "$argon2id$v=19$m=65536,t=11,p=4$c29tZXNhbHRzb21lc2FsdA$Jg1xLRvGFiQ4gEHS2aJzsU0GJF7mO7rVkuB8R3PL1xE"}`, "too costly"},
		{"argon2id at the caps", `{name: a, password_hash: "$argon2id$v=19$m=1048576,t=10,p=4$c29tZXNhbHRzb21lc2FsdA$Jg1xLRvGFiQ4gEHS2aJzsU0GJF7mO7rVkuB8R3PL1xE"}`, ""},
		{"weak argon2id", `{name: a, password_hash: "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$Jg1xLRvGFiQ4gEHS2aJzsU0GJF7mO7rVkuB8R3PL1xE"}`, "too weak"},
		{"both", `{name: a, password_hash: "` + bcrypt12 + `", password_file: ` + hashFile + `}`, "agents[0].password_file: set either password_hash or password_file, not both"},
		{"nothing", `{name: a}`, "agents[0]: needs a token source"},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.WriteFile(filepath.Join(dir, "plain"), []byte("hunter2\n"), 0o600)
			p := filepath.Join(dir, "sb.yaml")
			os.WriteFile(p, []byte("agents:\n  - "+c.agent+"\n"), 0o600)
			_, err := Load(p, nil)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want %q", err, c.want)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Fatalf("the error echoes the password: %v", err)
			}
		})
	}
	// Env overrides reach the new keys.
	p := filepath.Join(dir, "env.yaml")
	os.WriteFile(p, []byte("agents:\n  - {name: a}\n"), 0o600)
	cfg, err := Load(p, []string{"SWITCHBOARD_AGENTS_0_PASSWORD_HASH=" + argon})
	if err != nil || cfg.Agents[0].PasswordHash != argon {
		t.Fatalf("env override: %v", err)
	}
}
