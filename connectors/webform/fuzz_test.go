package webform

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-hub/switchboard/connectors"
)

const fuzzSettings = `
fields:
  - {name: name, type: text, max_length: 20}
  - email
  - phone
  - {name: topic, type: select, options: [a, b]}
  - {name: message, type: textarea, max_length: 200}
  - {name: ok, type: checkbox}
  - {name: file, type: file}
secret: fuzz-secret-0123456789
uploads: {max_file_bytes: 64, max_total_bytes: 100, allowed_types: [text/plain]}
max_body_bytes: 4096
`

func fuzzForm(t testing.TB) *Settings {
	var s Settings
	if err := yaml.Unmarshal([]byte(fuzzSettings), &s); err != nil {
		t.Fatal(err)
	}
	s.setDefaults()
	if err := s.validate("fuzz"); err != nil {
		t.Fatal(err)
	}
	return &s
}

// FuzzParseSubmission feeds arbitrary bodies of every accepted content type
// through parsing and the field rules: never a panic, and whatever passes
// holds only configured fields within their limits as valid UTF-8.
func FuzzParseSubmission(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", []byte("email=a%40example.com&message=hi&unknown=1&_token=x"))
	f.Add("application/json", []byte(`{"email":"a@example.com","phone":"+358401234567","message":"<script>x</script>","ok":true,"topic":"a"}`))
	f.Add("application/json", []byte(`{"email":["a"],"message":{"x":1}}`))
	f.Add("multipart/form-data; boundary=XX", []byte("--XX\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@example.com\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XX--\r\n"))
	f.Add("multipart/form-data; boundary=XX", []byte("--XX\r\nContent-Disposition: form-data; name=\"x\"; filename=\"../../etc/passwd\"\r\n\r\n"))
	f.Add("text/plain", []byte("email=a"))
	s := fuzzForm(f)
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		sub, err := s.parseBody(ct, bytes.NewReader(body))
		if err != nil {
			if _, ok := err.(*reqError); !ok {
				t.Fatalf("error %T is not a refusal", err)
			}
			return
		}
		form, rerr := s.check(sub)
		if rerr != nil {
			if rerr.status < 400 || rerr.status > 499 || rerr.msg == "" {
				t.Fatalf("refusal %+v", rerr)
			}
			return
		}
		if len(form.identities) == 0 {
			t.Fatal("accepted without a contact identity")
		}
		for _, id := range form.identities {
			if id.Verified || (id.Type != connectors.Email && id.Type != connectors.Phone) {
				t.Fatalf("identity %+v", id)
			}
		}
		prev := -1
		for _, fl := range form.fields {
			i := -1
			for j, spec := range s.Fields {
				if spec.Name == fl.Name {
					i = j
				}
			}
			if i <= prev {
				t.Fatalf("field %q not configured or out of order", fl.Name)
			}
			prev = i
			spec := s.Fields[i]
			if !utf8.ValidString(fl.Value) || (spec.Type != TypeFile && utf8.RuneCountInString(fl.Value) > spec.MaxLength) {
				t.Fatalf("field %q value breaks its rules", fl.Name)
			}
			if spec.Type != TypeTextarea && spec.Type != TypeFile && strings.ContainsAny(fl.Value, "\r\n\x00") {
				t.Fatalf("single-line field %q holds a line break", fl.Name)
			}
		}
		var total int
		for _, u := range form.uploads {
			total += len(u.data)
			if len(u.data) > int(s.Uploads.MaxFileBytes) || !typeAllowed(u.contentType, s.Uploads.AllowedTypes) || strings.ContainsAny(u.filename, "/\\\x00") {
				t.Fatalf("upload %q (%s, %d bytes) breaks the limits", u.filename, u.contentType, len(u.data))
			}
		}
		if total > int(s.Uploads.MaxTotalBytes) {
			t.Fatalf("uploads total %d", total)
		}
	})
}
