// Package directory owns the run-time view of the configured channels: each
// channel's name, type, teams and trust, and its phase (off, shadow, pilot,
// live; DESIGN invariant 8). It starts from the configuration, applies the
// phases an admin stored (SetPhase, audited), and refreshes them from the
// store so a change reaches every replica within seconds, without a restart.
// It also says who may see a conversation a channel opens in its current
// phase (Channel.Audience), and who may send through it (Channel.MaySend).
//
// It imports store (the contract, never a backend) and the standard
// library. The router, the inbox and cmd/switchboard read it; it imports
// none of them.
package directory
