package inbox

import (
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// The Adoption admin page (GET /admin/adoption): a card per channel with
// its phase timeline, verdict and reasons, daily volume and match-rate
// charts (inline SVG drawn here: no CDN, under the UI's CSP), and the
// potential table. Admins only; an agent gets 403.
//
// It speaks the inbox's language like the Reports page (reports_ui.go):
// the catalogues (i18n.js, langs.js) and the language switch
// (langpick.js); every text written in English with its catalogue key
// (data-i18n, a uiText), each figure with its raw value and kind
// (data-n, data-fmt) and each time in data-t, which ui/adoption.js
// formats for the chosen language with Intl. The router's reasons
// ("match rate 0.40 is below 0.60") are read back into keyed messages
// (reasonText).

const chartDays = 30

type adoptionCard struct {
	N           int // the card's place: ids of its charts' captions
	Name, Phase string
	Readiness   router.Readiness
	Reasons     []uiText
	History     []phaseChange
	Volume      template.HTML
	Match       template.HTML
}

// phaseChange is a store.PhaseChange with its reasons keyed.
type phaseChange struct {
	store.PhaseChange
	Why []uiText
}

// reasonPatterns read the router's reasons (router/figures.go, judge)
// back into the catalogues' messages; a reason none matches is shown as
// written.
var reasonPatterns = []struct {
	re   *regexp.Regexp
	key  string
	vars []string
}{
	{regexp.MustCompile(`^days in phase 0 is below (\d+) \(no figures in this phase yet\)$`), "adoption.reason.noDays", []string{"min"}},
	{regexp.MustCompile(`^days in phase (\d+) is below (\d+)$`), "adoption.reason.days", []string{"n", "min"}},
	{regexp.MustCompile(`^messages in (\d+) is below (\d+)$`), "adoption.reason.messages", []string{"n", "min"}},
	{regexp.MustCompile(`^match rate ([\d.]+) is below ([\d.]+)$`), "adoption.reason.matchRate", []string{"n", "min"}},
	{regexp.MustCompile(`^failure rate ([\d.]+) is above ([\d.]+)$`), "adoption.reason.failureRate", []string{"n", "max"}},
	{regexp.MustCompile(`^dead letters (\d+) is above (\d+)$`), "adoption.reason.deadLetters", []string{"n", "max"}},
	{regexp.MustCompile(`^first response p90 (\d+)s is above (\d+)s$`), "adoption.reason.firstResponse", []string{"n", "max"}},
}

// The keys reasonPatterns name, as uiText literals for inbox/i18n_test.go.
var _ = []uiText{uiText{Key: "adoption.reason.noDays"}, uiText{Key: "adoption.reason.days"}, uiText{Key: "adoption.reason.messages"},
	uiText{Key: "adoption.reason.matchRate"}, uiText{Key: "adoption.reason.failureRate"}, uiText{Key: "adoption.reason.deadLetters"},
	uiText{Key: "adoption.reason.firstResponse"}}

// reasonText is a reason of the router's in the catalogues' terms (Key ""
// when no pattern knows it: shown as written).
func reasonText(r string) uiText {
	for _, p := range reasonPatterns {
		m := p.re.FindStringSubmatch(r)
		if m == nil {
			continue
		}
		vars := map[string]any{}
		for i, name := range p.vars {
			f, err := strconv.ParseFloat(m[i+1], 64)
			if err != nil {
				return uiText{Text: r}
			}
			vars[name] = f
		}
		return uiText{Key: p.key, Text: r, Vars: vars}
	}
	return uiText{Text: r}
}

func reasonTexts(rs []string) []uiText {
	out := make([]uiText, len(rs))
	for i, r := range rs {
		out[i] = reasonText(r)
	}
	return out
}

// verdictText names the router's verdicts.
var verdictText = map[string]uiText{
	router.VerdictReady:    uiText{Key: "adoption.verdict.ready", Text: "ready"},
	router.VerdictNotReady: uiText{Key: "adoption.verdict.notReady", Text: "not ready"},
}

var adoptionTmpl = template.Must(template.New("adoption").Funcs(template.FuncMap{
	"when":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"pct":     func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	"verdict": func(v string) uiText {
		if t, ok := verdictText[v]; ok {
			return t
		}
		return uiText{Text: v}
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title data-i18n="adoption.pageTitle">Adoption · Switchboard</title>
<link rel="icon" href="/ui/favicon.svg"><link rel="stylesheet" href="/ui/adoption.css">
<script src="/ui/i18n.js" defer></script><script src="/ui/langs.js" defer></script>
<script src="/ui/langpick.js" defer></script><script src="/ui/adoption.js" defer></script></head>
<body class="adoption">
<header><h1 data-i18n="adoption.title">Adoption</h1><a href="/" data-i18n="nav.inbox">Inbox</a>
<select id="lang" class="lang-pick" aria-label="Language" data-i18n-aria-label="lang.label"></select></header>
<main>
{{with .Err}}<p id="adoption-error" class="error" role="alert" data-i18n="{{.Key}}">{{.Text}}</p>{{end}}
{{if not .Err}}<section id="cards">
{{range .Cards}}
<article class="card" data-channel="{{.Name}}">
  <h2>{{.Name}} <span class="phase phase-{{.Phase}}" data-i18n="phase.{{.Phase}}">{{.Phase}}</span></h2>
  {{$v := verdict .Readiness.Verdict}}<p class="verdict verdict-{{.Readiness.Verdict}}"{{if $v.Key}} data-i18n="{{$v.Key}}"{{end}}>{{$v.Text}}</p>
  {{if .Reasons}}<ul class="reasons">{{range .Reasons}}<li{{if .Key}} data-i18n="{{.Key}}"{{with .VarsJSON}} data-i18n-vars="{{.}}"{{end}}{{end}}>{{.Text}}</li>{{end}}</ul>{{end}}
  <p class="figures"><span data-i18n="adoption.fig.messages">messages</span> <span data-n="{{.Readiness.MessagesIn}}" data-fmt="int">{{.Readiness.MessagesIn}}</span> · <span data-i18n="adoption.fig.senders">senders</span> <span data-n="{{.Readiness.Senders}}" data-fmt="int">{{.Readiness.Senders}}</span> · <span data-i18n="adoption.fig.matchRate">match rate</span> <span class="match-rate" data-n="{{.Readiness.MatchRate}}" data-fmt="pct">{{pct .Readiness.MatchRate}}</span> · <span data-i18n="adoption.fig.newCustomers">new customers</span> <span data-n="{{.Readiness.NewCustomers}}" data-fmt="int">{{.Readiness.NewCustomers}}</span> · <span data-i18n="adoption.fig.onlyHere">only here</span> <span data-n="{{.Readiness.Reach.OnlyHere}}" data-fmt="int">{{.Readiness.Reach.OnlyHere}}</span></p>
  <figure class="chart volume"><figcaption id="volume-{{.N}}" data-i18n="adoption.chart.volume" data-i18n-vars="{&#34;days&#34;:{{$.Days}}}">Messages per day (last {{$.Days}} days)</figcaption>{{.Volume}}</figure>
  <figure class="chart match"><figcaption id="match-{{.N}}" data-i18n="adoption.chart.match">Match rate per day</figcaption>{{.Match}}</figure>
  <h3 data-i18n="adoption.timeline">Phase timeline</h3>
  <ol class="timeline">{{range .History}}<li><time datetime="{{rfc3339 .At}}" data-t="{{rfc3339 .At}}">{{when .At}}</time>: <span class="change" data-from="{{.From}}" data-to="{{.To}}" data-by="{{.By}}">{{.From}} → {{.To}} by {{.By}}</span>{{if .Forced}} <strong class="forced" data-i18n="adoption.forced">forced</strong> ({{range $i, $r := .Why}}{{if $i}}; {{end}}<span{{if .Key}} data-i18n="{{.Key}}"{{with .VarsJSON}} data-i18n-vars="{{.}}"{{end}}{{end}}>{{.Text}}</span>{{end}}){{end}}{{with .Verdict}} · <span data-i18n="adoption.verdictWas">verdict</span> {{$v := verdict .}}<span{{if $v.Key}} data-i18n="{{$v.Key}}"{{end}}>{{$v.Text}}</span>{{end}}</li>{{else}}<li data-i18n="adoption.noChanges">no phase changes recorded</li>{{end}}</ol>
</article>
{{end}}
</section>
<section id="potential">
<h2 id="potential-title" data-i18n="adoption.potential">Channel potential</h2>
<p class="rule" data-i18n="{{.Rule.Key}}">{{.Rule.Text}}</p>
<div class="table-scroll" role="region" aria-labelledby="potential-title" tabindex="0"><table><thead><tr><th data-i18n="adoption.col.rank">#</th><th data-i18n="adoption.col.channel">channel</th><th data-i18n="adoption.col.phase">phase</th><th data-i18n="adoption.col.messages">messages</th><th data-i18n="adoption.col.volumeShare">volume share</th><th data-i18n="adoption.col.newCustomers">new customers</th><th data-i18n="adoption.col.onlyHere">only here</th><th data-i18n="adoption.col.matchRate">match rate</th><th data-i18n="adoption.col.teamLoad">team load / day</th><th data-i18n="adoption.col.score">score</th><th data-i18n="adoption.col.verdict">verdict</th></tr></thead>
<tbody>{{range .Potential.Channels}}<tr data-channel="{{.Channel}}"><td data-n="{{.Rank}}" data-fmt="int">{{.Rank}}</td><td>{{.Channel}}</td><td data-i18n="phase.{{.Phase}}">{{.Phase}}</td><td data-n="{{.MessagesIn}}" data-fmt="int">{{.MessagesIn}}</td><td data-n="{{.VolumeShare}}" data-fmt="pct">{{pct .VolumeShare}}</td><td data-n="{{.NewCustomers}}" data-fmt="int">{{.NewCustomers}}</td><td data-n="{{.OnlyHere}}" data-fmt="int">{{.OnlyHere}}</td><td data-n="{{.MatchRate}}" data-fmt="pct">{{pct .MatchRate}}</td><td data-n="{{.TeamLoad}}" data-fmt="dec">{{.TeamLoad}}</td><td data-n="{{.Score}}" data-fmt="dec">{{.Score}}</td>{{$v := verdict .Verdict}}<td{{if $v.Key}} data-i18n="{{$v.Key}}"{{end}}>{{$v.Text}}</td></tr>{{end}}</tbody></table></div>
</section>{{end}}
</main></body></html>
`))

func (s *Server) adoptionPage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", appCSP)
	h.Set("Cache-Control", "no-store")
	page := func(status int, data map[string]any) {
		data["Days"] = chartDays
		w.WriteHeader(status)
		if err := adoptionTmpl.Execute(w, data); err != nil {
			s.o.Logger.Warn("adoption page", "err", err)
		}
	}
	// A store that cannot be read: the page with its message (503), in
	// the reader's language, not the API's JSON.
	failed := func(err error) {
		s.o.Logger.Warn("adoption page", "err", err)
		page(http.StatusServiceUnavailable, map[string]any{"Err": uiText{Key: "adoption.err.read", Text: "The adoption figures could not be read. Try again."}})
	}
	ctx := r.Context()
	now := s.o.Clock()
	var cards []adoptionCard
	for i, ch := range s.o.Directory.List() {
		rep, err := router.ChannelReadiness(ctx, s.o.Store, ch, now, router.ReadinessQuery{})
		if err != nil {
			failed(err)
			return
		}
		chart, err := router.ChannelReadiness(ctx, s.o.Store, ch, now, router.ReadinessQuery{From: now.Add(-(chartDays - 1) * 24 * time.Hour), To: now})
		if err != nil {
			failed(err)
			return
		}
		hist, err := s.o.Store.ListPhaseChanges(ctx, ch.Name)
		if err != nil {
			failed(err)
			return
		}
		changes := make([]phaseChange, len(hist))
		for j, c := range hist {
			changes[j] = phaseChange{c, reasonTexts(c.Reasons)}
		}
		vol, match := make([]float64, len(chart.Daily)), make([]float64, len(chart.Daily))
		for i, d := range chart.Daily {
			vol[i], match[i] = float64(d.MessagesIn), d.MatchRate
		}
		cards = append(cards, adoptionCard{N: i, Name: ch.Name, Phase: ch.Phase, Readiness: rep, Reasons: reasonTexts(rep.Reasons), History: changes,
			Volume: barChart(fmt.Sprintf("volume-%d", i), vol, chart.Daily), Match: lineChart(fmt.Sprintf("match-%d", i), match, chart.Daily)})
	}
	pot, err := router.ChannelPotential(ctx, s.o.Store, s.o.Directory.List(), now, router.ReadinessQuery{})
	if err != nil {
		failed(err)
		return
	}
	page(http.StatusOK, map[string]any{"Cards": cards, "Potential": pot,
		"Rule": uiText{Key: "adoption.rule", Text: pot.Rule}})
}

const chartW, chartH = 300, 80

// barChart draws one bar per day, scaled to the largest day: an image
// named by its caption (id), each bar's day and count in its <title>
// (data-day, data-n for ui/adoption.js).
func barChart(id string, vals []float64, days []router.DailyFigure) template.HTML {
	top := 1.0
	for _, v := range vals {
		top = max(top, v)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="bars" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="%s">`, chartW, chartH+12, chartW, chartH+12, id)
	bw := float64(chartW) / float64(max(len(vals), 1))
	for i, v := range vals {
		h := v / top * chartH
		day := template.HTMLEscapeString(days[i].Day)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#3b6fb6"><title data-day="%s" data-n="%g" data-fmt="int">%s: %.0f</title></rect>`,
			float64(i)*bw+1, chartH-h, max(bw-2, 1), h, day, v, day, v)
	}
	fmt.Fprintf(&b, `<text class="top" x="0" y="%d" font-size="10" data-i18n="adoption.chart.max" data-i18n-vars="{&#34;n&#34;:%.0f}">max %.0f</text></svg>`, chartH+11, top, top)
	return template.HTML(b.String())
}

// lineChart draws the daily rate (0..1) as a polyline with a dot per day:
// an image named by its caption (id).
func lineChart(id string, vals []float64, days []router.DailyFigure) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="line" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="%s">`, chartW, chartH+12, chartW, chartH+12, id)
	step := float64(chartW) / float64(max(len(vals), 1))
	pts := make([]string, len(vals))
	for i, v := range vals {
		pts[i] = fmt.Sprintf("%.1f,%.1f", float64(i)*step+step/2, chartH-v*chartH)
	}
	fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#2e8b57" stroke-width="2"/>`, strings.Join(pts, " "))
	for i, v := range vals {
		day := template.HTMLEscapeString(days[i].Day)
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2" fill="#2e8b57"><title data-day="%s" data-n="%g" data-fmt="pct">%s: %.0f%%</title></circle>`, float64(i)*step+step/2, chartH-v*chartH, day, v, day, v*100)
	}
	fmt.Fprintf(&b, `<text class="range" x="0" y="%d" font-size="10" data-fmt="pctRange">0–100%%</text></svg>`, chartH+11)
	return template.HTML(b.String())
}
