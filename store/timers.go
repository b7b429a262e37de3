package store

import (
	"context"
	"time"
)

// ---- durable timers (issue 17: satisfaction surveys after a delay) -------

// TimerSetCSAT is the set of satisfaction survey timers (package csat),
// one per conversation, id = the conversation id: erasing a conversation
// deletes its timer (timeline.Service.Delete).
const TimerSetCSAT = "csat"

// TimerSetSLA is the set of SLA due-time timers (package sla counts a
// breach when its due time passes), one per conversation and target, id =
// the conversation id + "|" + target (SLAFirstResponse, ...): erasing a
// conversation deletes them (timeline.Service.Delete).
const TimerSetSLA = "sla"

// Timer is one durable timer of a set: something to do at At, described by
// Payload (the caller's own encoding).
type Timer struct {
	Set     string    `json:"set"`
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Payload []byte    `json:"payload"`
}

// Timers is a due-time index: work scheduled for later that survives a
// restart and is done once across replicas. A worker claims what is due;
// the claim moves the timer's time forward by a lease, so a worker that
// dies before deleting it leaves it due again after the lease (at least
// once: the work must be idempotent), while no two workers hold it at once.
// The caller passes now, so a controllable clock drives timers in tests on
// every backend.
type Timers interface {
	// PutTimer schedules t (t.Set, t.ID); an existing timer of that id is
	// replaced (rescheduled).
	PutTimer(ctx context.Context, t Timer) error
	// ClaimTimers returns up to max timers of set due at now (At <= now),
	// earliest first, and atomically moves each one's At to now+lease: of
	// concurrent callers on any replica, exactly one gets a given timer
	// until its lease passes. The returned timers carry their original At.
	ClaimTimers(ctx context.Context, set string, now time.Time, lease time.Duration, max int) ([]Timer, error)
	// DeleteTimer removes a timer (the work is done). Missing is not an error.
	DeleteTimer(ctx context.Context, set, id string) error
}

// TimerSetAutomatic is the set of automatic messages being queued
// (router.Outbound.SendAutomatic), id = the entry id: written before the
// entry, deleted once its outbound queue item is durable. One left due
// (the process died between storing the entry and queueing it) is found
// by router.Outbound.RecoverAutomatic, which queues the entry unless it is
// already queued or no longer waiting. The payload is empty (nothing
// personal: erasure need not reach it; a timer whose entry is gone is
// dropped).
const TimerSetAutomatic = "automatic"

// TimerSetSLABreaching is the set of "SLA about to breach" timers (issue
// 24's rule event sla.breaching, package automation), one per conversation
// and target, id = the conversation id + "|" + target, due the configured
// lead time before the target's due time; written by package sla beside
// the due-time timer while some rule wants the event. Erasing a
// conversation deletes them (timeline.Service.Delete).
const TimerSetSLABreaching = "sla_breaching"
