package connectors_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/connectors"
)

// Every channel's provider id and thread key go through Validate (the
// Sink's check): at most MaxIDBytes of UTF-8 without control characters,
// so no channel can put a key the store refuses, or two ids that read the
// same, on the ingest queue.
func TestValidateRefusesBadIDs(t *testing.T) {
	ok := func() connectors.Message {
		return connectors.Message{Channel: "c", ProviderID: "p-1", ThreadKey: "t-1", Text: "hi",
			Identities: []connectors.Identity{{Type: connectors.Email, Value: "a@example.com"}}}
	}
	if m := ok(); m.Validate(1<<20) != nil {
		t.Fatalf("a good message refused: %v", m.Validate(1<<20))
	}
	longest := ok()
	longest.ProviderID, longest.ThreadKey = strings.Repeat("é", connectors.MaxIDBytes/2), strings.Repeat("x", connectors.MaxIDBytes)
	if err := longest.Validate(1 << 20); err != nil {
		t.Fatalf("ids of exactly MaxIDBytes refused: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*connectors.Message)
		want string
	}{
		{"provider id too long", func(m *connectors.Message) { m.ProviderID = strings.Repeat("x", connectors.MaxIDBytes+1) }, "provider id is 513 bytes, the limit is 512"},
		{"thread key of 100 KB", func(m *connectors.Message) { m.ThreadKey = strings.Repeat("x", 100<<10) }, "thread key is 102400 bytes"},
		{"invalid UTF-8 in the provider id", func(m *connectors.Message) { m.ProviderID = "p-\xff" }, "provider id is not valid UTF-8"},
		{"invalid UTF-8 in the thread key", func(m *connectors.Message) { m.ThreadKey = "t-\xc3" }, "thread key is not valid UTF-8"},
		{"NUL in the provider id", func(m *connectors.Message) { m.ProviderID = "p\x00" }, "provider id has the control character U+0000 at byte 1"},
		{"line break in the thread key", func(m *connectors.Message) { m.ThreadKey = "t\r\nX: y" }, "thread key has the control character U+000D"},
		{"C1 control in the thread key", func(m *connectors.Message) { m.ThreadKey = "t\u0085" }, "thread key has the control character U+0085"},
	} {
		m := ok()
		c.edit(&m)
		err := m.Validate(1 << 20)
		if !errors.Is(err, connectors.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrInvalid saying %q", c.name, err, c.want)
		}
	}
}

func TestCheckLine(t *testing.T) {
	for _, c := range []struct {
		s    string
		max  int
		want string // "" for nil
	}{
		{"Ada Lovelace", 64, ""},
		{"", 64, ""},
		{"Zoë 😀", 64, ""},
		{"tab\there", 64, "control character U+0009"},
		{"del\x7f", 64, "control character U+007F"},
		{"12345", 4, "is 5 bytes, the limit is 4"},
		{"\xed\xa0\x80", 64, "not valid UTF-8"}, // an encoded surrogate
	} {
		err := connectors.CheckLine(c.s, c.max)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckLine(%q, %d) = %v, want %q", c.s, c.max, err, c.want)
		}
	}
}
