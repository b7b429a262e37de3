package inbox

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestEveryReadinessReasonIsKeyed: each reason the router writes
// (router/figures.go, judge) is read back into a catalogue message by
// reasonPatterns, so the Adoption page shows none of them in English to a
// Finnish reader; a new or reworded reason fails here.
func TestEveryReadinessReasonIsKeyed(t *testing.T) {
	b, err := os.ReadFile("../router/figures.go")
	if err != nil {
		t.Fatal(err)
	}
	formats := regexp.MustCompile(`rep\.Reasons = append\(rep\.Reasons, fmt\.Sprintf\("([^"]+)"`).FindAllStringSubmatch(string(b), -1)
	if len(formats) < 7 {
		t.Fatalf("only %d reasons found in router/figures.go: is the regexp still right?", len(formats))
	}
	verbs := strings.NewReplacer("%d", "7", "%.2f", "0.40")
	for _, f := range formats {
		reason := verbs.Replace(f[1])
		got := reasonText(reason)
		if got.Key == "" || len(got.Vars) == 0 {
			t.Errorf("the reason %q (format %q) has no catalogue message", reason, f[1])
		}
	}
	if got := reasonText("something new"); got.Key != "" || got.Text != "something new" {
		t.Errorf("an unknown reason: %+v, want it shown as written", got)
	}
}
