package inbox_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/internal/testenv"
)

type meBrowserResult struct {
	Name        string   `json:"name"`
	Lang        string   `json:"lang"`
	Title       string   `json:"title"`
	H2          []string `json:"h2"`
	Scripts     int      `json:"scripts"`
	StateBefore string   `json:"state_before"`
	Button      string   `json:"button"`
	StateAfter  string   `json:"state_after"`
	Notice      string   `json:"notice"`
	Error       string   `json:"error"`
}

// TestSelfServicePageInChromium: a real Chromium with JavaScript off opens
// the self-service page in Finnish and in English (its Accept-Language),
// and withdraws, then gives back, marketing consent with the page's own
// form buttons; the next marketing message follows each choice.
func TestSelfServicePageInChromium(t *testing.T) {
	chromium, pw, node := os.Getenv("SWITCHBOARD_TEST_CHROMIUM"), os.Getenv("SWITCHBOARD_TEST_PLAYWRIGHT"), os.Getenv("SWITCHBOARD_TEST_NODE")
	if node == "" {
		node = "node"
	}
	if chromium == "" || pw == "" {
		testenv.Absent(t, "a browser (SWITCHBOARD_TEST_CHROMIUM, SWITCHBOARD_TEST_PLAYWRIGHT)", nil)
	}
	h := newConsentHub(t, hubtest.Embedded(t))
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.srv.ServeHTTP(w, r) }))
	defer web.Close()
	h.putConsent("*", "marketing", true, "phone")
	rec := h.do("POST", "/api/v1/customers/"+h.customer+"/access-links", "tok", "")
	var link struct{ URL string }
	if err := json.Unmarshal(rec.Body.Bytes(), &link); err != nil || rec.Code != 201 {
		t.Fatalf("access link: %d %s", rec.Code, rec.Body)
	}
	pageURL := web.URL + strings.TrimPrefix(link.URL, consentPublicURL)

	art := os.Getenv("SWITCHBOARD_TEST_ARTIFACTS")
	if art == "" {
		art = filepath.Join("..", ".cache", "artifacts")
	}
	art, _ = filepath.Abs(filepath.Join(art, "selfservice"))
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	plan := map[string]any{"chromium": chromium, "scenarios": []map[string]any{
		{"name": "fi", "url": pageURL, "locale": "fi-FI", "purpose": "marketing",
			"screenshot": filepath.Join(art, "fi-before.png"), "screenshot_after": filepath.Join(art, "fi-after.png")},
		{"name": "en", "url": pageURL, "locale": "en-GB", "purpose": "marketing",
			"screenshot": filepath.Join(art, "en-before.png"), "screenshot_after": filepath.Join(art, "en-after.png")},
	}}
	planPath := filepath.Join(t.TempDir(), "plan.json")
	b, _ := json.Marshal(plan)
	if err := os.WriteFile(planPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs(filepath.Join("testdata", "me", "browser.js"))
	cmd := exec.Command(node, script, planPath)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_TEST_PLAYWRIGHT="+pw)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("browser: %v\n%s\n%s", err, out, stderr.String())
	}
	res := map[string]meBrowserResult{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r meBrowserResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("browser output %q: %v", line, err)
		}
		res[r.Name] = r
	}
	t.Logf("screenshots in %s", art)
	// Finnish first: marketing was given, the button withdraws it.
	fi := res["fi"]
	if fi.Error != "" || fi.Lang != "fi" || fi.Title != "Tietosi" || fi.Scripts != 0 || !contains(fi.H2, "Suostumuksesi") || !contains(fi.H2, "Poista tietosi") ||
		fi.StateBefore != "Annettu" || fi.Button != "Peruuta" || fi.StateAfter != "Ei annettu" || fi.Notice != "Valintasi on tallennettu." {
		t.Fatalf("Finnish page: %+v", fi)
	}
	// English second: marketing is withdrawn now, the button gives it.
	en := res["en"]
	if en.Error != "" || en.Lang != "en" || en.Title != "Your data" || !contains(en.H2, "Your consents") || !contains(en.H2, "Erase your data") ||
		en.StateBefore != "Not given" || en.Button != "Give consent" || en.StateAfter != "Given" || en.Notice != "Your choice was saved." {
		t.Fatalf("English page: %+v", en)
	}
	hist, err := h.st.ConsentHistory(t.Context(), h.customer)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[1].Granted || hist[1].Source != "self_service" || !hist[2].Granted || hist[2].Source != "self_service" {
		t.Fatalf("history = %+v", hist)
	}
	h.wantOutbound("after giving consent back in the browser", "mail", "marketing", 201)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}
