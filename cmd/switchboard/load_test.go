package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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
	target, err := newRawTarget(srv.URL, "/api/v1/channels/api/messages", "tok")
	if err != nil {
		t.Fatal(err)
	}
	var conn *rawConn
	for i, tc := range []struct{ body, want string }{
		{"plain", `{"id":"m_1"}`}, {"chunked", `{"id":"m_2"}`}, {"empty", ""}, {"close", `{"id":"m_3"}`}, {"plain", `{"id":"m_1"}`},
	} {
		status, resp, err := target.post(&conn, []byte(tc.body))
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
	if _, err := newRawTarget("ftp://x", "/", "t"); err == nil {
		t.Errorf("newRawTarget accepted an ftp URL")
	}
}
