package inbox_test

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestUnknownSortIs400: an unknown sort= on the conversation lists answers
// 400 naming the allowed values; sla_due and no sort list.
func TestUnknownSortIs400(t *testing.T) {
	h := newAPIHub(t)
	get := func(url string) (int, string) {
		req := httptest.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer root-tok")
		rec := httptest.NewRecorder()
		h.srv.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	for _, path := range []string{"/api/v1/inbox", "/api/v1/conversations"} {
		if code, body := get(path + "?sort=due"); code != 400 || !strings.Contains(body, "sla_due") {
			t.Errorf("%s?sort=due: %d %s, want 400 naming sla_due", path, code, body)
		}
		for _, q := range []string{"", "?sort=sla_due"} {
			if code, body := get(path + q); code != 200 {
				t.Errorf("%s%s: %d %s", path, q, code, body)
			}
		}
	}
}
