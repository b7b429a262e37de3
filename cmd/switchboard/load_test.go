package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"testing"
)

func TestLoadBodyIsTheAPIChannelsJSON(t *testing.T) {
	var got struct {
		ExternalID string            `json:"external_id"`
		Sender     map[string]string `json:"sender"`
		Text       string            `json:"text"`
	}
	b := loadBody(nil, "ab12", 1234, 1000)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("loadBody = %s: %v", b, err)
	}
	if got.ExternalID != "load-ab12-1234" || got.Sender["email"] != "load234@example.com" || got.Text != "load test message 1234" {
		t.Errorf("loadBody decoded to %+v", got)
	}
}

func TestEntryCreated(t *testing.T) {
	for line, want := range map[string]string{
		`data: {"type":"entry.created","customer_id":"c_1","entry_id":"m_42","channel":"api"}`: "m_42",
		`data: {"type":"conversation.opened","customer_id":"c_1","conversation_id":"v_1"}`:     "",
		`event: entry.created`:                         "",
		`data: {"type":"entry.created","entry_id":""}`: "",
		`: keep-alive`:                                 "",
	} {
		id, ok := entryCreated([]byte(line))
		if id != want || ok != (want != "") {
			t.Errorf("entryCreated(%q) = %q, %v; want %q", line, id, ok, want)
		}
	}
}

// TestRawTargetResponses: the load generator's HTTP client reads fixed-length,
// chunked and connection-closing responses, and redials after a close.
func TestRawTargetResponses(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, r.Header.Get("Authorization")+" "+string(b))
		mu.Unlock()
		switch string(b) {
		case "chunked":
			w.WriteHeader(202)
			w.(http.Flusher).Flush() // no Content-Length: chunked
			io.WriteString(w, `{"id":"m_`)
			w.(http.Flusher).Flush()
			io.WriteString(w, `2"}`)
		case "empty":
			w.WriteHeader(204)
		case "close":
			w.Header().Set("Connection", "close")
			w.WriteHeader(202)
			io.WriteString(w, `{"id":"m_3"}`)
		default:
			w.WriteHeader(202)
			io.WriteString(w, `{"id":"m_1"}`)
		}
	}))
	defer srv.Close()
	target, err := newRawTarget(srv.URL, "/api/v1/channels/api/messages", "Authorization: Bearer tok\r\n")
	if err != nil {
		t.Fatal(err)
	}
	var conn *rawConn
	for i, tc := range []struct{ body, want string }{
		{"plain", `{"id":"m_1"}`}, {"chunked", `{"id":"m_2"}`}, {"empty", ""}, {"close", `{"id":"m_3"}`}, {"plain", `{"id":"m_1"}`},
	} {
		status, resp, err := target.post(&conn, nil, []byte(tc.body))
		want := 202
		if tc.body == "empty" {
			want = 204
		}
		if err != nil || status != want || string(resp) != tc.want {
			t.Errorf("request %d (%s): %d %q %v; want %d %q", i, tc.body, status, resp, err, want, tc.want)
		}
		if tc.body == "close" && conn != nil {
			t.Errorf("connection kept after the server said Connection: close")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 5 || !bytes.HasPrefix([]byte(bodies[0]), []byte("Bearer tok plain")) {
		t.Errorf("server saw %q", bodies)
	}
	if _, err := newRawTarget("ftp://x", "/", ""); err == nil {
		t.Errorf("newRawTarget accepted an ftp URL")
	}
}

// TestSMSLoadRequests: the webhooks of `load --sms-channel` are what Twilio
// posts for an inbound SMS, each with its own message SID, and signed as
// Twilio signs (checked here with the scheme computed from url.Values, not
// the generator's own code), also when a worker's buffers are reused.
func TestSMSLoadRequests(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	os.WriteFile(tokFile, []byte("sekrit0token\n"), 0o600)
	const signed = "https://hub.example.com/base/webhooks/twilio/sms"
	s, err := newSMSLoad(signed, tokFile, "18f3a2b4c5d6e7f8")
	if err != nil {
		t.Fatal(err)
	}
	r := s.newReq()
	sids := map[string]bool{}
	for _, n := range []int{123456, 0, 7, 1<<40 + 5} {
		s.build(r, n, 1000)
		form, err := url.ParseQuery(string(r.body))
		if err != nil {
			t.Fatalf("body %q: %v", r.body, err)
		}
		keys := make([]string, 0, len(form))
		for k, v := range form {
			if len(v) != 1 {
				t.Errorf("parameter %s repeated: %q", k, v)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		in := signed
		for _, k := range keys {
			in += k + form.Get(k)
		}
		m := hmac.New(sha1.New, []byte("sekrit0token"))
		m.Write([]byte(in))
		want := "X-Twilio-Signature: " + base64.StdEncoding.EncodeToString(m.Sum(nil)) + "\r\n"
		if string(r.hdr) != want {
			t.Errorf("message %d: header %q, want %q (body %s)", n, r.hdr, want, r.body)
		}
		sid := form.Get("MessageSid")
		if !regexp.MustCompile(`^SM[0-9a-f]{32}$`).MatchString(sid) || form.Get("SmsSid") != sid || form.Get("SmsMessageSid") != sid || sids[sid] {
			t.Errorf("message %d: MessageSid %q (SmsSid %q), want a fresh SM and 32 hex digits", n, sid, form.Get("SmsSid"))
		}
		sids[sid] = true
		wantFrom := fmt.Sprintf("+14155%06d", n%1000)
		if form.Get("From") != wantFrom || form.Get("Body") != fmt.Sprintf("load test message %d", n) || form.Get("To") != smsLoadTo || form.Get("NumMedia") != "0" {
			t.Errorf("message %d: form %v", n, form)
		}
	}
	if _, err := newSMSLoad(signed, "", "1"); err == nil {
		t.Errorf("no token file accepted")
	}
	if _, err := newSMSLoad(signed, filepath.Join(dir, "missing"), "1"); err == nil {
		t.Errorf("a missing token file accepted")
	}
}

// BenchmarkSMSLoadBuild is the generator's own cost per signed webhook.
func BenchmarkSMSLoadBuild(b *testing.B) {
	tokFile := filepath.Join(b.TempDir(), "token")
	os.WriteFile(tokFile, []byte("sekrit0token"), 0o600)
	s, _ := newSMSLoad("http://127.0.0.1:8080/webhooks/twilio/sms", tokFile, "18f3a2b4c5d6e7f8")
	r := s.newReq()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.build(r, i, 1000)
	}
}
