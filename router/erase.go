package router

import (
	"context"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/erasure"
	"github.com/switchboard-hub/switchboard/store"
)

// Erasure moved to package erasure. These names keep the other branches of
// issue 13 compiling while they are merged.

// ErasureReport is erasure.Report.
//
// Deprecated: moved to erasure.Report; removed after the merge.
type ErasureReport = erasure.Report

// Erase is erasure.Erase, releasing each deleted conversation's load.
//
// Deprecated: moved to erasure.Erase; removed after the merge.
func Erase(ctx context.Context, st store.Store, blobs connectors.Blobs, customerID, by string, clock store.Clock) (ErasureReport, error) {
	return erasure.Erase(ctx, st, blobs, customerID, by, clock, func(ctx context.Context, c store.Conversation) {
		AdjustLoad(ctx, st, c, store.Conversation{})
	})
}
