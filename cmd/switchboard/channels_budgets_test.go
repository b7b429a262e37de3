package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
)

// TestChannelsGetSharedBudgets: every channel the hub builds gets the
// store's budgets (connectors.Env.Budgets), so limits such as
// email.automatic_limit are one for all replicas: two replicas' channels
// of one store spend one budget.
func TestChannelsGetSharedBudgets(t *testing.T) {
	st := hubtest.Embedded(t)
	var envs []connectors.Env
	saved := factories[config.TypeEmail]
	factories[config.TypeEmail] = func(_ config.Channel, env connectors.Env) (any, error) {
		envs = append(envs, env)
		return struct{}{}, nil
	}
	t.Cleanup(func() { factories[config.TypeEmail] = saved })
	cfg := &config.Config{Channels: []config.Channel{{Name: "support-mail", Type: config.TypeEmail}}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, replica := range []string{"r1", "r2"} {
		if _, err := buildChannels(cfg, st, nil, nil, nil, nil, nil, log, replica); err != nil {
			t.Fatal(err)
		}
	}
	if len(envs) != 2 || envs[0].Budgets == nil || envs[1].Budgets == nil {
		t.Fatalf("built %d channels; budgets handed: %v", len(envs), len(envs) == 2 && envs[0].Budgets != nil)
	}
	ctx := context.Background()
	if ok, err := envs[0].Budgets.TakeBudget(ctx, "k", "o_1", 1, time.Hour); err != nil || !ok {
		t.Fatalf("replica r1: %v %v", ok, err)
	}
	if ok, err := envs[1].Budgets.TakeBudget(ctx, "k", "o_2", 1, time.Hour); err != nil || ok {
		t.Fatalf("replica r2 took a second use of a budget of 1 (%v, %v): the replicas do not share it", ok, err)
	}
}
