package redis

// AuditsWaiting is how many audit records wait for the next group commit
// (tests wait for all of theirs to be queued before releasing a flush).
func (s *Store) AuditsWaiting() int {
	b := &s.audits
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// LibraryVersion is this hub's functions library version (sb_version).
const LibraryVersion = libraryVersion
