package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestREADMEQuickTourIsCopyPasteSafe runs the README's quick tour as a
// newcomer pasting it would: its first blocks in one shell, each line as
// written (only the binary, the port and a final kill differ), so a token
// read before the first start has written it shows as 401s here.
func TestREADMEQuickTourIsCopyPasteSafe(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, tour, ok := strings.Cut(string(readme), "\n## Quick tour\n")
	if !ok {
		t.Fatal("README has no Quick tour")
	}
	tour, _, _ = strings.Cut(tour, "\n## ")
	var blocks []string
	for _, part := range strings.Split(tour, "```sh\n")[1:] {
		code, _, _ := strings.Cut(part, "```")
		blocks = append(blocks, code)
	}
	if len(blocks) < 3 {
		t.Fatalf("quick tour has %d shell blocks", len(blocks))
	}
	find, _, _ := strings.Cut(blocks[2], "\n") // the rest names ids to fill in
	addr := freeAddr(t)
	script := blocks[0] + blocks[1] + find + "\nkill %1\nwait\n"
	script = strings.ReplaceAll(script, "go run ./cmd/switchboard", binary(t))
	script = strings.ReplaceAll(script, "127.0.0.1:8080", addr)

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "examples"), 0o755); err != nil {
		t.Fatal(err)
	}
	qs, err := os.ReadFile(filepath.Join("..", "..", "examples", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "examples", "quickstart.yaml"), qs, 0o644)
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SWITCHBOARD_HTTP_ADDR="+addr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("the tour did not finish in 60 s:\n%s", out.String())
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever the script left behind
	text := out.String()
	if err != nil || strings.Count(text, `"status":"accepted"`) != 3 || strings.Contains(strings.ToLower(text), "unauthorized") || !strings.Contains(text, `"name": "Ada"`) {
		t.Fatalf("the tour, pasted as written (%v):\n%s\nscript:\n%s", err, text, script)
	}
}
