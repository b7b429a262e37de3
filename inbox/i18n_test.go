package inbox_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The inbox's message catalogues (ui/lang-CODE.js, see ui/i18n.js): every
// key the UI uses exists in every catalogue, every catalogue has the same
// keys, and each translation keeps its message's {placeholders}.

var (
	catalogueHead = regexp.MustCompile(`(?m)^sbCatalogue\('([a-z]{2,3})', '([^']+)', \{$`)
	catalogueKey  = regexp.MustCompile(`(?m)^  '([a-zA-Z0-9_.]+)': '((?:[^'\\]|\\.)*)',$`)
	uiKeyCall     = regexp.MustCompile(`\bt\('([a-zA-Z0-9_.]+)'`)
	uiKeyAttr     = regexp.MustCompile(`data-i18n(?:-placeholder|-title|-aria-label)?="([^"]+)"`)
	uiKeySet      = regexp.MustCompile(`setKey\([^,]+, '([a-zA-Z0-9_.]+)'\)`)
	// uiTextKey: a text of a server-rendered page named in Go (reports_ui.go).
	uiTextKey   = regexp.MustCompile(`uiText\{Key: "([a-zA-Z0-9_.]+)"`)
	placeholder = regexp.MustCompile(`\{(\w+)\}`)
)

// dynamicKeys are the keys the UI builds from data (t('status.' + s)):
// the families and the values the hub sends.
var dynamicKeys = map[string][]string{
	"channel.": {"email", "sms", "slack", "webform", "api", "plugin"},
	"status.":  {"open", "pending", "snoozed", "resolved", "queued", "sent", "delivered", "undelivered", "failed"},
	"phase.":   {"off", "shadow", "pilot", "live"},
	"queue.":   {"ingest", "outbound"},
	"consent.": {"opt_in", "opt_out"},
	"ident.":   {"email", "phone"},
	"snooze.":  {"hour", "tomorrow", "monday"},
	"conn.":    {"live", "reconnecting"},
	"prio.":    {"low", "medium", "high", "urgent"}, // issue 24: store.Priorities
}

type catalogue struct {
	code, name string
	msgs       map[string]string
}

func readCatalogues(t *testing.T) []catalogue {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("ui", "lang-*.js"))
	if err != nil || len(files) < 2 {
		t.Fatalf("catalogues: %v %v", files, err)
	}
	var out []catalogue
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		h := catalogueHead.FindStringSubmatch(src)
		if h == nil || "lang-"+h[1]+".js" != filepath.Base(f) {
			t.Fatalf("%s: does not start its catalogue with sbCatalogue('CODE', 'Name', { for its own code: %q", f, h)
		}
		c := catalogue{code: h[1], name: h[2], msgs: map[string]string{}}
		// Every line between the head and the closing "});" is one key.
		body := src[strings.Index(src, h[0])+len(h[0]):]
		end := strings.LastIndex(body, "\n});")
		if end < 0 {
			t.Fatalf("%s: no closing });", f)
		}
		for _, line := range strings.Split(strings.Trim(body[:end], "\n"), "\n") {
			m := catalogueKey.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("%s: not a catalogue line (  'area.key': 'text',): %q", f, line)
				continue
			}
			if _, dup := c.msgs[m[1]]; dup {
				t.Errorf("%s: key %s twice", f, m[1])
			}
			if strings.TrimSpace(m[2]) == "" {
				t.Errorf("%s: key %s is empty", f, m[1])
			}
			c.msgs[m[1]] = m[2]
		}
		out = append(out, c)
	}
	return out
}

