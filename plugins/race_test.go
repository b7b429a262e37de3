//go:build race

package plugins_test

// raceEnabled: the test plugins are built with -race too, so the SDK code
// inside them (the delivery client, the server) is race-checked end to end.
const raceEnabled = true
