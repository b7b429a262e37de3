package router

// SetAutomaticCrashPoint sets the hook SendAutomatic calls between storing
// an automatic message and queueing it (nil: none).
func SetAutomaticCrashPoint(f func(entryID string)) { automaticCrashPoint = f }
