package router

import (
	"log/slog"

	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/store"
)

// The channel directory moved to package directory. These names keep the
// other branches of issue 13 compiling while they are merged.

// Channel is directory.Channel.
//
// Deprecated: moved to directory.Channel; removed after the merge.
type Channel = directory.Channel

// Directory is directory.Directory.
//
// Deprecated: moved to directory.Directory; removed after the merge.
type Directory = directory.Directory

// NewDirectory is directory.New.
//
// Deprecated: moved to directory.New; removed after the merge.
func NewDirectory(st store.Store, channels []Channel, clock store.Clock, log *slog.Logger) *Directory {
	return directory.New(st, channels, clock, log)
}

// ValidPhase is directory.ValidPhase.
//
// Deprecated: moved to directory.ValidPhase; removed after the merge.
func ValidPhase(p string) bool { return directory.ValidPhase(p) }

// ErrBadPhase is directory.ErrBadPhase.
//
// Deprecated: moved to directory.ErrBadPhase; removed after the merge.
var ErrBadPhase = directory.ErrBadPhase

// audience is who may see a conversation opened now on channel c.
func audience(c Channel) string { return c.Audience() }
