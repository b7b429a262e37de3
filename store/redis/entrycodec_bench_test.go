package redis

import "testing"

// BenchmarkEntryEncode: the compact encoding's cost beside json.Marshal
// of store.Entry (the hub encodes every message's entry once).
func BenchmarkEntryEncode(b *testing.B) {
	e := codecEntries()[0]
	b.Run("compact", func(b *testing.B) {
		for b.Loop() {
			_ = encodeEntry(e, e.ID, e.CustomerID)
		}
	})
	b.Run("legacy", func(b *testing.B) {
		for b.Loop() {
			_ = marshal(e)
		}
	})
}
