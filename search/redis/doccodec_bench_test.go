package redis

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/search"
)

// BenchmarkDocEncode: the compact document's cost beside json.Marshal of
// search.Doc (every indexed message's document is encoded once).
func BenchmarkDocEncode(b *testing.B) {
	d := search.Doc{ID: "m_51f98fae008d362a8e8549a867647a7b", CustomerID: "c_01a2515f9fd7a2b55f166c",
		ConversationID: "v_a2b55f166ce53e135c460f0d", Channel: "api", Kind: "message", Direction: "in", At: time.Now(),
		Text: "load test message 14175", Identities: []connectors.Identity{{Type: "email", Value: "load175@example.com", Verified: true}}}
	b.Run("compact", func(b *testing.B) {
		for b.Loop() {
			_, _ = encodeDoc(d, d.ID)
		}
	})
	b.Run("legacy", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(d)
		}
	})
}
