package webform

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-hub/switchboard/connectors"
)

// checked is a submission whose every configured field passed its rules.
type checked struct {
	token, thread string
	honeypot      bool
	fields        []connectors.Field
	identities    []connectors.Identity
	text, name    string
	subject       string
	consent       *connectors.ConsentChange
	uploads       []upload
}

// check applies the field rules to sub. It refuses (422, with a message per
// field) anything a person must correct; values are never echoed back.
func (s *Settings) check(sub *submission) (checked, *reqError) {
	out := checked{uploads: sub.uploads}
	bad := map[string]string{}
	one := func(name string) string {
		vs := sub.values[name]
		if len(vs) > 1 {
			bad[name] = "was sent more than once"
		}
		if len(vs) == 0 {
			return ""
		}
		return vs[0]
	}
	out.token = strings.TrimSpace(one(metaToken))
	out.honeypot = strings.TrimSpace(strings.Join(sub.values[s.Honeypot], "")) != ""
	out.thread = strings.TrimSpace(one(metaThread))
	if len(out.thread) > maxThreadKeyBytes || !utf8.ValidString(out.thread) || hasControl(out.thread, false) {
		bad[metaThread] = fmt.Sprintf("must be printable text of at most %d bytes", maxThreadKeyBytes)
	}
	for _, f := range s.Fields {
		if f.Type == TypeFile {
			var names []string
			for _, u := range sub.uploads {
				if u.field == f.Name {
					names = append(names, u.filename)
				}
			}
			if len(names) == 0 && f.Required {
				bad[f.Name] = "is required"
			}
			if len(names) > 0 {
				out.fields = append(out.fields, connectors.Field{Name: f.Name, Value: strings.Join(names, ", ")})
			}
			continue
		}
		v := one(f.Name)
		if !utf8.ValidString(v) {
			bad[f.Name] = "is not valid text"
			continue
		}
		if f.Type == TypeTextarea {
			v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
		} else {
			v = strings.TrimSpace(v)
		}
		if hasControl(v, f.Type == TypeTextarea) {
			bad[f.Name] = "contains control characters"
			continue
		}
		if n := utf8.RuneCountInString(v); f.MaxLength > 0 && n > f.MaxLength {
			bad[f.Name] = fmt.Sprintf("is longer than %d characters", f.MaxLength)
			continue
		}
		switch f.Type {
		case TypeCheckbox:
			on, ok := checkbox(v)
			if !ok {
				bad[f.Name] = "must be checked or unchecked"
				continue
			}
			if f.Required && !on {
				bad[f.Name] = "must be checked"
				continue
			}
			v = "no"
			if on {
				v = "yes"
			}
			if c := s.Consent; c != nil && c.Field == f.Name && on {
				// Only a ticked box is recorded: leaving it unticked on a
				// support form is not a revocation of an earlier consent.
				out.consent = &connectors.ConsentChange{Purpose: c.Purpose, Granted: true, Text: c.Text, Version: c.Version}
			}
			out.fields = append(out.fields, connectors.Field{Name: f.Name, Value: v})
			continue
		}
		if v == "" {
			if f.Required {
				bad[f.Name] = "is required"
			}
			continue
		}
		switch f.Type {
		case TypeEmail:
			if _, err := connectors.Normalize(connectors.Identity{Type: connectors.Email, Value: v}, ""); err != nil || strings.ContainsAny(v, "<>\" ") {
				bad[f.Name] = "is not an email address"
				continue
			}
			out.identities = append(out.identities, connectors.Identity{Type: connectors.Email, Value: v})
		case TypePhone:
			if !plausiblePhone(v) {
				bad[f.Name] = "is not a phone number"
				continue
			}
			out.identities = append(out.identities, connectors.Identity{Type: connectors.Phone, Value: v})
		case TypeSelect:
			if !slices.Contains(f.Options, v) {
				bad[f.Name] = "is not one of the choices"
				continue
			}
		}
		switch f.Name {
		case s.TextField:
			out.text = v
		case s.NameField:
			out.name = v
		case s.SubjectField:
			out.subject = v
		}
		out.fields = append(out.fields, connectors.Field{Name: f.Name, Value: v})
	}
	if len(bad) > 0 {
		return out, &reqError{status: http.StatusUnprocessableEntity, code: "invalid", msg: "some fields are missing or not valid", fields: bad}
	}
	if len(out.identities) == 0 {
		e := &reqError{status: http.StatusUnprocessableEntity, code: "no_contact", msg: "give an email address or a phone number so we can answer", fields: map[string]string{}}
		for _, f := range s.Fields {
			if f.Type == TypeEmail || f.Type == TypePhone {
				e.fields[f.Name] = "give an email address or a phone number"
			}
		}
		return out, e
	}
	return out, nil
}

// checkbox reads the values HTML forms, scripts and JSON send for a box.
func checkbox(v string) (on, ok bool) {
	switch strings.ToLower(v) {
	case "", "0", "false", "off", "no":
		return false, true
	case "1", "true", "on", "yes", "checked":
		return true, true
	}
	return false, false
}

// hasControl reports control characters (other than newlines and tabs in
// multi-line text).
func hasControl(s string, multiline bool) bool {
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			return true
		}
	}
	return false
}

// plausiblePhone accepts what people type for a phone number; the hub
// normalises it to E.164 with its default region (and refuses it there
// when it cannot be a number).
func plausiblePhone(v string) bool {
	digits := 0
	for i, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')', r == '.', r == '/':
		default:
			return false
		}
	}
	return digits >= 5 && digits <= 17
}
