package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-hub/switchboard/plugins/internal/proto"
)

// The logger writes what go-plugin's host parses into structured entries.
func TestLoggerWritesHCLogJSON(t *testing.T) {
	var buf bytes.Buffer
	NewLogger(&buf, slog.LevelInfo).Info("polling", "offset", 7)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["@level"] != "info" || line["@message"] != "polling" || line["offset"] != float64(7) {
		t.Fatalf("line = %s", buf.String())
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", line["@timestamp"].(string)); err != nil {
		t.Fatalf("timestamp: %v", err)
	}
}

func TestHubErrorsMapToSentinels(t *testing.T) {
	for reason, want := range map[pb.Reason]error{
		pb.Reason_REASON_INVALID: ErrInvalid, pb.Reason_REASON_TOO_LARGE: ErrTooLarge,
		pb.Reason_REASON_CHANNEL_OFF: ErrChannelOff, pb.Reason_REASON_UNAVAILABLE: ErrUnavailable,
	} {
		err := fromprotoError(&pb.Error{Reason: reason, Code: 3, Message: "because"})
		if !errors.Is(err, want) || Retryable(err) == (want == ErrInvalid || want == ErrTooLarge) {
			t.Errorf("%v: %v (retryable %v)", reason, err, Retryable(err))
		}
	}
	if e := toprotoSendError(fmt.Errorf("%w: blocked", ErrPermanent)); e.Reason != pb.Reason_REASON_PERMANENT {
		t.Errorf("permanent send error = %v", e)
	}
	if e := toprotoSendError(errors.New("timeout")); e.Reason != pb.Reason_REASON_UNAVAILABLE {
		t.Errorf("other send error = %v", e)
	}
}

// Every field survives the trip to the wire.
func TestMessageToProto(t *testing.T) {
	at := time.Unix(1700000000, 5)
	p := toprotoMessage(Message{ProviderID: "p", ThreadKey: "t", Identities: []Identity{{Type: "k", Value: "v", Verified: true}},
		SenderName: "n", SenderAvatar: "a", Subject: "s", Text: "x", HTML: "<b>x</b>", Fields: []Field{{"f", "g"}},
		Flags: []string{"fl"}, Consent: &Consent{Purpose: "messages", Granted: true, Text: "STOP"}, NoReply: true, OccurredAt: at})
	if string(p.ProviderId) != "p" || string(p.ThreadKey) != "t" || string(p.Identities[0].Value) != "v" || !p.Identities[0].Verified ||
		string(p.SenderName) != "n" || string(p.SenderAvatar) != "a" || string(p.Subject) != "s" || string(p.Text) != "x" ||
		string(p.Html) != "<b>x</b>" || string(p.Fields[0].Value) != "g" || string(p.Flags[0]) != "fl" || string(p.Consent.Purpose) != "messages" || string(p.Identities[0].Type) != "k" || string(p.Consent.Text) != "STOP" ||
		!p.NoReply || p.OccurredAt != at.UnixNano() {
		t.Fatalf("proto = %v", p)
	}
}

// Invalid UTF-8 anywhere a plugin writes must still encode: a proto3
// string field would fail the encode and end the shared delivery stream,
// instead of the hub answering that one message with a clear error.
func TestInvalidUTF8Encodes(t *testing.T) {
	bad := "\xff"
	p := toprotoMessage(Message{ProviderID: bad, ThreadKey: bad, Identities: []Identity{{Type: bad, Value: bad}},
		SenderName: bad, SenderAvatar: bad, Subject: bad, Text: bad, HTML: bad, Fields: []Field{{bad, bad}},
		Flags: []string{bad}, Consent: &Consent{Purpose: bad, Text: bad, Version: bad}})
	if _, err := proto.Marshal(&pb.Delivery{Seq: 1, Message: p}); err != nil {
		t.Fatalf("a message with invalid UTF-8 does not encode: %v", err)
	}
}
