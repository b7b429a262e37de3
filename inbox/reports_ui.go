package inbox

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/sla"
)

// The Reports page (GET /admin/reports): a form for the period and the
// grouping (a plain GET form, no script), the service report as a table
// and horizontal bar charts per figure (inline SVG drawn here: no CDN,
// under the UI's CSP). Admins and team leads (their teams); others 403.

type reportChart struct {
	Title string
	SVG   template.HTML
}

var reportsTmpl = template.Must(template.New("reports").Funcs(template.FuncMap{
	"secs": fmtSecs,
	"pct":  func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reports · Switchboard</title>
<link rel="icon" href="/ui/favicon.svg"><link rel="stylesheet" href="/ui/reports.css"></head>
<body class="reports">
<header><h1>Service reports</h1><a href="/">Inbox</a></header>
<main>
<form id="report-form" method="get" action="/admin/reports">
  <label>From <input type="date" name="from" value="{{.From}}"></label>
  <label>To <input type="date" name="to" value="{{.To}}"></label>
  <label>Group by <select name="group_by">{{range .Groups}}<option value="{{.}}"{{if eq . $.GroupBy}} selected{{end}}>{{.}}</option>{{end}}</select></label>
  <button type="submit">Show</button>
  <a id="csv" href="/api/v1/reports/service?from={{.From}}&amp;to={{.To}}&amp;group_by={{.GroupBy}}&amp;format=csv">CSV</a>
</form>
<section id="charts">
{{range .Charts}}<figure class="chart"><figcaption>{{.Title}}</figcaption>{{.SVG}}</figure>{{end}}
</section>
<table id="report"><thead><tr><th>{{.GroupBy}}</th><th>conversations</th><th>first response p50</th><th>p90</th><th>resolution p50</th><th>p90</th><th>reopened</th><th>breaches: first response</th><th>resolution</th><th>CSAT answers</th><th>score</th><th>positive</th></tr></thead>
<tbody>{{range .Rows}}<tr data-key="{{.Key}}"><td>{{.Key}}</td><td class="conversations">{{.Conversations}}</td><td class="first-p50">{{secs .FirstResponse.P50}}</td><td>{{secs .FirstResponse.P90}}</td><td class="resolution-p50">{{secs .Resolution.P50}}</td><td>{{secs .Resolution.P90}}</td><td>{{.Reopened}}</td><td class="breach-first">{{.SLABreaches.FirstResponse}}</td><td class="breach-resolution">{{.SLABreaches.Resolution}}</td><td>{{.CSAT.Responses}}</td><td class="csat-score">{{if .CSAT.Responses}}{{printf "%.2f" .CSAT.Score}}{{else}}–{{end}}</td><td>{{if .CSAT.Responses}}{{pct .CSAT.PositiveShare}}{{else}}–{{end}}</td></tr>{{else}}<tr><td colspan="12">nothing to show</td></tr>{{end}}</tbody></table>
</main></body></html>
`))

// fmtSecs shows a duration in seconds as "1h 05m" ("–" for none).
func fmtSecs(p *int64) string {
	if p == nil {
		return "–"
	}
	d := time.Duration(*p) * time.Second
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd %dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh %02dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm %02ds", d/time.Minute, d%time.Minute/time.Second)
	}
	return fmt.Sprintf("%ds", *p)
}

func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request) {
	q, ok := s.reportQuery(w, r)
	if !ok {
		return
	}
	rep, err := sla.Read(r.Context(), s.o.Store, q)
	if err != nil {
		storeError(w, err)
		return
	}
	groups := []string{sla.GroupTeam, sla.GroupAgent}
	if principalFrom(r.Context()).IsAdmin() {
		groups = append([]string{sla.GroupChannel}, groups...)
	}
	val := func(f func(sla.Row) float64) []float64 {
		out := make([]float64, len(rep.Rows))
		for i, x := range rep.Rows {
			out[i] = f(x)
		}
		return out
	}
	p50 := func(p sla.Percentiles) float64 {
		if p.P50 == nil {
			return 0
		}
		return float64(*p.P50) / 3600
	}
	charts := []reportChart{
		{"Conversations", hbarChart(rep.Rows, val(func(x sla.Row) float64 { return float64(x.Conversations) }), "%.0f")},
		{"First response p50 (hours)", hbarChart(rep.Rows, val(func(x sla.Row) float64 { return p50(x.FirstResponse) }), "%.1f h")},
		{"Resolution p50 (hours)", hbarChart(rep.Rows, val(func(x sla.Row) float64 { return p50(x.Resolution) }), "%.1f h")},
		{"SLA breaches (first response + resolution)", hbarChart(rep.Rows, val(func(x sla.Row) float64 {
			return float64(x.SLABreaches.FirstResponse + x.SLABreaches.Resolution)
		}), "%.0f")},
		{"CSAT score (1–5)", hbarChart(rep.Rows, val(func(x sla.Row) float64 { return x.CSAT.Score }), "%.2f")},
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", appCSP)
	h.Set("Cache-Control", "no-store")
	if err := reportsTmpl.Execute(w, map[string]any{"Rows": rep.Rows, "Charts": charts, "GroupBy": q.GroupBy, "Groups": groups,
		"From": q.From.UTC().Format(time.DateOnly), "To": q.To.UTC().Format(time.DateOnly)}); err != nil {
		s.o.Logger.Warn("reports page", "err", err)
	}
}

// hbarChart draws one labelled horizontal bar per row, scaled to the
// largest value.
func hbarChart(rows []sla.Row, vals []float64, format string) template.HTML {
	const w, bar, label = 420, 18, 110
	top := 0.0
	for _, v := range vals {
		top = max(top, v)
	}
	if top == 0 {
		top = 1
	}
	height := max(len(rows), 1) * (bar + 4)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="hbars" viewBox="0 0 %d %d" width="%d" height="%d" role="img">`, w, height, w, height)
	for i, x := range rows {
		y := i * (bar + 4)
		bw := vals[i] / top * float64(w-label-60)
		v := fmt.Sprintf(format, vals[i])
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="12">%s</text>`, y+bar-4, template.HTMLEscapeString(x.Key))
		fmt.Fprintf(&b, `<rect class="bar" data-key="%s" x="%d" y="%d" width="%.1f" height="%d" fill="#3b6fb6"><title>%s: %s</title></rect>`,
			template.HTMLEscapeString(x.Key), label, y, bw, bar, template.HTMLEscapeString(x.Key), template.HTMLEscapeString(v))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11">%s</text>`, float64(label)+bw+4, y+bar-4, template.HTMLEscapeString(v))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
