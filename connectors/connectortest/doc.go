// Package connectortest is the conformance kit every channel runs (built-in
// ones in their tests; plugin authors against their plugin through the
// plugin host). It checks what the hub relies on: valid, normalisable
// messages; a stable provider id, so redelivery never duplicates; failure
// reported to the provider when the hub could not take a message; sends
// that return a provider id; sources that stop when asked.
//
// It imports connectors and the standard library only.
package connectortest
