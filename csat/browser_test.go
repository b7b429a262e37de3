package csat_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
)

type surveyResult struct {
	Name        string `json:"name"`
	Status      int    `json:"status"`
	Lang        string `json:"lang"`
	H1          string `json:"h1"`
	Checked     string `json:"checked"`
	Scripts     int    `json:"scripts"`
	StatusAfter int    `json:"status_after"`
	H1After     string `json:"h1_after"`
	Error       string `json:"error"`
}

// TestSurveyPageInChromium: a real Chromium with JavaScript off opens the
// link of "4" from a survey email in Finnish, changes the score to 2,
// writes a comment and sends it with the page's own form; the answer is on
// the timeline; the link opened again (in English) says it was answered.
func TestSurveyPageInChromium(t *testing.T) {
	chromium, pw, node := os.Getenv("SWITCHBOARD_TEST_CHROMIUM"), os.Getenv("SWITCHBOARD_TEST_PLAYWRIGHT"), os.Getenv("SWITCHBOARD_TEST_NODE")
	if node == "" {
		node = "node"
	}
	if chromium == "" || pw == "" {
		testenv.Absent(t, "a browser (SWITCHBOARD_TEST_CHROMIUM, SWITCHBOARD_TEST_PLAYWRIGHT)", nil)
	}
	st := hubtest.Embedded(t)
	h := newHub(t, st)
	mux := http.NewServeMux()
	mux.Handle("GET /csat/{token}", h.cs)
	mux.Handle("POST /csat/{token}", h.cs)
	web := httptest.NewServer(mux)
	defer web.Close()
	c := h.served("mail", connectors.Identity{Type: connectors.Email, Value: "eve@example.com", Verified: true})
	h.clock.Advance(time.Hour)
	h.sendDue(1)
	m := linkRe.FindStringSubmatch(h.surveys(c.CustomerID)[0].Text)
	if m == nil {
		t.Fatal("no link in the survey")
	}
	pageURL := web.URL + m[2]

	art := os.Getenv("SWITCHBOARD_TEST_ARTIFACTS")
	if art == "" {
		art = filepath.Join("..", ".cache", "artifacts")
	}
	art, _ = filepath.Abs(filepath.Join(art, "csat"))
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	plan := map[string]any{"chromium": chromium, "scenarios": []map[string]any{
		{"name": "answer", "url": pageURL, "locale": "fi-FI", "choose": 2, "comment": "Odotin liian kauan", "submit": true,
			"screenshot": filepath.Join(art, "survey-fi.png"), "screenshot_after": filepath.Join(art, "survey-fi-thanks.png")},
		{"name": "again", "url": pageURL, "locale": "en-GB", "screenshot": filepath.Join(art, "survey-en-answered.png")},
	}}
	planPath := filepath.Join(t.TempDir(), "plan.json")
	b, _ := json.Marshal(plan)
	if err := os.WriteFile(planPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs(filepath.Join("testdata", "browser", "survey.js"))
	cmd := exec.Command(node, script, planPath)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_TEST_PLAYWRIGHT="+pw)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("browser: %v\n%s\n%s", err, out, stderr.String())
	}
	res := map[string]surveyResult{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r surveyResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("browser output %q: %v", sc.Text(), err)
		}
		res[r.Name] = r
	}
	a := res["answer"]
	if a.Error != "" || a.Status != 200 || a.Lang != "fi" || !strings.Contains(a.H1, "tyytyväinen") || a.Checked != "4" || a.Scripts != 0 ||
		a.StatusAfter != 200 || a.H1After != "Kiitos!" {
		t.Fatalf("answering in Chromium: %+v", a)
	}
	if g := res["again"]; g.Error != "" || g.Status != 410 || g.Lang != "en" || g.H1 != "Already answered" {
		t.Fatalf("the link again: %+v", g)
	}
	var got *store.CSAT
	for _, e := range h.entries(c.CustomerID) {
		if e.Kind == store.KindCSAT {
			got = e.CSAT
		}
	}
	if got == nil || *got != (store.CSAT{Score: 2, Scale: 5, Comment: "Odotin liian kauan"}) {
		t.Fatalf("answer on the timeline: %+v", got)
	}
}
