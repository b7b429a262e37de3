package plugins

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	pb "github.com/switchboard-hub/switchboard/plugins/internal/proto"
)

func testHost(status *recordStatus) *hostService {
	h := newHostService("chan", Info{Identities: []IdentityKind{{Kind: "telegram", Verified: true}, {Kind: "email"}}},
		nil, nil, 4096, slog.New(slog.DiscardHandler))
	if status != nil {
		h.status = status
	}
	return h
}

func goodMessage() *pb.Message {
	return &pb.Message{ProviderId: []byte("1:2"), Text: []byte("hi"),
		Identities: []*pb.Identity{{Type: []byte("telegram"), Value: []byte("42"), Verified: true}}}
}

// Every field a plugin fills is checked: invalid UTF-8 anywhere and
// oversized parts are refused with a clear error, not only text and html.
func TestCheckRefusesBadFields(t *testing.T) {
	big := func(n int) []byte { return []byte(strings.Repeat("a", n)) }
	for _, tc := range []struct {
		name   string
		mod    func(m *pb.Message)
		reason pb.Reason
		want   string
	}{
		{"bad flag", func(m *pb.Message) { m.Flags = [][]byte{[]byte("ok"), []byte("\xff")} }, pb.Reason_REASON_INVALID, "flags[1] is not valid UTF-8"},
		{"bad consent purpose", func(m *pb.Message) { m.Consent = &pb.Consent{Purpose: []byte("\xfe")} }, pb.Reason_REASON_INVALID, "consent purpose is not valid UTF-8"},
		{"bad consent version", func(m *pb.Message) { m.Consent = &pb.Consent{Purpose: []byte("sms"), Version: []byte("v\xff")} }, pb.Reason_REASON_INVALID, "consent version is not valid UTF-8"},
		{"bad identity type", func(m *pb.Message) { m.Identities[0].Type = []byte("tele\xffgram") }, pb.Reason_REASON_INVALID, "identities[0].type is not valid UTF-8"},
		{"huge avatar", func(m *pb.Message) { m.SenderAvatar = big(maxAvatarBytes + 1) }, pb.Reason_REASON_TOO_LARGE, "sender_avatar (bytes) is 4097, the limit is 4096"},
		{"huge subject", func(m *pb.Message) { m.Subject = big(maxSubjectBytes + 1) }, pb.Reason_REASON_TOO_LARGE, "subject (bytes)"},
		{"huge sender name", func(m *pb.Message) { m.SenderName = big(maxNameBytes + 1) }, pb.Reason_REASON_TOO_LARGE, "sender_name (bytes)"},
		{"huge provider id", func(m *pb.Message) { m.ProviderId = big(maxIDBytes + 1) }, pb.Reason_REASON_TOO_LARGE, "provider_id (bytes)"},
		{"huge thread key", func(m *pb.Message) { m.ThreadKey = big(maxIDBytes + 1) }, pb.Reason_REASON_TOO_LARGE, "thread_key (bytes)"},
		{"many identities", func(m *pb.Message) {
			for range maxIdentities {
				m.Identities = append(m.Identities, m.Identities[0])
			}
		}, pb.Reason_REASON_TOO_LARGE, "the number of identities is 17, the limit is 16"},
		{"many fields", func(m *pb.Message) {
			for range maxFields + 1 {
				m.Fields = append(m.Fields, &pb.Field{Name: []byte("n"), Value: []byte("v")})
			}
		}, pb.Reason_REASON_TOO_LARGE, "the number of fields"},
		{"huge field", func(m *pb.Message) { m.Fields = []*pb.Field{{Name: []byte("n"), Value: big(maxFieldValue + 1)}} }, pb.Reason_REASON_TOO_LARGE, "fields[0]"},
		{"huge flag", func(m *pb.Message) { m.Flags = [][]byte{big(maxFlagBytes + 1)} }, pb.Reason_REASON_TOO_LARGE, "flags[0] (bytes)"},
		{"huge consent text", func(m *pb.Message) { m.Consent = &pb.Consent{Purpose: []byte("sms"), Text: big(maxConsentText + 1)} }, pb.Reason_REASON_TOO_LARGE, "consent"},
		{"huge envelope", func(m *pb.Message) {
			for range maxFields {
				m.Fields = append(m.Fields, &pb.Field{Name: []byte("n"), Value: big(maxFieldValue)})
			}
		}, pb.Reason_REASON_TOO_LARGE, "bytes in all, the limit is 4096 (text and html) + 65536 (everything else)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := goodMessage()
			tc.mod(m)
			_, perr := testHost(nil).check(m)
			if perr == nil || perr.Reason != tc.reason || !strings.Contains(perr.Message, tc.want) {
				t.Fatalf("check = %v, want %v with %q", perr, tc.reason, tc.want)
			}
		})
	}
	if _, perr := testHost(nil).check(goodMessage()); perr != nil {
		t.Fatalf("a good message: %v", perr)
	}
}

func TestCheckClampsFutureOccurredAt(t *testing.T) {
	h := testHost(nil)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h.now = func() time.Time { return now }
	m := goodMessage()
	m.OccurredAt = now.Add(24 * time.Hour).UnixNano()
	got, perr := h.check(m)
	if perr != nil || !got.OccurredAt.Equal(now) {
		t.Fatalf("occurred at %v (%v), want %v", got.OccurredAt, perr, now)
	}
	m.OccurredAt = now.Add(-time.Hour).UnixNano()
	if got, _ := h.check(m); !got.OccurredAt.Equal(now.Add(-time.Hour)) {
		t.Fatalf("a past time was changed: %v", got.OccurredAt)
	}
}

type recordStatus struct{ got []string }

func (r *recordStatus) UpdateStatus(ctx context.Context, channel, providerID, status, detail string) error {
	r.got = append(r.got, status)
	return nil
}

func TestUpdateStatusTakesOnlyHubStatuses(t *testing.T) {
	rs := &recordStatus{}
	h := testHost(rs)
	ack, _ := h.UpdateStatus(context.Background(), &pb.StatusUpdate{ProviderId: "p1", Status: "read"})
	if !strings.Contains(ack.Error, `status "read" is not one of sent, delivered, undelivered, failed`) {
		t.Fatalf("ack = %q", ack.Error)
	}
	for _, s := range UpdateStatuses {
		if ack, _ := h.UpdateStatus(context.Background(), &pb.StatusUpdate{ProviderId: "p1", Status: s}); ack.Error != "" {
			t.Fatalf("%s: %s", s, ack.Error)
		}
	}
	if len(rs.got) != len(UpdateStatuses) {
		t.Fatalf("passed on %v", rs.got)
	}
}
