package inbox

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/sla"
)

// The Reports page (GET /admin/reports): a form for the period and the
// grouping (a plain GET form), the service report as a table and
// horizontal bar charts per figure (inline SVG drawn here: no CDN, under
// the UI's CSP). Admins and team leads (their teams); others 403.
//
// It speaks the inbox's language (issue 19): the page loads the inbox's
// catalogues (i18n.js, langs.js) and language switch (langpick.js); every
// text is written in English with its catalogue key (data-i18n, a uiText
// below) and each figure with its raw value and kind (data-n, data-fmt),
// which ui/reports.js formats for the chosen language with Intl.

// uiText is a text of a server-rendered page in the inbox's languages: Key
// names it in the catalogues (ui/lang-CODE.js; inbox/i18n_test.go reads
// the key of every uiText literal), Text is the English shown until
// i18n.js fills in the reader's language. Vars fill the message's
// {placeholders} (data-i18n-vars).
type uiText struct {
	Key, Text string
	Vars      map[string]any
}

// VarsJSON is Vars for data-i18n-vars ("" for none).
func (u uiText) VarsJSON() string {
	if len(u.Vars) == 0 {
		return ""
	}
	b, _ := json.Marshal(u.Vars)
	return string(b)
}

// reportChart is one chart of the page: the svg is role="img", named by
// the figure's caption (ID-title) and described by a visually hidden table
// of the same figures (ID-data), both in the reader's language.
type reportChart struct {
	ID    string
	Title uiText
	SVG   template.HTML
	Rows  []chartRow
}

// chartRow is one bar of a chart: its group and value (Fmt: a data-fmt).
type chartRow struct {
	Key, Text, Fmt string
	N              float64
}

type reportGroup struct {
	Value string
	Text  uiText
}

// reportGroupText names each grouping (the select and the first column).
var reportGroupText = map[string]uiText{
	sla.GroupChannel: uiText{Key: "reports.group.channel", Text: "channel"},
	sla.GroupTeam:    uiText{Key: "reports.group.team", Text: "team"},
	sla.GroupAgent:   uiText{Key: "reports.group.agent", Text: "agent"},
}

// queryText is the page's message for a query sla.Query.Check refuses.
func queryText(q sla.Query) uiText {
	if _, ok := reportGroupText[q.GroupBy]; !ok {
		return uiText{Key: "reports.err.group", Text: "Group by channel, team or agent."}
	}
	if q.From.After(q.To) {
		return uiText{Key: "reports.err.order", Text: "From must not be after To."}
	}
	return uiText{Key: "reports.err.tooLong", Text: fmt.Sprintf("The period is too long: at most %d days.", sla.MaxReportDays),
		Vars: map[string]any{"days": sla.MaxReportDays}}
}

