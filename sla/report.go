package sla

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// MaxReportDays bounds a report's period.
const MaxReportDays = 3660

// Query selects a service report: the UTC days From..To (both included),
// grouped by GroupChannel, GroupTeam or GroupAgent, one row per name in
// Keys (the caller lists what the reader may see).
type Query struct {
	From, To time.Time
	GroupBy  string
	Keys     []string
}

// Percentiles of a time figure in seconds (nearest rank); null when the
// period has no sample.
type Percentiles struct {
	P50 *int64 `json:"p50"`
	P90 *int64 `json:"p90"`
}

// Breaches are the SLA targets missed in the period.
type Breaches struct {
	FirstResponse int64 `json:"first_response"`
	Resolution    int64 `json:"resolution"`
}

// CSAT sums the survey answers of the period: score is the mean on the
// 1..5 scale (thumbs up 5, down 1), positive_share the share of 4..5 and
// thumbs up (both 0 without answers).
type CSAT struct {
	Responses     int64   `json:"responses"`
	Score         float64 `json:"score"`
	PositiveShare float64 `json:"positive_share"`
}

// Row is one channel's, team's or agent's service figures.
type Row struct {
	Key           string      `json:"key"`
	Conversations int64       `json:"conversations"`
	FirstResponse Percentiles `json:"first_response_s"`
	Resolution    Percentiles `json:"resolution_s"`
	Reopened      int64       `json:"reopened"`
	SLABreaches   Breaches    `json:"sla_breaches"`
	CSAT          CSAT        `json:"csat"`
	// Replies and NextResponseBreaches are in the CSV only (the JSON row
	// is the contract).
	Replies              int64 `json:"-"`
	NextResponseBreaches int64 `json:"-"`
}

// Report is GET /api/v1/reports/service.
type Report struct {
	Rows []Row `json:"rows"`
}

// Check validates q's grouping and period.
func (q Query) Check() error {
	switch q.GroupBy {
	case GroupChannel, GroupTeam, GroupAgent:
	default:
		return fmt.Errorf("%w: group_by must be channel, team or agent", ErrInvalid)
	}
	if q.From.IsZero() || q.To.IsZero() {
		return fmt.Errorf("%w: a report needs from and to", ErrInvalid)
	}
	from, to := dayOf(q.From), dayOf(q.To)
	if from.After(to) {
		return fmt.Errorf("%w: from is after to", ErrInvalid)
	}
	if to.Sub(from) > MaxReportDays*24*time.Hour {
		return fmt.Errorf("%w: a period of at most %d days", ErrInvalid, MaxReportDays)
	}
	return nil
}

func dayOf(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// Cells are the figure cells that cover the days from..to exactly: whole
// years as year cells, whole months as month cells, the days at either end
// as day cells (any year-long period is at most 12 + 60 cells).
func Cells(from, to time.Time) []store.FigureDayPhase {
	var out []store.FigureDayPhase
	d, end := dayOf(from), dayOf(to)
	for !d.After(end) {
		if d.Day() == 1 && d.Month() == time.January {
			next := d.AddDate(1, 0, 0)
			if !next.After(end.Add(24 * time.Hour)) {
				out = append(out, store.FigureDayPhase{Day: yearCell(d)})
				d = next
				continue
			}
		}
		if d.Day() == 1 {
			next := d.AddDate(0, 1, 0)
			if !next.After(end.Add(24 * time.Hour)) {
				out = append(out, store.FigureDayPhase{Day: monthCell(d)})
				d = next
				continue
			}
		}
		out = append(out, store.FigureDayPhase{Day: store.FigureDay(d)})
		d = d.Add(24 * time.Hour)
	}
	return out
}

// Read builds the report: one SumFigures per key (at most 8 at once), the
// sums done by the store (on Redis, in one script next to the data).
func Read(ctx context.Context, st store.Figures, q Query) (Report, error) {
	if err := q.Check(); err != nil {
		return Report{}, err
	}
	cells := Cells(q.From, q.To)
	keys := keysOf(q.Keys)
	rows := make([]Row, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			sum, _, err := st.SumFigures(ctx, FigureKey(q.GroupBy, k), cells, nil)
			if err != nil {
				errs[i] = fmt.Errorf("service report %s %s: %w", q.GroupBy, k, err)
				return
			}
			rows[i] = rowOf(k, sum)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Report{}, err
		}
	}
	return Report{Rows: rows}, nil
}

