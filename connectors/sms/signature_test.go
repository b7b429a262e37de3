package sms

import (
	"net/url"
	"testing"

	twclient "github.com/twilio/twilio-go/client"
)

// The channel's signature check accepts and refuses exactly what
// twilio-go's validator does, for URLs with and without ports and for
// bodies with escaped characters, in both URL forms Twilio may sign.
func TestSignerAgreesWithTwilioGo(t *testing.T) {
	const token = "s3cr3t-auth-token"
	tw := twclient.NewRequestValidator(token)
	sg := newSigner(token)
	forms := []url.Values{
		{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "From": {"+14155550100"}, "Body": {"Hei, missä paketti? 50% & more + ="}},
		{"B": {""}, "A": {"x y"}, "a": {"z"}},
		{},
	}
	urls := []string{
		"https://hub.example.com/webhooks/twilio/sms",
		"https://hub.example.com:443/webhooks/twilio/sms",
		"http://127.0.0.1:8080/webhooks/twilio/sms",
		"http://hub.example.com/webhooks/twilio/sms%20x",
	}
	variants := func(u string) []string {
		p, _ := url.Parse(u)
		without := *p
		without.Host = p.Hostname()
		with := *p
		if p.Port() == "" {
			with.Host = p.Host + ":80"
			if p.Scheme == "https" {
				with.Host = p.Host + ":443"
			}
		}
		return []string{u, without.String(), with.String(), "https://elsewhere.example.com/webhooks/twilio/sms"}
	}
	for _, u := range urls {
		su := newSignedURL(u)
		for _, signedFor := range variants(u) {
			for _, fv := range forms {
				sig := sign(token, signedFor, fv)
				params := map[string]string{}
				for k := range fv {
					params[k] = fv.Get(k)
				}
				f, err := parseForm(fv.Encode(), nil)
				if err != nil {
					t.Fatal(err)
				}
				want := tw.Validate(u, params, sig)
				if got := sg.valid(su, "", f, sig); got != want {
					t.Errorf("URL %s signed for %s, form %v: signer says %v, twilio-go %v", u, signedFor, fv, got, want)
				}
				// A changed parameter never passes.
				if len(f) > 0 {
					f[0].v += "!"
					if sg.valid(su, "", f, sig) {
						t.Errorf("URL %s, form %v: a changed parameter passed", u, fv)
					}
				}
				// With a query string, the query is signed too.
				qsig := sign(token, u+"?a=1", fv)
				f, _ = parseForm(fv.Encode(), nil)
				if !sg.valid(su, "a=1", f, qsig) || sg.valid(su, "a=2", f, qsig) {
					t.Errorf("URL %s with a query: the query's signature is not checked", u)
				}
			}
		}
	}
}

// Bodies the form parser refuses, as url.ParseQuery does, and a repeated
// parameter, which the signature cannot cover.
func TestParseFormRefuses(t *testing.T) {
	for body, want := range map[string]error{
		"a=1&a=2":   errRepeatedParam,
		"a=%zz":     errMalformedForm,
		"a=1;b=2":   errMalformedForm,
		"%=1":       errMalformedForm,
		"b=2&&a=1&": nil,
	} {
		f, err := parseForm(body, nil)
		if err != want {
			t.Errorf("parseForm(%q) = %v, want %v", body, err, want)
		}
		if want == nil && (f.Get("a") != "1" || f.Get("b") != "2" || f.Get("c") != "") {
			t.Errorf("parseForm(%q) = %v", body, f)
		}
	}
}
