package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
)

// The figures on a Redis Cluster: every multi-key command and the sum
// script stay in the channel's slot.
func TestFiguresOnCluster(t *testing.T) {
	c, prefix := testenv.RedisCluster(t)
	st := sbredis.New(c, sbredis.Options{Prefix: prefix})
	defer st.Close()
	ctx := context.Background()
	var cells []store.FigureDayPhase
	for d, day := range []string{"2026-03-01", "2026-03-02", "2026-03-03"} {
		cells = append(cells, store.FigureDayPhase{Day: day, Phase: store.PhaseShadow})
		for i := range 3 {
			if err := st.AddFigures(ctx, store.FigureAdd{Channel: "web", Phase: store.PhaseShadow, Day: day,
				Counts: map[string]int64{"messages_in": 1, "matched.verified": int64(d % 2)}, Senders: []string{"a", "b", string(rune('c' + i + d))}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	listed, err := st.FigureCells(ctx, "web", "2026-03-02", "2026-03-09")
	if err != nil || len(listed) != 2 || listed[0] != cells[1] {
		t.Fatalf("cells %v %v", listed, err)
	}
	sum, each, err := st.SumFigures(ctx, "web", cells, []string{"messages_in", "matched.verified"})
	if err != nil || sum["messages_in"] != 9 || sum["matched.verified"] != 3 || each[1]["matched.verified"] != 3 || each[2]["messages_in"] != 3 {
		t.Fatalf("sum %v each %v err %v", sum, each, err)
	}
	if n, err := st.CountSenders(ctx, "web", cells); err != nil || n != 7 {
		t.Fatalf("senders %d %v", n, err)
	}
	if first, others, err := st.SeenOn(ctx, "c1", "web"); err != nil || !first || len(others) != 0 {
		t.Fatalf("seen %v %v %v", first, others, err)
	}
	if first, others, err := st.SeenOn(ctx, "c1", "mail"); err != nil || !first || len(others) != 1 || others[0] != "web" {
		t.Fatalf("seen %v %v %v", first, others, err)
	}
	if err := st.AppendPhaseChange(ctx, store.PhaseChange{Channel: "web", At: time.Unix(1, 0).UTC(), By: "root", From: "off", To: "shadow"}); err != nil {
		t.Fatal(err)
	}
	if h, err := st.ListPhaseChanges(ctx, "web"); err != nil || len(h) != 1 || h[0].To != "shadow" {
		t.Fatalf("history %v %v", h, err)
	}
	if err := st.DeleteCustomer(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if first, _, err := st.SeenOn(ctx, "c1", "web"); err != nil || !first {
		t.Fatalf("after erasure the customer's channel set should be gone: first=%v %v", first, err)
	}
}
