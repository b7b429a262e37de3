package store

import "time"

// Clock returns the current time. Everything time-dependent (leases,
// snoozes, retention, dedupe windows) takes one, so tests need not sleep.
type Clock func() time.Time

// SystemClock is the real clock.
func SystemClock() time.Time { return time.Now() }

// FakeClock is a settable clock for tests.
type FakeClock struct{ t chan time.Time }

// NewFakeClock starts a fake clock at t.
func NewFakeClock(t time.Time) *FakeClock {
	c := &FakeClock{t: make(chan time.Time, 1)}
	c.t <- t
	return c
}

// Now is the Clock of the fake.
func (c *FakeClock) Now() time.Time { t := <-c.t; c.t <- t; return t }

// Advance moves the fake clock forward by d.
func (c *FakeClock) Advance(d time.Duration) { t := <-c.t; c.t <- t.Add(d) }
