package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/switchboard-hub/switchboard"

// forbiddenForChannels are the hub's parts a channel must not reach: it
// sees the hub only through connectors (Env, Sink, Lease, State, ...).
var forbiddenForChannels = []string{"store", "router", "lease", "inbox", "timeline", "cmd"}

type pkg struct {
	ImportPath string
	Deps       []string
}

// listDeps runs `go list` on patterns and returns each matched package
// with its Deps: every package it depends on, transitively, as `go list
// -deps` lists them (non-test code only).
func listDeps(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	args := append([]string{"list", "-json=ImportPath,Deps"}, patterns...)
	cmd := exec.Command("go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list %v matched no package", patterns)
	}
	return pkgs
}

// violations lists "PKG -> DEP" for every dependency of pkgs on a
// forbidden part of the module (the part or any package under it).
func violations(pkgs []pkg, forbidden []string) []string {
	var out []string
	for _, p := range pkgs {
		for _, d := range p.Deps {
			rel, ok := strings.CutPrefix(d, module+"/")
			if !ok {
				continue
			}
			for _, f := range forbidden {
				if rel == f || strings.HasPrefix(rel, f+"/") {
					out = append(out, p.ImportPath+" -> "+d)
				}
			}
		}
	}
	return out
}

// TestChannelsSeeOnlyConnectors: no package under connectors/ (its
// non-test code: `go list -deps` leaves tests out) depends on the store,
// the router or any other part of the hub behind the connectors seam.
func TestChannelsSeeOnlyConnectors(t *testing.T) {
	pkgs := listDeps(t, module+"/connectors/...")
	if len(pkgs) < 5 {
		t.Fatalf("only %d packages under connectors/", len(pkgs))
	}
	if v := violations(pkgs, forbiddenForChannels); len(v) > 0 {
		t.Errorf("channels reach past the connectors seam:\n  %s", strings.Join(v, "\n  "))
	}
}

// The check sees a dependency where one exists: the router imports the
// store.
func TestViolationsAreFound(t *testing.T) {
	v := violations(listDeps(t, module+"/router"), forbiddenForChannels)
	found := false
	for _, s := range v {
		if s == module+"/router -> "+module+"/store" {
			found = true
		}
	}
	if !found {
		t.Fatalf("router -> store not reported: %v", v)
	}
}
