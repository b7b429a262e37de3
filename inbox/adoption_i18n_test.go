package inbox_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/store"
)

// The Adoption page loads the inbox's catalogues and language picker;
// the router's reasons come out as keyed messages with their figures in
// data-i18n-vars (not English sentences); each chart is an image named by
// its caption; no inline script under the UI's CSP.
func TestAdoptionPageIsInTheInboxsLanguages(t *testing.T) {
	rec := adminPage(t, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive},
		{Name: "chat", Type: "slack", Phase: store.PhaseShadow}}, "/admin/adoption")
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self';") {
		t.Fatalf("%d, CSP %q", rec.Code, rec.Header().Get("Content-Security-Policy"))
	}
	for _, want := range []string{`src="/ui/langs.js"`, `src="/ui/adoption.js"`, `class="lang-pick"`, `data-i18n="adoption.title"`,
		// a channel without figures is not ready: too few messages, keyed
		`data-i18n="adoption.verdict.notReady"`, `data-i18n="adoption.reason.messages" data-i18n-vars="{&#34;min&#34;:`,
		// the charts are images named by their captions
		`<figcaption id="volume-0" data-i18n="adoption.chart.volume"`, `role="img" aria-labelledby="volume-0"`,
		`<figcaption id="match-1" data-i18n="adoption.chart.match"`, `role="img" aria-labelledby="match-1"`,
		`data-i18n="phase.shadow"`, `data-fmt="pct"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(body, `<li>messages in`) {
		t.Errorf("a reason is an English sentence without a key")
	}
	for _, tag := range regexp.MustCompile(`<script(?:\s[^>]*)?>`).FindAllString(body, -1) {
		if !strings.Contains(tag, `src="/ui/`) {
			t.Errorf("an inline script %s", tag)
		}
	}
}
