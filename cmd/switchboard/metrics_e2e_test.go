package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// getMetrics GETs a /metrics URL with token (none when empty).
func getMetrics(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wantJSONError checks that body is the API's JSON error with code.
func wantJSONError(t *testing.T, what, body, code string) {
	t.Helper()
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != code || e.Message == "" {
		t.Errorf("%s: body %q, want a JSON error %q", what, body, code)
	}
}

// TestMetricsAccess: /metrics names shadow and pilot channels, so on the
// main listener only admins and the metrics token read it; with
// http.metrics_addr it is served, open, on that listener only.
func TestMetricsAccess(t *testing.T) {
	const metricsToken = "scraper-token-0123456789"
	t.Run("main listener", func(t *testing.T) {
		p := start(t, writeConfig(t, embeddedStore(t), "http:\n  metrics_token: "+metricsToken+"\n"), freeAddr(t))
		code, body := getMetrics(t, p.base+"/metrics", "")
		if code != 401 {
			t.Fatalf("/metrics without a token: %d, want 401", code)
		}
		wantJSONError(t, "/metrics without a token", body, "unauthorized")
		if code, _ := getMetrics(t, p.base+"/metrics", agentToken); code != 403 {
			t.Fatalf("/metrics with an agent's token: %d, want 403", code)
		}
		if code, _ := getMetrics(t, p.base+"/metrics", "wrong-token"); code != 401 {
			t.Fatalf("/metrics with a wrong token: %d, want 401", code)
		}
		for _, tok := range []string{adminToken, metricsToken} {
			if code, body := getMetrics(t, p.base+"/metrics", tok); code != 200 || !strings.Contains(body, "switchboard_queue_length") {
				t.Fatalf("/metrics with token %s: %d", tok[:5], code)
			}
		}
	})
	t.Run("own listener", func(t *testing.T) {
		maddr := freeAddr(t)
		p := start(t, writeConfig(t, embeddedStore(t), "http:\n  metrics_addr: "+maddr+"\n"), freeAddr(t))
		code, body := getMetrics(t, p.base+"/metrics", adminToken)
		if code != 404 {
			t.Fatalf("/metrics on the main listener with metrics_addr set: %d, want 404", code)
		}
		wantJSONError(t, "/metrics on the main listener", body, "not_found")
		if code, body := getMetrics(t, "http://"+maddr+"/metrics", ""); code != 200 || !strings.Contains(body, "switchboard_queue_length") {
			t.Fatalf("/metrics on http.metrics_addr: %d", code)
		}
		if code, body := getMetrics(t, "http://"+maddr+"/api/v1/version", adminToken); code != 404 {
			t.Fatalf("the API on the metrics listener: %d, want 404", code)
		} else {
			wantJSONError(t, "the API on the metrics listener", body, "not_found")
		}
	})
}
