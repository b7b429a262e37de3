package email

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no input makes the parser panic, hang, or produce text the
// hub would refuse; broken input is always kept raw. Seeds: every mail of
// testdata/corpus (up to 20 KiB) plus testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/corpus/*.eml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 20<<10 {
			continue // large seeds make minimization crawl; TestCorpus covers them
		}
		f.Add(b)
	}
	lim := Limits{MaxMessageBytes: 256 << 10, MaxAttachmentBytes: 16 << 10}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := Parse(raw, lim, false)
		invariants(t, p, raw)
		if ProviderID("INBOX", p, raw) != ProviderID("INBOX", Parse(raw, lim, false), raw) {
			t.Fatal("provider id is not deterministic")
		}
		_ = threadKey(p.MessageID, p.InReplyTo, p.References, "x")
	})
}
