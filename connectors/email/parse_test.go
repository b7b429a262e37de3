package email

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// corpusLimits are small so the corpus stays small: the 200 KiB
// attachment in huge-attachment.eml is over the attachment limit.
var corpusLimits = Limits{MaxMessageBytes: 1 << 20, MaxAttachmentBytes: 64 << 10}

func readCorpus(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hasPart(p *Parsed, name string) *Part {
	for i := range p.Parts {
		if p.Parts[i].Name == name {
			return &p.Parts[i]
		}
	}
	return nil
}

func field(p *Parsed, name string) string {
	for _, f := range p.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// TestCorpus: every real-world shaped mail is parsed, or kept raw and
// flagged; what a reader of the timeline needs is where it belongs.
func TestCorpus(t *testing.T) {
	checks := map[string]func(t *testing.T, p *Parsed){
		"plain-reply.eml": func(t *testing.T, p *Parsed) {
			want(t, p.Text, "Thanks, the replacement is fine — but the box was wet again.\n\nAnn")
			if !strings.Contains(p.Quoted, "We sent a replacement.") || !p.Has(FlagQuoteTrimmed) {
				t.Errorf("quoted history not separated: %q", p.Quoted)
			}
			want(t, strings.Join(p.References, ","), "CAF=ann-first@mail.example.com")
		},
		"latin1-qp.eml": func(t *testing.T, p *Parsed) {
			want(t, p.Text, "Hyvää päivää! Tilaus on myöhässä, voitteko tarkistaa? Grüße, Jürgen")
			want(t, p.Subject, "Bestellung verspätet")
			want(t, p.From.Name, "Jürgen Müller")
		},
		"shiftjis-base64.eml": func(t *testing.T, p *Parsed) {
			want(t, p.Text, "注文した商品がまだ届きません。確認してください。")
			want(t, p.Subject, "注文について")
		},
		"windows1252-8bit.eml": func(t *testing.T, p *Parsed) { want(t, p.Text, "He said “it’s broken” – costs 10€.") },
		"koi8r.eml": func(t *testing.T, p *Parsed) {
			want(t, p.Text, "Здравствуйте, где мой заказ?")
			want(t, p.Subject, "Заказ")
		},
		"html-only.eml": func(t *testing.T, p *Parsed) {
			if !p.Has(FlagHTMLOnly) || !strings.Contains(p.Text, "my invoice INV-77 is wrong.\nPlease fix it.") || !strings.Contains(p.Text, "- item two") {
				t.Errorf("text from HTML = %q", p.Text)
			}
			for _, bad := range []string{"<script", "alert(", "onclick", "tracker.example.net", "<style"} {
				if strings.Contains(p.HTML, bad) || strings.Contains(p.Text, bad) {
					t.Errorf("sanitized HTML still contains %q: %s", bad, p.HTML)
				}
			}
			if !strings.Contains(p.HTML, `href="https://example.org/inv/77"`) {
				t.Errorf("link lost: %s", p.HTML)
			}
		},
		"alternative.eml": func(t *testing.T, p *Parsed) {
			want(t, p.Text, "The plain text wins.")
			if !strings.Contains(p.HTML, "<i>HTML</i>") || p.Has(FlagHTMLOnly) {
				t.Errorf("html = %q flags %v", p.HTML, p.Flags)
			}
		},
		"nested-mixed.eml": func(t *testing.T, p *Parsed) {
			want(t, p.Text, "See the photo below and the receipt attached.")
			img, pdf := hasPart(p, "damage.png"), hasPart(p, "kuitti ä.pdf")
			if img == nil || !img.Inline || img.ContentID != "photo1@example.com" || !bytes.HasPrefix(img.Data, []byte("\x89PNG")) {
				t.Errorf("inline image = %+v", img)
			}
			if pdf == nil || pdf.Inline || !bytes.HasPrefix(pdf.Data, []byte("%PDF")) {
				t.Errorf("pdf attachment = %+v", pdf)
			}
			if !strings.Contains(p.HTML, `src="cid:photo1@example.com"`) {
				t.Errorf("cid image reference lost: %s", p.HTML)
			}
		},
		"huge-attachment.eml": func(t *testing.T, p *Parsed) {
			big, small := hasPart(p, "logs.bin"), hasPart(p, "small.csv")
			if big == nil || big.Data != nil || big.Size != 200<<10 || !strings.Contains(big.Omitted, "max_attachment_bytes") {
				t.Errorf("over-limit attachment = %+v; want recorded as omitted with its size", big)
			}
			if small == nil || string(small.Data) != "a,b\r\n1,2" {
				t.Errorf("small attachment = %+v", small)
			}
		},
		"broken-boundary.eml": func(t *testing.T, p *Parsed) {
			want(t, p.Text, "The first part is readable.")
			malformedKeptRaw(t, p)
		},
		"broken-header.eml": func(t *testing.T, p *Parsed) {
			malformedKeptRaw(t, p)
			if p.From == nil || p.From.Address != "hank@example.com" || !strings.Contains(p.Text, "Body after a broken header.") {
				t.Errorf("lenient recovery: from %v text %q", p.From, p.Text)
			}
			want(t, p.MessageID, "broken-header-1@example.com")
		},
		"bad-base64.eml": func(t *testing.T, p *Parsed) {
			want(t, p.Text, "Attachment is corrupt.")
			malformedKeptRaw(t, p)
			if a := hasPart(p, "photo.jpg"); a == nil || a.Omitted == "" {
				t.Errorf("corrupt attachment = %+v; want recorded as omitted", a)
			}
		},
		"auto-reply.eml": func(t *testing.T, p *Parsed) {
			if !p.NoReply || !p.Has(FlagAutoReply) {
				t.Errorf("auto-reply not marked no-reply: %v", p.Flags)
			}
		},
		"bulk.eml": func(t *testing.T, p *Parsed) {
			if !p.NoReply || !p.Has(FlagBulk) {
				t.Errorf("bulk mail not marked no-reply: %v", p.Flags)
			}
		},
		"bounce-dsn.eml": func(t *testing.T, p *Parsed) {
			b := p.Bounce
			if !p.NoReply || b == nil || b.Action != "failed" || b.Recipient != "nobody@example.com" || b.Status != "5.1.1" || !strings.Contains(b.Diagnostic, "User unknown") {
				t.Fatalf("bounce = %+v noreply %v", b, p.NoReply)
			}
			key, ok := threadFromHubID(b.OriginalMessageID)
			if !ok || key != "CAF=ann-first@mail.example.com" {
				t.Errorf("reported message %q decodes to %q, %v", b.OriginalMessageID, key, ok)
			}
		},
		"bounce-plain.eml": func(t *testing.T, p *Parsed) {
			if b := p.Bounce; !p.NoReply || b == nil || !isHubID(b.OriginalMessageID) {
				t.Errorf("old-style bounce = %+v noreply %v", b, p.NoReply)
			}
		},
		"outlook-reply.eml": func(t *testing.T, p *Parsed) {
			want(t, p.Text, "Yes, please renew for two years.\n\nKen")
			if !strings.HasPrefix(p.Quoted, "-----Original Message-----") {
				t.Errorf("quoted = %q", p.Quoted)
			}
		},
		"no-message-id.eml": func(t *testing.T, p *Parsed) { want(t, p.MessageID, "") },
		"unknown-charset.eml": func(t *testing.T, p *Parsed) {
			if !p.Has(FlagUnknownCharset) || !strings.HasPrefix(p.Text, "Readable ASCII with one odd byte") {
				t.Errorf("flags %v text %q", p.Flags, p.Text)
			}
		},
		"dmarc-fail.eml": func(t *testing.T, p *Parsed) {
			if !p.DMARCFail {
				t.Error("dmarc=fail not seen")
			}
		},
		"deep-nesting.eml": func(t *testing.T, p *Parsed) { malformedKeptRaw(t, p) },
		"utf8-headers.eml": func(t *testing.T, p *Parsed) {
			want(t, p.Subject, "Raw UTF-8 subject – ok?")
			want(t, p.From.Name, "Zoë Ünicode")
		},
		"no-from.eml": func(t *testing.T, p *Parsed) {
			if p.From != nil {
				t.Errorf("from = %v", p.From)
			}
		},
	}
	files, _ := filepath.Glob("testdata/corpus/*.eml")
	if len(files) < len(checks) {
		t.Fatalf("corpus has %d files, checks name %d", len(files), len(checks))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			raw := readCorpus(t, name)
			p := Parse(raw, corpusLimits, false)
			invariants(t, p, raw)
			check := checks[name]
			if check == nil {
				t.Fatalf("no expectations for %s: add them", name)
			}
			check(t, p)
		})
	}
}

