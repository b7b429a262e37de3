package inbox_test

import (
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

// Each chart of the Reports page is an image with a name and a text
// alternative a screen reader can reach: role="img", aria-labelledby a
// caption with a catalogue key, aria-describedby a table of the figures;
// the wide table of all figures scrolls in a named, focusable region.
// (In a browser: TestUIAdminPagesOnAPhoneChartsAndNamedControls.)
func TestReportsChartsHaveNamesAndTextAlternatives(t *testing.T) {
	rec := adminPage(t, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive}, {Name: "chat", Type: "slack", Phase: store.PhaseLive}},
		"/admin/reports?from=2026-05-01&to=2026-05-31")
	body := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("reports page: %d", rec.Code)
	}
	svgs := regexp.MustCompile(`<svg [^>]*>`).FindAllString(body, -1)
	if len(svgs) != 5 {
		t.Fatalf("%d charts, want 5", len(svgs))
	}
	attr := func(tag, name string) string {
		m := regexp.MustCompile(` ` + name + `="([^"]*)"`).FindStringSubmatch(tag)
		if m == nil {
			return ""
		}
		return m[1]
	}
	for _, svg := range svgs {
		name, desc := attr(svg, "aria-labelledby"), attr(svg, "aria-describedby")
		if attr(svg, "role") != "img" || name == "" || desc == "" {
			t.Errorf("chart %s: want role=img, aria-labelledby and aria-describedby", svg)
			continue
		}
		if !regexp.MustCompile(`<figcaption id="` + name + `" data-i18n="reports\.chart\.\w+">[^<]+</figcaption>`).MatchString(body) {
			t.Errorf("chart %s: no caption with a catalogue key names it", name)
		}
		// the figures, one row per channel (group), in a table
		if !regexp.MustCompile(`<table class="chart-data" id="` + desc + `">(?s:.*?)<th scope="row">chat</th>(?s:.*?)<th scope="row">mail</th>`).MatchString(body) {
			t.Errorf("chart %s: no table of its figures (%s)", name, desc)
		}
	}
	if !strings.Contains(body, `<div class="table-scroll" role="region" aria-labelledby="report-title" tabindex="0">`) ||
		!strings.Contains(body, `<h2 id="report-title" data-i18n="reports.table">`) {
		t.Errorf("the table of all figures is not in a named, focusable region")
	}
	if !strings.Contains(body, `<meta name="viewport"`) {
		t.Errorf("no viewport: a phone would draw the page 980 px wide")
	}
}

// adminPage is the answer of a hub on the embedded store with channels
// chans (on 2026-05-04) to an admin's GET of path.
func adminPage(t *testing.T, chans []directory.Channel, path string) *httptest.ResponseRecorder {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := func() time.Time { return time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC) }
	srv := inbox.New(inbox.Options{Store: st, Directory: directory.New(st, chans, now, nil), Clock: now,
		Credentials: []inbox.Credential{{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken("root-tok")}}})
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer root-tok")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec
}
