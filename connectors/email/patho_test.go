package email

import (
	"strings"
	"testing"
)

// Hostile shapes finish quickly (nothing quadratic in the size of a mail).
// pathological are inputs that a careless parser handles in quadratic time
// or memory. The test checks that each parses into a sane message; their
// speed is BenchmarkPathologicalInputs' (a wall-clock bound in a test fails
// on a loaded machine, under -race, without telling anything).
func pathological() map[string]string {
	hdr := "From: a@example.com\r\nMessage-ID: <p@x>\r\n"
	return map[string]string{
		"html-breaks":   hdr + "Content-Type: text/html\r\n\r\n" + strings.Repeat("<br>x", 200000),
		"quote-lines":   hdr + "\r\n" + strings.Repeat("> q\n", 200000),
		"attributions":  hdr + "\r\n" + strings.Repeat("On x wrote\n", 100000),
		"many-parts":    hdr + "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("--b\r\n\r\nx\r\n", 50000),
		"long-header":   "From: a@example.com\r\nSubject: " + strings.Repeat("=?utf-8?q?a?= ", 60000) + "\r\n\r\nx",
		"many-ids":      "From: a@example.com\r\nReferences: " + strings.Repeat("<a@b> ", 100000) + "\r\n\r\nx",
		"nested-tables": hdr + "Content-Type: text/html\r\n\r\n" + strings.Repeat("<table><tr><td><a href='http://x'>", 20000),
	}
}

var pathoLimits = Limits{MaxMessageBytes: 4 << 20, MaxAttachmentBytes: 1 << 20}

func TestPathologicalInputs(t *testing.T) {
	for name, raw := range pathological() {
		t.Run(name, func(t *testing.T) {
			p := Parse([]byte(raw), pathoLimits, false)
			invariants(t, p, []byte(raw))
		})
	}
}

// BenchmarkPathologicalInputs: each input's parse time; compare the
// cases with each other and with a plain mail of the same size in the
// same run (go test -bench Pathological ./connectors/email).
func BenchmarkPathologicalInputs(b *testing.B) {
	cases := pathological()
	cases["plain-same-size"] = "From: a@example.com\r\nMessage-ID: <p@x>\r\n\r\n" + strings.Repeat("plain text\n", 100000)
	for name, raw := range cases {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				Parse([]byte(raw), pathoLimits, false)
			}
		})
	}
}
