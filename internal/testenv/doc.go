// Package testenv finds the real servers tests talk to (Redis, Redis
// Cluster, ...). A test calls e.g. Redis(t): it gets a client with a unique
// key prefix, cleaned up after the test. When the server is absent the test
// is skipped, unless SWITCHBOARD_REQUIRE_SERVERS=1 (set by .ci/run), in
// which case it fails: CI never counts a skipped server test as passing.
//
// It may import the standard library and go-redis only; only tests import it.
package testenv