// uiKeys is every catalogue key the UI's files name, with where.
func uiKeys(t *testing.T) map[string]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("ui", "*.js"))
	html, _ := filepath.Glob(filepath.Join("ui", "*.html"))
	keys := map[string]string{}
	// Server-rendered pages in the inbox's languages: ui.go (the 403 page),
	// reports_ui.go and reports.go (the Reports page and its messages),
	// adoption_ui.go (the Adoption page).
	files = append(append(files, html...), "ui.go", "reports_ui.go", "reports.go", "adoption_ui.go")
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasPrefix(base, "lang-") || base == "i18n.js" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range []*regexp.Regexp{uiKeyCall, uiKeyAttr, uiKeySet, uiTextKey} {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				// data-i18n="{{.Title.Key}}": a template fills in a key named by a uiText.
				if strings.HasPrefix(m[1], "{{") {
					continue
				}
				// data-i18n="phase.{{.Phase}}": a family a template fills in from data.
				if i := strings.Index(m[1], "{{"); i > 0 {
					if dynamicKeys[m[1][:i]] == nil {
						t.Errorf("%s builds keys %s from data: list the values in dynamicKeys", base, m[1])
					}
					continue
				}
				// t('status.' + s): a family built from data, listed in dynamicKeys.
				if strings.HasSuffix(m[1], ".") {
					if dynamicKeys[m[1]] == nil {
						t.Errorf("%s builds keys %s… from data: list the values in dynamicKeys", base, m[1])
					}
					continue
				}
				keys[m[1]] = base
			}
		}
	}
	for prefix, values := range dynamicKeys {
		for _, v := range values {
			keys[prefix+v] = "(built from data)"
		}
	}
	return keys
}

