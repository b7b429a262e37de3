package email

import (
	"strings"
	"testing"
)

// mailWith builds a mail from ann@customer.example with the given header
// lines above it.
func mailWith(from string, headers ...string) []byte {
	var b strings.Builder
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("From: " + from + "\r\nTo: support@hub.example\r\nSubject: Hi\r\nMessage-ID: <m1@customer.example>\r\n\r\nHello.\r\n")
	return []byte(b.String())
}

// The From of a mail is authenticated only by a trusted server's
// Authentication-Results saying dmarc=pass (or an aligned dkim=pass).
func TestAuthenticated(t *testing.T) {
	trusted := []string{"mx.hub.example"}
	const ann = "Ann <ann@customer.example>"
	cases := []struct {
		name    string
		from    string
		headers []string
		trusted []string
		want    bool
	}{
		{"no header", ann, nil, trusted, false},
		{"trusted dmarc=pass", ann, []string{"Authentication-Results: mx.hub.example; spf=pass smtp.mailfrom=customer.example; dkim=pass header.d=customer.example; dmarc=pass header.from=customer.example"}, trusted, true},
		{"no trusted ids configured", ann, []string{"Authentication-Results: mx.hub.example; dmarc=pass header.from=customer.example"}, nil, false},
		{"untrusted authserv-id", ann, []string{"Authentication-Results: mx.evil.example; dmarc=pass header.from=customer.example"}, trusted, false},
		{"authserv-id only as a suffix", ann, []string{"Authentication-Results: evil-mx.hub.example; dmarc=pass"}, trusted, false},
		{"dmarc=none", ann, []string{"Authentication-Results: mx.hub.example; dmarc=none header.from=customer.example"}, trusted, false},
		{"dmarc=fail", ann, []string{"Authentication-Results: mx.hub.example; dkim=pass header.d=customer.example; dmarc=fail header.from=customer.example"}, trusted, false},
		{"dmarc=temperror", ann, []string{"Authentication-Results: mx.hub.example; dmarc=temperror"}, trusted, false},
		{"no results", ann, []string{"Authentication-Results: mx.hub.example; none"}, trusted, false},
		{"forged pass below the receiving server's fail", ann, []string{
			"Authentication-Results: mx.hub.example; dmarc=fail header.from=customer.example",
			"Authentication-Results: mx.hub.example; dmarc=pass header.from=customer.example"}, trusted, false},
		{"untrusted header above the trusted one", ann, []string{
			"Authentication-Results: filter.other.example; dmarc=fail",
			"Authentication-Results: mx.hub.example; dmarc=pass header.from=customer.example"}, trusted, true},
		{"comments, version, spacing and case", ann, []string{
			"Authentication-Results: MX.Hub.Example 1 (Postfix; OpenDMARC) ;\r\n\tDMARC = Pass (p=none dis=none) header . from = customer.example"}, trusted, true},
		{"aligned dkim without dmarc", ann, []string{"Authentication-Results: mx.hub.example; dkim=pass (2048-bit key) header.d=Customer.Example header.s=sel"}, trusted, true},
		{"aligned dkim by header.i", ann, []string{`Authentication-Results: mx.hub.example; dkim=pass header.i="@customer.example"`}, trusted, true},
		{"dkim of another domain", ann, []string{"Authentication-Results: mx.hub.example; dkim=pass header.d=mailer.example"}, trusted, false},
		{"dkim of the parent domain (not strictly aligned)", "x@mail.customer.example", []string{"Authentication-Results: mx.hub.example; dkim=pass header.d=customer.example"}, trusted, false},
		{"dkim=fail", ann, []string{"Authentication-Results: mx.hub.example; dkim=fail header.d=customer.example"}, trusted, false},
		{"dmarc in a comment", ann, []string{"Authentication-Results: mx.hub.example; spf=pass (dmarc=pass) smtp.mailfrom=customer.example"}, trusted, false},
		{"two From addresses", "ann@customer.example, bob@other.example", []string{"Authentication-Results: mx.hub.example; dmarc=pass header.from=customer.example"}, trusted, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Parse(mailWith(tc.from, tc.headers...), Limits{}, false)
			if got := p.Authenticated(tc.trusted); got != tc.want {
				t.Fatalf("Authenticated = %v, want %v (results %+v)", got, tc.want, p.AuthResults)
			}
		})
	}
}

// A mail identified by Sender (no From) is never authenticated: DMARC
// speaks about From.
func TestAuthenticatedNeedsFrom(t *testing.T) {
	raw := []byte("Authentication-Results: mx.hub.example; dmarc=pass header.from=customer.example\r\nSender: ann@customer.example\r\nSubject: x\r\n\r\nbody\r\n")
	p := Parse(raw, Limits{}, false)
	if p.From == nil || p.From.Address != "ann@customer.example" {
		t.Fatalf("from = %+v", p.From)
	}
	if p.Authenticated([]string{"mx.hub.example"}) {
		t.Fatal("a mail without From was authenticated")
	}
}

func TestParseAuthResults(t *testing.T) {
	ar, ok := parseAuthResults(` mx.hub.example (comment "quoted" (nested)) ; dkim=pass reason="good sig; ok" header.d=customer.example header.b="abc=" ; dmarc=pass`)
	if !ok || ar.AuthServID != "mx.hub.example" || len(ar.Methods) != 2 {
		t.Fatalf("%+v", ar)
	}
	d := ar.Methods[0]
	if d.Method != "dkim" || d.Result != "pass" || d.Props["header.d"] != "customer.example" || d.Props["header.b"] != "abc=" {
		t.Fatalf("dkim = %+v", d)
	}
	if ar.Methods[1].Method != "dmarc" || ar.Methods[1].Result != "pass" {
		t.Fatalf("dmarc = %+v", ar.Methods[1])
	}
	if _, ok := parseAuthResults("  (only a comment)  "); ok {
		t.Fatal("a header without authserv-id parsed")
	}
}
