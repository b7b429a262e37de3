package inbox_test

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

// The Reports page's refusals and bad queries are the page itself with a
// message keyed in the inbox's catalogues (not the API's JSON), under the
// UI's CSP with no inline script; the API keeps its JSON errors.
func TestReportsPageMessagesAreKeyed(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := func() time.Time { return time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC) }
	dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive}}, now, nil)
	srv := inbox.New(inbox.Options{Store: st, Directory: dir, Clock: now, Teams: []string{"support"},
		TeamLeads: map[string][]string{"lea": {"support"}},
		Credentials: []inbox.Credential{
			{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken("root-tok")},
			{Principal: inbox.Principal{Name: "lea", Role: "agent", Teams: []string{"support"}}, TokenSHA256: inbox.HashToken("lea-tok")},
			{Principal: inbox.Principal{Name: "ann", Role: "agent"}, TokenSHA256: inbox.HashToken("ann-tok")}}})
	get := func(token, path string) (int, string, string) {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Code, rec.Header().Get("Content-Security-Policy"), rec.Body.String()
	}
	inline := regexp.MustCompile(`<script(?:\s[^>]*)?>`)
	for _, c := range []struct {
		who, query string
		status     int
		key        string
		form       bool
	}{
		{"root", "?from=2026-05-01&to=2026-05-31", 200, "reports.title", true},
		{"root", "?from=May", 422, "reports.err.date", true},
		{"root", "?from=2026-05-31&to=2026-05-01", 422, "reports.err.order", true},
		{"root", "?from=2000-01-01&to=2026-05-01", 422, "reports.err.tooLong", true},
		{"root", "?group_by=customer", 422, "reports.err.group", true},
		{"lea", "?group_by=channel", 403, "reports.err.channels", false},
		{"ann", "", 403, "reports.err.notLead", false},
	} {
		code, csp, body := get(c.who+"-tok", "/admin/reports"+c.query)
		if code != c.status || !strings.Contains(body, `data-i18n="`+c.key+`"`) {
			t.Errorf("%s %s: %d, key %s shown: %v", c.who, c.query, code, c.key, strings.Contains(body, c.key))
		}
		if !strings.Contains(csp, "script-src 'self';") {
			t.Errorf("%s %s: CSP %q", c.who, c.query, csp)
		}
		for _, tag := range inline.FindAllString(body, -1) {
			if !strings.Contains(tag, `src="/ui/`) {
				t.Errorf("%s %s: an inline script %s", c.who, c.query, tag)
			}
		}
		if strings.Contains(body, `id="report-form"`) != c.form {
			t.Errorf("%s %s: form shown %v, want %v", c.who, c.query, !c.form, c.form)
		}
		if !strings.Contains(body, `src="/ui/langs.js"`) || !strings.Contains(body, `class="lang-pick"`) {
			t.Errorf("%s %s: the page lacks the inbox's catalogues or language picker", c.who, c.query)
		}
	}
	// The limit is a placeholder the page fills in, formatted per language.
	if _, _, body := get("root-tok", "/admin/reports?from=2000-01-01&to=2026-05-01"); !strings.Contains(body, `data-i18n-vars="{&#34;days&#34;:3660}"`) {
		t.Errorf("too long a period: no data-i18n-vars for {days}")
	}
	req := httptest.NewRequest("GET", "/api/v1/reports/service?from=May", nil)
	req.Header.Set("Authorization", "Bearer root-tok")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var e struct{ Error, Message string }
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != 422 || e.Error != "invalid" || !strings.Contains(e.Message, "from must be a date") {
		t.Errorf("the API's error: %d %q", rec.Code, rec.Body)
	}
}
