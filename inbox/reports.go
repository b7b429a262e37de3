package inbox

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/switchboard-hub/switchboard/sla"
)

// Service reports (issue 17): GET /api/v1/reports/service (JSON, or CSV
// with ?format=csv) and the Reports page (reports_ui.go). Admins see every
// channel, team and agent; a team's leads (teams[].leads, Options.TeamLeads)
// see their teams and those teams' agents, not channels (a channel's rows
// hold other teams' conversations).

func (s *Server) mountReports(m routeRecorder) {
	m.HandleFunc("GET /api/v1/reports/service", s.authed(false, s.serviceReport))
	s.mux.HandleFunc("GET /admin/reports", s.authed(false, s.reportsPage))
}

// reportQuery reads from, to (a date YYYY-MM-DD or an RFC 3339 time; both
// days included; default the last 30 days) and group_by (default
// channel), and lists the keys the principal may see. ok is false once an
// error was written.
func (s *Server) reportQuery(w http.ResponseWriter, r *http.Request) (sla.Query, bool) {
	q, p := s.readReportQuery(r)
	if p != nil {
		writeError(w, p.status, p.code, p.msg)
		return q, false
	}
	return q, true
}

// reportProblem is why a report cannot be read: the API's error and the
// Reports page's message in the inbox's languages (reports_ui.go).
type reportProblem struct {
	status    int
	code, msg string
	text      uiText
}

func (s *Server) readReportQuery(r *http.Request) (sla.Query, *reportProblem) {
	now := s.o.Clock().UTC()
	q := sla.Query{GroupBy: r.URL.Query().Get("group_by"), To: now, From: now.Add(-29 * 24 * time.Hour)}
	if q.GroupBy == "" {
		q.GroupBy = sla.GroupChannel
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		v := r.URL.Query().Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, v); err != nil {
				return q, &reportProblem{http.StatusUnprocessableEntity, "invalid", p.name + " must be a date YYYY-MM-DD or an RFC 3339 time",
					uiText{Key: "reports.err.date", Text: "From and To must be dates."}}
			}
		}
		*p.t = t
	}
	if err := q.Check(); err != nil {
		return q, &reportProblem{http.StatusUnprocessableEntity, "invalid", err.Error(), queryText(q)}
	}
	keys, err := s.reportKeys(principalFrom(r.Context()), q.GroupBy)
	if err != nil {
		txt := uiText{Key: "reports.err.channels", Text: "Team leads see their teams and agents; channels are for admins."}
		if errors.Is(err, errNotLead) {
			txt = uiText{Key: "reports.err.notLead", Text: "Service reports are for admins and team leads."}
		}
		return q, &reportProblem{http.StatusForbidden, "forbidden", err.Error(), txt}
	}
	q.Keys = keys
	return q, nil
}

var errNotLead = errors.New("service reports are for admins and team leads")

// reportKeys lists the names p may see grouped by group.
func (s *Server) reportKeys(p Principal, group string) ([]string, error) {
	led := s.o.TeamLeads[p.Name]
	if !p.IsAdmin() && len(led) == 0 {
		return nil, errNotLead
	}
	var keys []string
	switch group {
	case sla.GroupChannel:
		if !p.IsAdmin() {
			return nil, errors.New("team leads see their teams and agents; channels are for admins")
		}
		for _, ch := range s.o.Directory.List() {
			keys = append(keys, ch.Name)
		}
	case sla.GroupTeam:
		if p.IsAdmin() {
			keys = slices.Clone(s.o.Teams)
		} else {
			keys = slices.Clone(led)
		}
	case sla.GroupAgent:
		for _, c := range s.auth.creds {
			a := c.Principal
			if p.IsAdmin() || slices.ContainsFunc(a.Teams, func(t string) bool { return slices.Contains(led, t) }) {
				keys = append(keys, a.Name)
			}
		}
	}
	return keys, nil
}

func (s *Server) serviceReport(w http.ResponseWriter, r *http.Request) {
	q, ok := s.reportQuery(w, r)
	if !ok {
		return
	}
	rep, err := sla.Read(r.Context(), s.o.Store, q)
	if err != nil {
		storeError(w, err)
		return
	}
	if rep.Rows == nil {
		rep.Rows = []sla.Row{}
	}
	switch r.URL.Query().Get("format") {
	case "", "json":
		writeJSON(w, http.StatusOK, rep)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="service-report-`+q.GroupBy+`.csv"`)
		if err := rep.WriteCSV(w); err != nil {
			s.o.Logger.Warn("service report csv", "err", err)
		}
	default:
		writeError(w, http.StatusUnprocessableEntity, "invalid", "format must be json or csv")
	}
}
