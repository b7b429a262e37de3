package email

import (
	"strings"
	"testing"
	"time"
)

// Hostile shapes finish quickly (nothing quadratic in the size of a mail).
func TestPathologicalInputsAreFast(t *testing.T) {
	hdr := "From: a@example.com\r\nMessage-ID: <p@x>\r\n"
	for name, raw := range map[string]string{
		"html-breaks":   hdr + "Content-Type: text/html\r\n\r\n" + strings.Repeat("<br>x", 200000),
		"quote-lines":   hdr + "\r\n" + strings.Repeat("> q\n", 200000),
		"attributions":  hdr + "\r\n" + strings.Repeat("On x wrote\n", 100000),
		"many-parts":    hdr + "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("--b\r\n\r\nx\r\n", 50000),
		"long-header":   "From: a@example.com\r\nSubject: " + strings.Repeat("=?utf-8?q?a?= ", 60000) + "\r\n\r\nx",
		"many-ids":      "From: a@example.com\r\nReferences: " + strings.Repeat("<a@b> ", 100000) + "\r\n\r\nx",
		"nested-tables": hdr + "Content-Type: text/html\r\n\r\n" + strings.Repeat("<table><tr><td><a href='http://x'>", 20000),
	} {
		start := time.Now()
		p := Parse([]byte(raw), Limits{MaxMessageBytes: 4 << 20, MaxAttachmentBytes: 1 << 20}, false)
		invariants(t, p, []byte(raw))
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s took %s", name, d)
		}
	}
}
