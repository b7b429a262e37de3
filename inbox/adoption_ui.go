package inbox

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// The Adoption admin page (GET /admin/adoption): a card per channel with
// its phase timeline, verdict and reasons, daily volume and match-rate
// charts (inline SVG drawn here: no script, no CDN, under the UI's CSP),
// and the potential table. Admins only; an agent gets 403.

const chartDays = 30

type adoptionCard struct {
	Name, Phase string
	Readiness   router.Readiness
	History     []store.PhaseChange
	Volume      template.HTML
	Match       template.HTML
}

var adoptionTmpl = template.Must(template.New("adoption").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"pct":  func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Adoption · Switchboard</title>
<link rel="icon" href="/ui/favicon.svg"><link rel="stylesheet" href="/ui/adoption.css"></head>
<body class="adoption">
<header><h1>Adoption</h1><a href="/">Inbox</a></header>
<main>
<section id="cards">
{{range .Cards}}
<article class="card" data-channel="{{.Name}}">
  <h2>{{.Name}} <span class="phase phase-{{.Phase}}">{{.Phase}}</span></h2>
  <p class="verdict verdict-{{.Readiness.Verdict}}">{{.Readiness.Verdict}}</p>
  {{if .Readiness.Reasons}}<ul class="reasons">{{range .Readiness.Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}
  <p class="figures">{{.Readiness.MessagesIn}} messages · {{.Readiness.Senders}} senders · match rate {{pct .Readiness.MatchRate}} · {{.Readiness.NewCustomers}} new customers · {{.Readiness.Reach.OnlyHere}} only here</p>
  <figure class="chart volume"><figcaption>Messages per day (last {{$.Days}} days)</figcaption>{{.Volume}}</figure>
  <figure class="chart match"><figcaption>Match rate per day</figcaption>{{.Match}}</figure>
  <h3>Phase timeline</h3>
  <ol class="timeline">{{range .History}}<li>{{when .At}}: {{.From}} → {{.To}} by {{.By}}{{if .Forced}} <strong class="forced">forced</strong> ({{range $i, $r := .Reasons}}{{if $i}}; {{end}}{{$r}}{{end}}){{end}}{{if .Verdict}} · verdict {{.Verdict}}{{end}}</li>{{else}}<li>no phase changes recorded</li>{{end}}</ol>
</article>
{{end}}
</section>
<section id="potential">
<h2 id="potential-title">Channel potential</h2>
<p class="rule">{{.Potential.Rule}}</p>
<div class="table-scroll" role="region" aria-labelledby="potential-title" tabindex="0"><table><thead><tr><th>#</th><th>channel</th><th>phase</th><th>messages</th><th>volume share</th><th>new customers</th><th>only here</th><th>match rate</th><th>team load / day</th><th>score</th><th>verdict</th></tr></thead>
<tbody>{{range .Potential.Channels}}<tr data-channel="{{.Channel}}"><td>{{.Rank}}</td><td>{{.Channel}}</td><td>{{.Phase}}</td><td>{{.MessagesIn}}</td><td>{{pct .VolumeShare}}</td><td>{{.NewCustomers}}</td><td>{{.OnlyHere}}</td><td>{{pct .MatchRate}}</td><td>{{.TeamLoad}}</td><td>{{.Score}}</td><td>{{.Verdict}}</td></tr>{{end}}</tbody></table></div>
</section>
</main></body></html>
`))

func (s *Server) adoptionPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := s.o.Clock()
	var cards []adoptionCard
	for _, ch := range s.o.Directory.List() {
		rep, err := router.ChannelReadiness(ctx, s.o.Store, ch, now, router.ReadinessQuery{})
		if err != nil {
			storeError(w, err)
			return
		}
		chart, err := router.ChannelReadiness(ctx, s.o.Store, ch, now, router.ReadinessQuery{From: now.Add(-(chartDays - 1) * 24 * time.Hour), To: now})
		if err != nil {
			storeError(w, err)
			return
		}
		h, err := s.o.Store.ListPhaseChanges(ctx, ch.Name)
		if err != nil {
			storeError(w, err)
			return
		}
		vol, match := make([]float64, len(chart.Daily)), make([]float64, len(chart.Daily))
		for i, d := range chart.Daily {
			vol[i], match[i] = float64(d.MessagesIn), d.MatchRate
		}
		cards = append(cards, adoptionCard{Name: ch.Name, Phase: ch.Phase, Readiness: rep, History: h,
			Volume: barChart(vol, chart.Daily), Match: lineChart(match, chart.Daily)})
	}
	pot, err := router.ChannelPotential(ctx, s.o.Store, s.o.Directory.List(), now, router.ReadinessQuery{})
	if err != nil {
		storeError(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", appCSP)
	h.Set("Cache-Control", "no-store")
	if err := adoptionTmpl.Execute(w, map[string]any{"Cards": cards, "Potential": pot, "Days": chartDays}); err != nil {
		s.o.Logger.Warn("adoption page", "err", err)
	}
}

const chartW, chartH = 300, 80

// barChart draws one bar per day, scaled to the largest day.
func barChart(vals []float64, days []router.DailyFigure) template.HTML {
	top := 1.0
	for _, v := range vals {
		top = max(top, v)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="bars" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="messages per day">`, chartW, chartH+12, chartW, chartH+12)
	bw := float64(chartW) / float64(max(len(vals), 1))
	for i, v := range vals {
		h := v / top * chartH
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#3b6fb6"><title>%s: %.0f</title></rect>`,
			float64(i)*bw+1, chartH-h, max(bw-2, 1), h, template.HTMLEscapeString(days[i].Day), v)
	}
	fmt.Fprintf(&b, `<text x="0" y="%d" font-size="10">max %.0f</text></svg>`, chartH+11, top)
	return template.HTML(b.String())
}

// lineChart draws the daily rate (0..1) as a polyline with a dot per day.
func lineChart(vals []float64, days []router.DailyFigure) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="line" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="match rate per day">`, chartW, chartH+12, chartW, chartH+12)
	step := float64(chartW) / float64(max(len(vals), 1))
	pts := make([]string, len(vals))
	for i, v := range vals {
		pts[i] = fmt.Sprintf("%.1f,%.1f", float64(i)*step+step/2, chartH-v*chartH)
	}
	fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#2e8b57" stroke-width="2"/>`, strings.Join(pts, " "))
	for i, v := range vals {
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2" fill="#2e8b57"><title>%s: %.2f</title></circle>`, float64(i)*step+step/2, chartH-v*chartH, template.HTMLEscapeString(days[i].Day), v)
	}
	fmt.Fprintf(&b, `<text x="0" y="%d" font-size="10">0–100%%</text></svg>`, chartH+11)
	return template.HTML(b.String())
}