var reportsTmpl = template.Must(template.New("reports").Funcs(template.FuncMap{
	"secs": fmtSecs,
	"pct":  func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title data-i18n="reports.pageTitle">Reports · Switchboard</title>
<link rel="icon" href="/ui/favicon.svg"><link rel="stylesheet" href="/ui/reports.css">
<script src="/ui/i18n.js" defer></script><script src="/ui/langs.js" defer></script>
<script src="/ui/langpick.js" defer></script><script src="/ui/reports.js" defer></script></head>
<body class="reports">
<header><h1 data-i18n="reports.title">Service reports</h1><a href="/" data-i18n="nav.inbox">Inbox</a>
<select id="lang" class="lang-pick" aria-label="Language" data-i18n-aria-label="lang.label"></select></header>
<main>
{{if .Form}}<form id="report-form" method="get" action="/admin/reports">
  <label><span data-i18n="reports.from">From</span> <input type="date" name="from" value="{{.From}}"></label>
  <label><span data-i18n="reports.to">To</span> <input type="date" name="to" value="{{.To}}"></label>
  <label><span data-i18n="reports.groupBy">Group by</span> <select name="group_by">{{range .Groups}}<option value="{{.Value}}" data-i18n="{{.Text.Key}}"{{if eq .Value $.GroupBy}} selected{{end}}>{{.Text.Text}}</option>{{end}}</select></label>
  <button type="submit" data-i18n="reports.show">Show</button>
  <a id="csv" href="/api/v1/reports/service?from={{.From}}&amp;to={{.To}}&amp;group_by={{.GroupBy}}&amp;format=csv" data-i18n="reports.csv">CSV</a>
</form>{{end}}
{{with .Err}}<p id="report-error" class="error" role="alert" data-i18n="{{.Key}}"{{with .VarsJSON}} data-i18n-vars="{{.}}"{{end}}>{{.Text}}</p>{{end}}
{{if .Report}}<p id="period" data-from="{{.From}}" data-to="{{.To}}">{{.From}} – {{.To}}</p>
<section id="charts">
{{range .Charts}}<figure class="chart" id="{{.ID}}"><figcaption id="{{.ID}}-title" data-i18n="{{.Title.Key}}">{{.Title.Text}}</figcaption>{{.SVG}}
<div class="sr-only"><table class="chart-data" id="{{.ID}}-data"><caption data-i18n="{{.Title.Key}}">{{.Title.Text}}</caption>
<thead><tr><th scope="col" data-i18n="{{$.Group.Key}}">{{$.Group.Text}}</th><th scope="col" data-i18n="reports.value">value</th></tr></thead>
<tbody>{{range .Rows}}<tr><th scope="row">{{.Key}}</th><td data-n="{{.N}}" data-fmt="{{.Fmt}}">{{.Text}}</td></tr>{{else}}<tr><td colspan="2" data-i18n="reports.empty">nothing to show</td></tr>{{end}}</tbody></table></div></figure>{{end}}
</section>
<h2 id="report-title" data-i18n="reports.table">All figures per group</h2>
<div class="table-scroll" role="region" aria-labelledby="report-title" tabindex="0">
<table id="report" aria-labelledby="report-title"><thead><tr><th data-i18n="{{.Group.Key}}">{{.Group.Text}}</th><th data-i18n="reports.col.conversations">conversations</th><th data-i18n="reports.col.firstP50">first response p50</th><th data-i18n="reports.col.p90">p90</th><th data-i18n="reports.col.resolutionP50">resolution p50</th><th data-i18n="reports.col.p90">p90</th><th data-i18n="reports.col.reopened">reopened</th><th data-i18n="reports.col.breachFirst">breaches: first response</th><th data-i18n="reports.col.breachResolution">resolution</th><th data-i18n="reports.col.csatAnswers">CSAT answers</th><th data-i18n="reports.col.score">score</th><th data-i18n="reports.col.positive">positive</th></tr></thead>
<tbody>{{range .Rows}}<tr data-key="{{.Key}}"><td>{{.Key}}</td><td class="conversations" data-n="{{.Conversations}}" data-fmt="int">{{.Conversations}}</td><td class="first-p50"{{with .FirstResponse.P50}} data-n="{{.}}" data-fmt="dur"{{end}}>{{secs .FirstResponse.P50}}</td><td{{with .FirstResponse.P90}} data-n="{{.}}" data-fmt="dur"{{end}}>{{secs .FirstResponse.P90}}</td><td class="resolution-p50"{{with .Resolution.P50}} data-n="{{.}}" data-fmt="dur"{{end}}>{{secs .Resolution.P50}}</td><td{{with .Resolution.P90}} data-n="{{.}}" data-fmt="dur"{{end}}>{{secs .Resolution.P90}}</td><td data-n="{{.Reopened}}" data-fmt="int">{{.Reopened}}</td><td class="breach-first" data-n="{{.SLABreaches.FirstResponse}}" data-fmt="int">{{.SLABreaches.FirstResponse}}</td><td class="breach-resolution" data-n="{{.SLABreaches.Resolution}}" data-fmt="int">{{.SLABreaches.Resolution}}</td><td data-n="{{.CSAT.Responses}}" data-fmt="int">{{.CSAT.Responses}}</td>{{if .CSAT.Responses}}<td class="csat-score" data-n="{{.CSAT.Score}}" data-fmt="score">{{printf "%.2f" .CSAT.Score}}</td><td data-n="{{.CSAT.PositiveShare}}" data-fmt="pct">{{pct .CSAT.PositiveShare}}</td>{{else}}<td class="csat-score">–</td><td>–</td>{{end}}</tr>{{else}}<tr><td colspan="12" data-i18n="reports.empty">nothing to show</td></tr>{{end}}</tbody></table></div>{{end}}
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
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", appCSP)
	h.Set("Cache-Control", "no-store")
	var groups []reportGroup
	for _, g := range []string{sla.GroupChannel, sla.GroupTeam, sla.GroupAgent} {
		if g != sla.GroupChannel || principalFrom(r.Context()).IsAdmin() {
			groups = append(groups, reportGroup{g, reportGroupText[g]})
		}
	}
	page := func(status int, data map[string]any) {
		data["Groups"] = groups
		w.WriteHeader(status)
		if err := reportsTmpl.Execute(w, data); err != nil {
			s.o.Logger.Warn("reports page", "err", err)
		}
	}
	q, p := s.readReportQuery(r)
	if p != nil { // the page with its message; the form unless refused
		page(p.status, map[string]any{"Err": p.text, "Form": p.status != http.StatusForbidden, "GroupBy": q.GroupBy,
			"From": r.URL.Query().Get("from"), "To": r.URL.Query().Get("to")})
		return
	}
	form := map[string]any{"Form": true, "GroupBy": q.GroupBy, "Group": reportGroupText[q.GroupBy],
		"From": q.From.UTC().Format(time.DateOnly), "To": q.To.UTC().Format(time.DateOnly)}
	rep, err := sla.Read(r.Context(), s.o.Store, q)
	if err != nil {
		s.o.Logger.Warn("reports page", "err", err)
		form["Err"] = uiText{Key: "reports.err.read", Text: "The report could not be read. Try again."}
		page(http.StatusServiceUnavailable, form)
		return
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
	form["Report"], form["Rows"] = true, rep.Rows
	chart := func(id string, title uiText, kind string, f func(sla.Row) float64) reportChart {
		vals := val(f)
		c := reportChart{ID: id, Title: title, SVG: hbarChart(id, rep.Rows, vals, kind)}
		for i, x := range rep.Rows {
			c.Rows = append(c.Rows, chartRow{Key: x.Key, N: vals[i], Fmt: kind, Text: fmt.Sprintf(chartFormats[kind], vals[i])})
		}
		return c
	}
	form["Charts"] = []reportChart{
		chart("chart-conversations", uiText{Key: "reports.chart.conversations", Text: "Conversations"}, "int",
			func(x sla.Row) float64 { return float64(x.Conversations) }),
		chart("chart-first-p50", uiText{Key: "reports.chart.firstP50", Text: "First response p50 (hours)"}, "hours",
			func(x sla.Row) float64 { return p50(x.FirstResponse) }),
		chart("chart-resolution-p50", uiText{Key: "reports.chart.resolutionP50", Text: "Resolution p50 (hours)"}, "hours",
			func(x sla.Row) float64 { return p50(x.Resolution) }),
		chart("chart-breaches", uiText{Key: "reports.chart.breaches", Text: "SLA breaches (first response + resolution)"}, "int",
			func(x sla.Row) float64 { return float64(x.SLABreaches.FirstResponse + x.SLABreaches.Resolution) }),
		chart("chart-csat", uiText{Key: "reports.chart.csat", Text: "CSAT score (1–5)"}, "score",
			func(x sla.Row) float64 { return x.CSAT.Score }),
	}
	page(http.StatusOK, form)
}

// chartFormats is how hbarChart writes a value of each kind in English;
// ui/reports.js formats it again for the reader's language (data-fmt).
var chartFormats = map[string]string{"int": "%.0f", "hours": "%.1f h", "score": "%.2f"}

// hbarChart draws one labelled horizontal bar per row, scaled to the
// largest value: an image named by the caption ID-title and described by
// the table ID-data (reportsTmpl), which a screen reader reads instead of
// the bars.
func hbarChart(id string, rows []sla.Row, vals []float64, kind string) template.HTML {
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
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="hbars" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="%s-title" aria-describedby="%s-data">`, w, height, w, height, id, id)
	for i, x := range rows {
		y := i * (bar + 4)
		bw := vals[i] / top * float64(w-label-60)
		v := fmt.Sprintf(chartFormats[kind], vals[i])
		key := template.HTMLEscapeString(x.Key)
		data := fmt.Sprintf(`data-n="%g" data-fmt="%s"`, vals[i], kind)
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="12">%s</text>`, y+bar-4, key)
		fmt.Fprintf(&b, `<rect class="bar" data-key="%s" x="%d" y="%d" width="%.1f" height="%d" fill="#3b6fb6"><title data-label="%s" %s>%s: %s</title></rect>`,
			key, label, y, bw, bar, key, data, key, template.HTMLEscapeString(v))
		fmt.Fprintf(&b, `<text class="value" x="%.1f" y="%d" font-size="11" %s>%s</text>`, float64(label)+bw+4, y+bar-4, data, template.HTMLEscapeString(v))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
