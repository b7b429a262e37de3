package plugins

import (
	"log/slog"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/switchboard-hub/switchboard/connectors"
	pb "github.com/switchboard-hub/switchboard/plugins/internal/proto"
)

// FuzzCheck feeds arbitrary wire messages to the host's validation: it
// must never panic, and whatever it accepts must be a valid hub message of
// a declared kind, verified only when the kind is.
func FuzzCheck(f *testing.F) {
	good, _ := proto.Marshal(&pb.Message{ProviderId: []byte("1:2"), Text: []byte("hi"),
		Identities: []*pb.Identity{{Type: []byte("telegram"), Value: []byte("42"), Verified: true}}})
	bad, _ := proto.Marshal(&pb.Message{ProviderId: []byte("1:2"), Text: []byte("\xff"),
		Identities: []*pb.Identity{{Type: []byte("email"), Value: []byte("a@b.c"), Verified: true}}})
	f.Add(good)
	f.Add(bad)
	h := newHostService("fuzz", Info{Identities: []IdentityKind{{Kind: "telegram", Verified: true}, {Kind: "email"}}},
		nil, nil, 4096, slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p pb.Message
		if proto.Unmarshal(b, &p) != nil {
			return
		}
		m, perr := h.check(&p)
		if perr != nil {
			if perr.Message == "" || !utf8.ValidString(perr.Message) {
				t.Fatalf("unclear error %+v", perr)
			}
			return
		}
		if err := m.Validate(4096); err != nil {
			t.Fatalf("accepted an invalid message: %v", err)
		}
		for _, id := range m.Identities {
			if id.Type != "telegram" && id.Type != "email" {
				t.Fatalf("accepted undeclared kind %q", id.Type)
			}
			if id.Type == "email" && id.Verified {
				t.Fatal("an unverified kind came out verified")
			}
		}
		if m.Channel != "fuzz" || !utf8.ValidString(m.HTML) {
			t.Fatalf("message %+v", m)
		}
		_ = connectors.MessageID(m.Channel, m.ProviderID)
	})
}
