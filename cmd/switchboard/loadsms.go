package main

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"hash"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboard-hub/switchboard/config"
)

// smsLoad builds the signed Twilio message webhooks of `switchboard load
// --sms-channel`: what Twilio posts for an inbound SMS, signed as Twilio
// signs it (base64 of HMAC-SHA1 keyed with the auth token, over the URL
// Twilio called followed by every POST parameter's name and value, names in
// byte order; connectors/sms/signature.go checks it). Each worker reuses
// its buffers and HMAC state, so a request costs one HMAC and no
// allocations: the generator shares the machine with the hub it measures.
type smsLoad struct {
	url string // the webhook URL Twilio signs: the channel's public_url + path
	key []byte
	sid string // 12 hex digits of the run, the start of every MessageSid
}

// smsLoadAccount is the AccountSid the webhooks carry. The hub does not
// check it (the signature authenticates the request), so a fixed, obviously
// fake one keeps the auth token the only secret the generator needs.
const smsLoadAccount = "AC00000000000000000000000000000000"

// smsLoadTo is the number the messages are sent to (an entry field only).
const smsLoadTo = "+15005550006"

func newSMSLoad(signedURL, tokenFile, run string) (*smsLoad, error) {
	if tokenFile == "" {
		return nil, usageError("--sms-channel needs --twilio-auth-token-file (the channel's auth token, which signs the webhooks)")
	}
	tok, err := config.ReadSecretFile(tokenFile)
	if err != nil {
		return nil, fmt.Errorf("load: --twilio-auth-token-file: %w", err)
	}
	if tok = strings.TrimSpace(tok); tok == "" {
		return nil, fmt.Errorf("load: --twilio-auth-token-file %s is empty", tokenFile)
	}
	run = strings.Repeat("0", 12) + run
	return &smsLoad{url: signedURL, key: []byte(tok), sid: run[len(run)-12:]}, nil
}

// smsReq is one worker's reusable state.
type smsReq struct {
	mac  hash.Hash
	in   []byte // the signature's input
	body []byte // the form body
	hdr  []byte // the X-Twilio-Signature header line
	sum  [sha1.Size]byte
}

func (s *smsLoad) newReq() *smsReq {
	return &smsReq{mac: hmac.New(sha1.New, s.key)}
}

// build fills r with message n's form body and signature header. The
// parameters are written in name order, so the signature's input is built
// in the same pass; only the values with characters a form escapes (From's
// "+", Body's spaces) differ between the two.
func (s *smsLoad) build(r *smsReq, n, customers int) {
	var sid [34]byte
	copy(sid[:], "SM")
	copy(sid[2:], s.sid)
	hexPad(sid[14:], uint64(n))
	var from [12]byte // +1 415 5XX XXXX: plain E.164 of a real-looking number
	copy(from[:], "+14155")
	decPad(from[6:], uint64(n%max(customers, 1)%1000000))
	var num [20]byte
	text := strconv.AppendInt(num[:0], int64(n), 10)

	in := append(r.in[:0], s.url...)
	b := r.body[:0]
	// Names in byte order (capitals first): the order Twilio signs them in.
	in, b = formParam(in, b, "AccountSid", smsLoadAccount, smsLoadAccount)
	in, b = formParam(in, b, "ApiVersion", "2010-04-01", "2010-04-01")
	in = append(append(in, "Bodyload test message "...), text...)
	b = append(append(b, "&Body=load+test+message+"...), text...)
	in = append(append(in, "From"...), from[:]...)
	b = append(append(b, "&From=%2B"...), from[1:]...)
	in = append(append(in, "MessageSid"...), sid[:]...)
	b = append(append(b, "&MessageSid="...), sid[:]...)
	in, b = formParam(in, b, "NumMedia", "0", "0")
	in, b = formParam(in, b, "NumSegments", "1", "1")
	in = append(append(in, "SmsMessageSid"...), sid[:]...)
	b = append(append(b, "&SmsMessageSid="...), sid[:]...)
	in = append(append(in, "SmsSid"...), sid[:]...)
	b = append(append(b, "&SmsSid="...), sid[:]...)
	in, b = formParam(in, b, "SmsStatus", "received", "received")
	in, b = formParam(in, b, "To", smsLoadTo, "%2B"+smsLoadTo[1:])
	r.in, r.body = in, b

	r.mac.Reset()
	r.mac.Write(in)
	var enc [28]byte
	base64.StdEncoding.Encode(enc[:], r.mac.Sum(r.sum[:0]))
	h := append(r.hdr[:0], "X-Twilio-Signature: "...)
	r.hdr = append(append(h, enc[:]...), "\r\n"...)
}

// formParam appends parameter k to the signature's input (name and value v)
// and to the form body (esc, v form-encoded).
func formParam(in, b []byte, k, v, esc string) ([]byte, []byte) {
	in = append(append(in, k...), v...)
	if len(b) > 0 {
		b = append(b, '&')
	}
	return in, append(append(append(b, k...), '='), esc...)
}

// hexPad writes v into b as lower-case hex, zero-padded to len(b).
func hexPad(b []byte, v uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = "0123456789abcdef"[v&15]
		v >>= 4
	}
}

// decPad writes v into b in decimal, zero-padded to len(b).
func decPad(b []byte, v uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

// smsWebhookPath is the path of an sms channel's message webhook
// (connectors/sms WebhookPattern).
func smsWebhookPath(channel string) string {
	return "/webhooks/twilio/" + url.PathEscape(channel)
}
