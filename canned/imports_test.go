package canned_test

import (
	"go/build"
	"strings"
	"testing"
)

// The package imports of the hub what its doc.go allows, and so never the
// router nor a store backend (DESIGN: dependencies run one way).
func TestImportsOnlyWhatDocAllows(t *testing.T) {
	p, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"github.com/switchboard-hub/switchboard/store": true}
	for _, imp := range p.Imports {
		if strings.HasPrefix(imp, "github.com/switchboard-hub/switchboard/") && !allowed[imp] {
			t.Errorf("package %s imports %s, which its doc.go does not allow", p.Name, imp)
		}
	}
}
