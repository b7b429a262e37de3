package store_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

func TestHLL(t *testing.T) {
	regs := make([]byte, store.HLLRegisters)
	for i := range 40 {
		store.HLLAdd(regs, fmt.Sprintf("email:s%d@example.com", i))
		store.HLLAdd(regs, fmt.Sprintf("email:s%d@example.com", i)) // a repeat changes nothing
	}
	if n := store.HLLCount(regs); n != 40 {
		t.Fatalf("40 senders counted as %d", n)
	}
	other := make([]byte, store.HLLRegisters)
	for i := 20; i < 100_000; i++ {
		store.HLLAdd(other, fmt.Sprintf("phone:+35840%07d", i))
	}
	store.HLLMerge(regs, other)
	n := store.HLLCount(regs)
	if e := math.Abs(float64(n)-100_040) / 100_040; e > 0.05 {
		t.Fatalf("100,040 senders counted as %d (error %.3f)", n, e)
	}
}

func TestFigureSample(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{{-time.Second, "x:0"}, {999 * time.Second, "x:999"}, {1234 * time.Second, "x:1230"}, {98765 * time.Second, "x:98700"}} {
		if got := store.FigureSample("x", c.d); got != c.want {
			t.Errorf("FigureSample(%v) = %s, want %s", c.d, got, c.want)
		}
	}
	if store.AudiencePhase("") != store.PhaseLive || store.AudiencePhase("shadow") != store.PhaseShadow || store.AudiencePhase("team:pilots") != store.PhasePilot {
		t.Error("AudiencePhase")
	}
}