func rowOf(key string, sum map[string]int64) Row {
	r := Row{Key: key}
	first, resol := map[int64]int64{}, map[int64]int64{}
	var csatSum, csatPos int64
	for n, v := range sum {
		switch {
		case n == FigConversations:
			r.Conversations = v
		case n == FigReplies:
			r.Replies = v
		case n == FigReopened:
			r.Reopened = v
		case n == FigBreach+store.SLAFirstResponse:
			r.SLABreaches.FirstResponse = v
		case n == FigBreach+store.SLAResolution:
			r.SLABreaches.Resolution = v
		case n == FigBreach+store.SLANextResponse:
			r.NextResponseBreaches = v
		case n == FigCSATResponses:
			r.CSAT.Responses = v
		case n == FigCSATScoreSum:
			csatSum = v
		case n == FigCSATPositive:
			csatPos = v
		case strings.HasPrefix(n, FigFirstResponse+":"):
			if s, err := strconv.ParseInt(n[len(FigFirstResponse)+1:], 10, 64); err == nil {
				first[s] += v
			}
		case strings.HasPrefix(n, FigResolution+":"):
			if s, err := strconv.ParseInt(n[len(FigResolution)+1:], 10, 64); err == nil {
				resol[s] += v
			}
		}
	}
	if r.CSAT.Responses > 0 {
		r.CSAT.Score = round(float64(csatSum)/float64(r.CSAT.Responses), 100)
		r.CSAT.PositiveShare = round(float64(csatPos)/float64(r.CSAT.Responses), 1e4)
	}
	r.FirstResponse, r.Resolution = percentiles(first), percentiles(resol)
	return r
}

func round(x, by float64) float64 { return math.Round(x*by) / by }

// percentiles are nearest-rank p50 and p90 of a histogram.
func percentiles(h map[int64]int64) Percentiles {
	var n int64
	vals := make([]int64, 0, len(h))
	for v, c := range h {
		if c > 0 {
			vals = append(vals, v)
			n += c
		}
	}
	if n == 0 {
		return Percentiles{}
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	at := func(p float64) *int64 {
		rank := int64(math.Ceil(p * float64(n)))
		var seen int64
		for _, v := range vals {
			seen += h[v]
			if seen >= rank {
				return &v
			}
		}
		return &vals[len(vals)-1]
	}
	return Percentiles{P50: at(0.5), P90: at(0.9)}
}

// CSVHeader is the first line of the report as CSV.
var CSVHeader = []string{"key", "conversations", "first_response_p50_s", "first_response_p90_s", "resolution_p50_s",
	"resolution_p90_s", "reopened", "replies", "sla_breaches_first_response", "sla_breaches_next_response",
	"sla_breaches_resolution", "csat_responses", "csat_score", "csat_positive_share"}

// WriteCSV writes the report for spreadsheets (empty cells for missing
// percentiles).
func (r Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	opt := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, x := range r.Rows {
		if err := cw.Write([]string{csvSafe(x.Key), i(x.Conversations), opt(x.FirstResponse.P50), opt(x.FirstResponse.P90),
			opt(x.Resolution.P50), opt(x.Resolution.P90), i(x.Reopened), i(x.Replies), i(x.SLABreaches.FirstResponse),
			i(x.NextResponseBreaches), i(x.SLABreaches.Resolution), i(x.CSAT.Responses), f(x.CSAT.Score), f(x.CSAT.PositiveShare)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a name as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
