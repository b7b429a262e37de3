package inbox

import "time"

// SetSSEHeartbeat shortens the event streams' heartbeat (and session
// re-check) for a test; the returned func restores it.
func SetSSEHeartbeat(d time.Duration) func() {
	old := sseHeartbeat
	sseHeartbeat = d
	return func() { sseHeartbeat = old }
}