func want(t *testing.T, got, exp string) {
	t.Helper()
	if got != exp {
		t.Errorf("got %q, want %q", got, exp)
	}
}

func malformedKeptRaw(t *testing.T, p *Parsed) {
	t.Helper()
	if !p.Has(FlagMalformed) || hasPart(p, OriginalName) == nil || field(p, "MIME problem") == "" {
		t.Errorf("broken MIME not flagged and kept raw: flags %v parts %d", p.Flags, len(p.Parts))
	}
}

// invariants hold for any input: valid UTF-8, bounded text, and a mail
// flagged malformed carries its raw bytes.
func invariants(t *testing.T, p *Parsed, raw []byte) {
	t.Helper()
	for _, s := range []string{p.Text, p.Subject, p.HTML, p.MessageID} {
		if !utf8.ValidString(s) {
			t.Fatalf("not valid UTF-8: %q", s)
		}
	}
	if len(p.Text) > maxTextBytes {
		t.Fatalf("text is %d bytes", len(p.Text))
	}
	if strings.ContainsAny(p.Subject, "\r\n") {
		t.Fatalf("subject spans lines: %q", p.Subject)
	}
	if p.Has(FlagMalformed) {
		o := hasPart(p, OriginalName)
		if o == nil || !bytes.Equal(o.Data, raw) {
			t.Fatal("malformed mail without its raw bytes")
		}
	}
	for _, id := range append(append([]string{p.MessageID}, p.InReplyTo...), p.References...) {
		if strings.ContainsAny(id, "<> \r\n") {
			t.Fatalf("message id %q", id)
		}
	}
}

