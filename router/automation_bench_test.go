package router_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-hub/switchboard/automation"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/labels"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	"github.com/switchboard-hub/switchboard/timeline"
)

// BenchmarkIngestWithRules is the same-run A/B of issue 24's speed target:
// ingest → timeline on the embedded store with no rule ("rules-0") and
// with 50 active rules ("rules-50": text, regexp, sender, label, hours and
// channel conditions; five of them match every message and label it, so
// each message also gets rule audit records and timeline events). Run
// both in one command: -bench 'IngestWithRules' -benchtime 2000x.
func BenchmarkIngestWithRules(b *testing.B) {
	for _, n := range []int{0, 50, -50} {
		name := fmt.Sprintf("rules-%d", n)
		if n < 0 { // 50 rules of which none matches: the evaluation alone
			name = "rules-50-none-match"
		}
		b.Run(name, func(b *testing.B) {
			st, err := embedded.Open(b.TempDir(), embedded.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			benchWithRules(b, st, n)
		})
	}
}

func benchRules(n int) []automation.Rule {
	var rs []automation.Rule
	none := n < 0
	if none {
		n = -n
	}
	for i := 0; i < n; i++ {
		r := automation.Rule{ID: fmt.Sprintf("r%02d", i), Name: fmt.Sprint("rule ", i), Event: automation.EventMessageReceived, Enabled: true}
		switch i % 10 {
		case 0: // matches every message (unless none)
			r.Conditions = []automation.Condition{{Type: automation.CondChannel, Value: "api", Not: none}}
			r.Actions = []automation.Action{{Type: automation.ActAddLabel, Value: "seen"}}
		case 1:
			r.Conditions = []automation.Condition{{Type: automation.CondTextContains, Value: fmt.Sprint("lasku", i)}}
			r.Actions = []automation.Action{{Type: automation.ActAddLabel, Value: "billing"}}
		case 2:
			r.Conditions = []automation.Condition{{Type: automation.CondTextMatches, Value: fmt.Sprintf(`invoice\s+%d`, i)}}
			r.Actions = []automation.Action{{Type: automation.ActAssignTeam, Value: "support"}}
		case 3:
			r.Conditions = []automation.Condition{{Type: automation.CondSender, Value: fmt.Sprintf("vip%d@example.com", i)}}
			r.Actions = []automation.Action{{Type: automation.ActAddLabel, Value: "vip"}}
		case 4:
			r.Conditions = []automation.Condition{{Type: automation.CondLabel, Value: "vip"}}
			r.Actions = []automation.Action{{Type: automation.ActResolve}}
		case 5:
			r.Conditions = []automation.Condition{{Type: automation.CondChannel, Value: "api", Not: true}, {Type: automation.CondHours, Value: "00:00-23:59"}}
			r.Actions = []automation.Action{{Type: automation.ActSnooze, Value: "1h"}}
		default:
			r.Conditions = []automation.Condition{{Type: automation.CondChannel, Value: fmt.Sprint("other", i)}, {Type: automation.CondTextContains, Value: "refund"}}
			r.Actions = []automation.Action{{Type: automation.ActRemoveLabel, Value: "seen"}}
		}
		rs = append(rs, r)
	}
	return rs
}

func benchWithRules(b *testing.B, st store.Store, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := directory.New(st, []directory.Channel{{Name: "api", Type: "api", Phase: store.PhaseLive, Trusted: true}}, store.SystemClock, nil)
	m := router.NewMetrics(nil)
	convs := timeline.NewService(st, timeline.Options{})
	cat := labels.New(st)
	for _, l := range []string{"seen", "billing", "vip"} {
		if err := cat.PutLabel(ctx, labels.Label{Name: l}, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	en := automation.New(st, cat, automation.Options{Teams: []string{"support"}})
	if err := en.PutRules(ctx, benchRules(n), "bench"); err != nil {
		b.Fatal(err)
	}
	rt := router.New(st, dir, router.Options{Workers: benchWorkers(), Metrics: m, Conversations: convs, Routing: router.Routing{Teams: []string{"support"}},
		Automation: &automation.Runner{En: en, Convs: convs}})
	in := router.NewIngest(st, dir, "FI", store.SystemClock, m)
	rctx, rcancel := context.WithCancel(ctx)
	rdone := make(chan struct{})
	go func() { rt.Run(rctx); close(rdone) }()
	defer func() { rcancel(); <-rdone }()

	run := fmt.Sprint(time.Now().UnixNano())
	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := in.Deliver(ctx, connectors.Message{Channel: "api", ProviderID: fmt.Sprintf("%s-%d", run, i),
			Identities: []connectors.Identity{{Type: "email", Value: fmt.Sprintf("bench%d@example.com", i%5000)}},
			Text:       "benchmark message with a typical short body of about eighty characters......"}); err != nil {
			b.Fatal(err)
		}
	}
	for testutil.ToFloat64(m.Processed.WithLabelValues("api"))+testutil.ToFloat64(m.Deduped.WithLabelValues("api")) < float64(b.N) {
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	cpu := processCPU() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
}
