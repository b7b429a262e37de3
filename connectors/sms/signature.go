package sms

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"hash"
	"net/url"
	"slices"
	"strings"
	"sync"

	twclient "github.com/twilio/twilio-go/client"
)

// Twilio's request signature (X-Twilio-Signature): base64 of HMAC-SHA1,
// keyed with the auth token, over the URL Twilio called followed by every
// POST parameter as name and value, names in byte order. Twilio may have
// signed the URL with or without the scheme's default port, so both forms
// are accepted (as twilio-go's validator does).
//
// This is twilio-go's RequestValidator without its per-request cost (it
// parsed and rebuilt the URL four times, formatted every parameter with
// fmt, and always computed both HMACs): the two URL forms are worked out
// once per channel, the HMAC state comes from a pool, the second HMAC is
// computed only when the first does not match, and the form is parsed into
// one slice of name/value pairs that share the body's string.

// signer checks the signatures of one channel's webhook URLs.
type signer struct {
	key  []byte
	pool sync.Pool // *mac
	tw   twclient.RequestValidator
}

func newSigner(authToken string) *signer {
	s := &signer{key: []byte(authToken), tw: twclient.NewRequestValidator(authToken)}
	s.pool.New = func() any { return &mac{h: hmac.New(sha1.New, s.key)} }
	return s
}

// mac is a keyed HMAC and the buffer its input is gathered in.
type mac struct {
	h   hash.Hash
	buf []byte
}

// signedURL is a webhook URL in the forms Twilio may have signed.
type signedURL struct {
	raw, without, with string
}

// newSignedURL works out the URL forms of u as twilio-go does (without the
// port, and with the scheme's default port when u has none).
func newSignedURL(u string) signedURL {
	su := signedURL{raw: u, without: u, with: u}
	p, err := url.Parse(u)
	if err != nil {
		return su
	}
	if port := p.Port(); port != "" {
		q := *p
		q.Host = p.Hostname()
		su.without = q.String()
	} else {
		q := *p
		def := "80"
		if p.Scheme == "https" {
			def = "443"
		}
		q.Host = p.Host + ":" + def
		su.with = q.String()
	}
	return su
}

// param is one form parameter.
type param struct{ k, v string }

// form is a webhook's parameters, sorted by name (each name once).
type form []param

// Get returns the value of name, or "".
func (f form) Get(name string) string {
	i, ok := slices.BinarySearchFunc(f, name, func(p param, name string) int { return strings.Compare(p.k, name) })
	if !ok {
		return ""
	}
	return f[i].v
}

var (
	errMalformedForm = errors.New("malformed form body")
	errRepeatedParam = errors.New("repeated form parameter")
)

// parseForm parses an application/x-www-form-urlencoded body into buf
// (reused) sorted by name. A repeated name is refused: the signature
// covers one value per name.
func parseForm(body string, buf form) (form, error) {
	f := buf[:0]
	for body != "" {
		var kv string
		kv, body, _ = strings.Cut(body, "&")
		if kv == "" {
			continue
		}
		if strings.Contains(kv, ";") {
			return nil, errMalformedForm // as url.ParseQuery
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return nil, errMalformedForm
		}
		if v, err = url.QueryUnescape(v); err != nil {
			return nil, errMalformedForm
		}
		f = append(f, param{k, v})
	}
	slices.SortFunc(f, func(a, b param) int { return strings.Compare(a.k, b.k) })
	for i := 1; i < len(f); i++ {
		if f[i].k == f[i-1].k {
			return nil, errRepeatedParam
		}
	}
	return f, nil
}

// valid reports whether sig signs the request to u (plus rawQuery, which
// Twilio signs too) with parameters f.
func (s *signer) valid(u signedURL, rawQuery string, f form, sig string) bool {
	if rawQuery != "" {
		// Rare (the hub's webhook URLs have no query): twilio-go's way.
		params := make(map[string]string, len(f))
		for _, p := range f {
			params[p.k] = p.v
		}
		return s.tw.Validate(u.raw+"?"+rawQuery, params, sig)
	}
	if len(sig) != base64.StdEncoding.EncodedLen(sha1.Size) {
		return false
	}
	m := s.pool.Get().(*mac)
	defer s.pool.Put(m)
	if m.match(u.without, f, sig) {
		return true
	}
	return u.with != u.without && m.match(u.with, f, sig)
}

func (m *mac) match(u string, f form, sig string) bool {
	b := append(m.buf[:0], u...)
	for _, p := range f {
		b = append(append(b, p.k...), p.v...)
	}
	m.buf = b
	m.h.Reset()
	m.h.Write(b)
	var sum [sha1.Size]byte
	var enc [28]byte
	base64.StdEncoding.Encode(enc[:], m.h.Sum(sum[:0]))
	return subtle.ConstantTimeCompare(enc[:], []byte(sig)) == 1
}