func TestEveryUIKeyIsInEveryCatalogue(t *testing.T) {
	cats := readCatalogues(t)
	keys := uiKeys(t)
	if len(keys) < 100 {
		t.Fatalf("only %d keys found in the UI: is the regexp still right?", len(keys))
	}
	for _, c := range cats {
		var missing []string
		for k, where := range keys {
			if _, ok := c.msgs[k]; !ok {
				missing = append(missing, k+" ("+where+")")
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("lang-%s.js lacks %d keys the UI uses: %s", c.code, len(missing), strings.Join(missing, ", "))
		}
	}
}

func TestCataloguesHaveTheSameKeysAndPlaceholders(t *testing.T) {
	cats := readCatalogues(t)
	var en *catalogue
	for i := range cats {
		if cats[i].code == "en" {
			en = &cats[i]
		}
	}
	if en == nil {
		t.Fatal("no English catalogue (lang-en.js): it is the one every language falls back to")
	}
	for _, c := range cats {
		if c.code == "en" {
			continue
		}
		for k, v := range en.msgs {
			tr, ok := c.msgs[k]
			if !ok {
				t.Errorf("lang-%s.js lacks %s (English: %q)", c.code, k, v)
				continue
			}
			if a, b := placeholders(v), placeholders(tr); !slices.Equal(a, b) {
				t.Errorf("lang-%s.js %s has placeholders %v, English %v", c.code, k, b, a)
			}
		}
		for k := range c.msgs {
			if _, ok := en.msgs[k]; !ok {
				t.Errorf("lang-%s.js has %s, which lang-en.js lacks", c.code, k)
			}
		}
	}
}

// TestCatalogueCheckFindsProblems: the checks above fail on a catalogue
// missing a key and on a translation that drops a placeholder.
func TestCatalogueCheckFindsProblems(t *testing.T) {
	src := "sbCatalogue('xx', 'Test', {\n  'a.b': 'waiting {d}',\n  'bad line',\n});\n"
	h := catalogueHead.FindStringSubmatch(src)
	if h == nil || h[1] != "xx" {
		t.Fatalf("head not read: %q", h)
	}
	if catalogueKey.MatchString("  'bad line',") || !catalogueKey.MatchString(`  'a.b': 'it\'s {d}',`) {
		t.Fatal("catalogue line regexp")
	}
	if slices.Equal(placeholders("waiting {d}"), placeholders("odottanut")) {
		t.Fatal("a dropped placeholder went unnoticed")
	}
	if m := uiKeyCall.FindStringSubmatch(`x = t('list.waiting', { d })`); m == nil || m[1] != "list.waiting" {
		t.Fatalf("t() call not read: %q", m)
	}
	if m := uiKeyAttr.FindStringSubmatch(`<p data-i18n-aria-label="a.b">`); m == nil || m[1] != "a.b" {
		t.Fatalf("data-i18n attribute not read: %q", m)
	}
	if m := uiTextKey.FindStringSubmatch(`{uiText{Key: "reports.chart.csat", Text: "CSAT"}`); m == nil || m[1] != "reports.chart.csat" {
		t.Fatalf("uiText key not read: %q", m)
	}
}

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// TestReportsPageTextsAreKeyed: every text the Reports page's template
// writes is marked with a catalogue key (data-i18n) or is data (a figure
// with data-fmt, a name), so the page has no English left in Finnish; and
// its keys are among those checked above.
func TestReportsPageTextsAreKeyed(t *testing.T) {
	b, err := os.ReadFile("reports_ui.go")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	tmpl := src[strings.Index(src, "Parse(`")+len("Parse(`"):]
	tmpl = tmpl[:strings.Index(tmpl, "`))")]
	// An element's own text: >TEXT< not inside a tag, skipping template
	// actions; allowed when its opening tag has data-i18n or data-fmt.
	text := regexp.MustCompile(`<([a-z0-9]+)([^<>]*)>([^<]*)<`)
	action := regexp.MustCompile(`\{\{[^}]*\}\}`)
	data := map[string]bool{"–": true, "·": true}
	var found int
	for _, m := range text.FindAllStringSubmatch(tmpl, -1) {
		words := strings.TrimSpace(action.ReplaceAllString(m[3], ""))
		if words == "" || data[words] {
			continue
		}
		keyed := strings.Contains(m[2], "data-i18n") || strings.Contains(m[2], "data-fmt") ||
			strings.Contains(m[2], `id="period"`) // reports.js: t('reports.period')
		if !keyed {
			t.Errorf("Reports page: <%s%s> shows %q without a catalogue key", m[1], m[2], words)
			continue
		}
		found++
	}
	if found < 15 {
		t.Fatalf("only %d keyed texts found in the Reports page: is the regexp still right?", found)
	}
	keys := uiKeys(t)
	for _, k := range []string{"reports.title", "reports.chart.csat", "reports.group.agent", "reports.err.tooLong", "reports.period", "nav.inbox"} {
		if keys[k] == "" {
			t.Errorf("key %s of the Reports page not found by uiKeys", k)
		}
	}
}

// TestAdoptionPageTextsAreKeyed: every text the Adoption page's template
// writes is marked with a catalogue key (data-i18n) or is data (a figure
// with data-fmt, a time with data-t, a phase change ui/adoption.js words),
// so the page has no English left in Finnish; and its keys are among
// those checked above.
func TestAdoptionPageTextsAreKeyed(t *testing.T) {
	b, err := os.ReadFile("adoption_ui.go")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	tmpl := src[strings.Index(src, "Parse(`")+len("Parse(`"):]
	tmpl = tmpl[:strings.Index(tmpl, "`))")]
	text := regexp.MustCompile(`<([a-z0-9]+)([^<>]*)>([^<]*)<`)
	action := regexp.MustCompile(`\{\{[^}]*\}\}`)
	data := map[string]bool{"·": true, ":": true, "(": true, ")": true, "; )": true, "·  )": true}
	var found int
	for _, m := range text.FindAllStringSubmatch(tmpl, -1) {
		words := strings.TrimSpace(action.ReplaceAllString(m[3], ""))
		if words == "" || data[words] || strings.Trim(words, "·:;() ") == "" {
			continue
		}
		keyed := strings.Contains(m[2], "data-i18n") || strings.Contains(m[2], "data-fmt") || strings.Contains(m[2], "data-t=") ||
			strings.Contains(m[2], `class="change"`) // adoption.js: t('adoption.change')
		if !keyed {
			t.Errorf("Adoption page: <%s%s> shows %q without a catalogue key", m[1], m[2], words)
			continue
		}
		found++
	}
	if found < 20 {
		t.Fatalf("only %d keyed texts found in the Adoption page: is the regexp still right?", found)
	}
	keys := uiKeys(t)
	for _, k := range []string{"adoption.title", "adoption.chart.volume", "adoption.chart.max", "adoption.col.teamLoad", "adoption.change",
		"adoption.reason.matchRate", "adoption.verdict.notReady", "adoption.err.read", "adoption.rule"} {
		if keys[k] == "" {
			t.Errorf("key %s of the Adoption page not found by uiKeys", k)
		}
	}
}
