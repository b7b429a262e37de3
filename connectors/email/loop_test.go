package email

import (
	"strings"
	"testing"
)

// TestLoopHeadersMarkNoReply: every header RFC 3834 and common practice
// name (and no-reply and mailer-daemon senders) marks a mail no-reply, so
// nothing automatic answers it; Auto-Submitted: no, with or without a
// comment or parameters (RFC 3834 §5 allows both), does not.
func TestLoopHeadersMarkNoReply(t *testing.T) {
	for _, tc := range []struct {
		header, from string
		noReply      bool
	}{
		{"", "ann@customer.example", false},
		{"Auto-Submitted: auto-replied", "ann@customer.example", true},
		{"Auto-Submitted: auto-generated", "ann@customer.example", true},
		{"Auto-Submitted: auto-notified; owner-email=\"x@y.example\"", "ann@customer.example", true},
		{"Auto-Submitted: AUTO-REPLIED", "ann@customer.example", true},
		{"Auto-Submitted: no", "ann@customer.example", false},
		{"Auto-Submitted: No", "ann@customer.example", false},
		{"Auto-Submitted: no (typed by a person)", "ann@customer.example", false},
		{"Auto-Submitted: no; reason=manual", "ann@customer.example", false},
		{"Auto-Submitted: (comment) no", "ann@customer.example", false},
		{"Auto-Submitted: (no keyword)", "ann@customer.example", true},
		{"Precedence: bulk", "ann@customer.example", true},
		{"Precedence: junk", "ann@customer.example", true},
		{"Precedence: list", "ann@customer.example", true},
		{"Precedence: Bulk (newsletter)", "ann@customer.example", true},
		{"X-Autoreply: yes", "ann@customer.example", true},
		{"X-Auto-Response-Suppress: All", "ann@customer.example", true},
		{"List-Id: Lamp owners <lamps.lists.example>", "ann@customer.example", true},
		{"", "noreply@shop.example", true},
		{"", "no-reply@shop.example", true},
		{"", "MAILER-DAEMON@mx.example", true},
		{"", "mailer-daemon@mx.example", true},
	} {
		hdr := ""
		if tc.header != "" {
			hdr = tc.header + "\r\n"
		}
		raw := "From: <" + tc.from + ">\r\nTo: support@hub.example\r\nSubject: lamp\r\nMessage-ID: <x@y>\r\n" + hdr +
			"Content-Type: text/plain\r\n\r\nThe lamp.\r\n"
		p := Parse([]byte(raw), Limits{MaxMessageBytes: 1 << 20, MaxAttachmentBytes: 1 << 20}, false)
		if p.NoReply != tc.noReply {
			t.Errorf("%q from %s: no-reply = %v, want %v", strings.TrimSpace(tc.header), tc.from, p.NoReply, tc.noReply)
		}
	}
}
