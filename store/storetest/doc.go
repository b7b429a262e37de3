// Package storetest is the conformance suite every store backend passes.
//
// A backend's test calls Run with a Factory that opens a fresh, empty store
// for one test:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, clock store.Clock, q store.QueueOptions) store.Store {
//			s := open(t, clock, q) // backend specific
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite checks the behaviour promised by the doc comments of
// store.Store (they are the specification): idempotent creates, atomic
// first-writer-wins bindings, compare-and-swap updates without lost updates,
// paging without duplicates or gaps, at-least-once queues with redelivery,
// retries and dead letters, fencing-token leases, realtime fan-out,
// consents, audit, counters, the provider-id index (erased with the
// customer's timeline) and the session key and epochs (one key of
// concurrent creators, no lost epoch bump). Subtests are grouped by area
// ("Identities/BindConcurrent", "Queues/RedeliverUnacked", ...) so a backend
// can run one area with -run.
//
// Leases and backend-set timestamps are driven by the store.FakeClock handed
// to the factory; queue redelivery uses real time (Redis measures idle time
// itself), so queue subtests poll with deadlines of a few seconds. Every
// wait has a deadline and fails clearly instead of hanging.
//
// The package imports store, connectors and the standard library only.
package storetest