func TestTruncatedMailIsFlaggedAndKept(t *testing.T) {
	raw := readCorpus(t, "nested-mixed.eml")
	cut := raw[:len(raw)/2]
	p := Parse(cut, corpusLimits, true)
	invariants(t, p, cut)
	if !p.Has(FlagTruncated) || !p.Has(FlagMalformed) || p.From == nil || p.From.Address != "erin@example.com" {
		t.Fatalf("flags %v from %v", p.Flags, p.From)
	}
}

func TestMessageIDOf(t *testing.T) {
	for pid, wantID := range map[string]string{
		"INBOX/<a@b>":                 "<a@b>",
		"Support/<x/y@b>":             "<x/y@b>",
		"Weird/<dir>/<a@b>":           "<a@b>",
		"<sb.abc.def@hub.example>":    "<sb.abc.def@hub.example>",
		"INBOX/sha256:0123456789abcd": "",
		"":                            "",
		"INBOX/<bad id@b>":            "",
	} {
		if got := MessageIDOf(pid); got != wantID {
			t.Errorf("MessageIDOf(%q) = %q, want %q", pid, got, wantID)
		}
	}
}

func TestSplitQuoted(t *testing.T) {
	for _, tc := range []struct{ in, fresh, quoted string }{
		{"Hi\n\nOn Tue, 3 Feb 2026, Bob <b@x> wrote:\n> old", "Hi", "On Tue, 3 Feb 2026, Bob <b@x> wrote:\n> old"},
		{"Hi\nOn Tue, 3 Feb 2026 at 10:00, Bob Smith <b@x>\nwrote:\n> old", "Hi", "On Tue, 3 Feb 2026 at 10:00, Bob Smith <b@x>\nwrote:\n> old"},
		{"New text\n\n> quoted 1\n> quoted 2\n", "New text", "> quoted 1\n> quoted 2"},
		{"> q1\nmy answer\n> q2\nanother answer", "> q1\nmy answer\n> q2\nanother answer", ""}, // inline answers stay whole
		{"> only quoted", "> only quoted", ""},
		{"Am 03.02.2026 um 10:00 schrieb Bob <b@x>:\n> alt", "Am 03.02.2026 um 10:00 schrieb Bob <b@x>:\n> alt", ""}, // nothing new above
		{"Kiitos!\n\nti 3.2.2026 klo 10.00 Bob (b@x) kirjoitti:\n> vanha", "Kiitos!", "ti 3.2.2026 klo 10.00 Bob (b@x) kirjoitti:\n> vanha"},
		{"no quote here", "no quote here", ""},
	} {
		f, q := splitQuoted(tc.in)
		if f != tc.fresh || q != tc.quoted {
			t.Errorf("splitQuoted(%q) = %q, %q; want %q, %q", tc.in, f, q, tc.fresh, tc.quoted)
		}
	}
}

func TestHTMLToText(t *testing.T) {
	got := htmlToText(`<div>Line one<br>Line two</div><table><tr><td>a</td><td>b</td></tr></table><p>Visit <a href="https://x.example/p">https://x.example/p</a></p>`)
	want(t, got, "Line one\nLine two\n\na b\n\nVisit https://x.example/p")
}
