package lease

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// State is connectors.State over the store's checkpoints. Keys are the
// store's checkpoint keys, unchanged (e.g. "email:CHANNEL:FOLDER").
type State struct {
	cp store.Checkpoints
}

var _ connectors.State = State{}

// NewState returns the checkpoint state kept in cp.
func NewState(cp store.Checkpoints) State { return State{cp: cp} }

// Get implements connectors.State.
func (s State) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.cp.GetCheckpoint(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("state %s: %w", key, connectors.ErrNoState)
	}
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", key, err)
	}
	return b, nil
}

// Put implements connectors.State: the fence is renewed first, so a
// replica that lost its lease writes nothing.
func (s State) Put(ctx context.Context, fence connectors.Lease, key string, value []byte) error {
	if fence == nil {
		return fmt.Errorf("state %s: %w: no lease", key, connectors.ErrLeaseLost)
	}
	if err := fence.Renew(ctx); err != nil {
		return err
	}
	if err := s.cp.PutCheckpoint(ctx, key, value); err != nil {
		return fmt.Errorf("state %s: %w", key, err)
	}
	return nil
}
