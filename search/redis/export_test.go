package redis

// Pending is how many Puts wait for the next flush (tests).
func (x *Index) Pending() int {
	x.batch.mu.Lock()
	defer x.batch.mu.Unlock()
	return len(x.batch.pending)
}
