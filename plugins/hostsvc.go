package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-hub/switchboard/connectors"
	pb "github.com/switchboard-hub/switchboard/plugins/internal/proto"
)

// DefaultMaxText is the largest Text (plus HTML) a plugin may deliver; the
// same limit as the hub's ingest.
const DefaultMaxText = 1 << 20

// maxInFlight bounds the deliveries of one stream handled at once.
const maxInFlight = 256

// hostService is the Host service one plugin process delivers into. It
// checks every message before the Sink sees it and acknowledges a message
// only after Sink.Deliver returned, that is after it is durable.
type hostService struct {
	pb.UnimplementedHostServer
	channel string
	sink    connectors.Sink
	status  connectors.StatusSink
	kinds   map[string]bool // declared identity kind -> verified
	maxText int
	log     *slog.Logger
	now     func() time.Time
}

func newHostService(channel string, info Info, sink connectors.Sink, status connectors.StatusSink, maxText int, log *slog.Logger) *hostService {
	kinds := map[string]bool{}
	for _, k := range info.Identities {
		kinds[k.Kind] = k.Verified
	}
	return &hostService{channel: channel, sink: sink, status: status, kinds: kinds, maxText: maxText, log: log, now: time.Now}
}

func (h *hostService) Deliver(stream pb.Host_DeliverServer) error {
	ctx := stream.Context()
	var sendMu sync.Mutex
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, maxInFlight)
	for {
		d, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ack := h.deliver(ctx, d)
			sendMu.Lock()
			_ = stream.Send(ack) // a broken stream: the plugin redelivers what it did not see acked
			sendMu.Unlock()
		}()
	}
}

// deliver checks one message and hands it to the Sink.
func (h *hostService) deliver(ctx context.Context, d *pb.Delivery) *pb.Ack {
	ack := &pb.Ack{Seq: d.Seq}
	msg, perr := h.check(d.Message)
	if perr != nil {
		h.log.Warn("plugin delivered a message the hub refuses", "reason", perr.Reason.String(), "err", perr.Message)
		ack.Error = perr
		return ack
	}
	id, err := h.sink.Deliver(ctx, msg)
	if err != nil {
		ack.Error = sinkError(err)
		return ack
	}
	ack.Id = id
	return ack
}

func refuse(reason pb.Reason, format string, args ...any) *pb.Error {
	code := codes.InvalidArgument
	if reason == pb.Reason_REASON_TOO_LARGE {
		code = codes.ResourceExhausted
	}
	return &pb.Error{Reason: reason, Code: int32(code), Message: fmt.Sprintf(format, args...)}
}

// Limits on the parts of a delivered message other than Text and HTML
// (which share MaxText). Over any of them the message is refused as too
// large: nothing the hub stores grows without bound because a plugin sent it.
const (
	maxEnvelope     = 64 << 10 // everything but text and html, in wire bytes
	maxIDBytes      = 512      // provider_id, thread_key
	maxNameBytes    = 1 << 10  // sender_name
	maxAvatarBytes  = 4 << 10  // sender_avatar (a URL)
	maxSubjectBytes = 4 << 10
	maxIdentities   = 16
	maxFields       = 64
	maxFieldName    = 256
	maxFieldValue   = 8 << 10
	maxFlags        = 16
	maxFlagBytes    = 64
	maxConsentWord  = 64      // consent purpose, version
	maxConsentText  = 8 << 10 // consent text
	maxFutureSkew   = 5 * time.Minute
)

// check validates what the plugin sent. It is the hub's own check: a
// plugin need not use the SDK, and the SDK does not validate for it.
func (h *hostService) check(p *pb.Message) (connectors.Message, *pb.Error) {
	if p == nil {
		return connectors.Message{}, refuse(pb.Reason_REASON_INVALID, "invalid message: empty delivery")
	}
	if n := len(p.Text) + len(p.Html); n > h.maxText {
		return connectors.Message{}, refuse(pb.Reason_REASON_TOO_LARGE, "message too large: text and html are %d bytes, the limit is %d", n, h.maxText)
	}
	if n := proto.Size(p); n > h.maxText+maxEnvelope {
		return connectors.Message{}, refuse(pb.Reason_REASON_TOO_LARGE, "message too large: %d bytes in all, the limit is %d (text and html) + %d (everything else)", n, h.maxText, maxEnvelope)
	}
	tooLarge := func(what string, n, limit int) (connectors.Message, *pb.Error) {
		return connectors.Message{}, refuse(pb.Reason_REASON_TOO_LARGE, "message too large: %s is %d, the limit is %d", what, n, limit)
	}
	for _, c := range []struct {
		what  string
		n     int
		limit int
	}{
		{"provider_id (bytes)", len(p.ProviderId), maxIDBytes},
		{"thread_key (bytes)", len(p.ThreadKey), maxIDBytes},
		{"sender_name (bytes)", len(p.SenderName), maxNameBytes},
		{"sender_avatar (bytes)", len(p.SenderAvatar), maxAvatarBytes},
		{"subject (bytes)", len(p.Subject), maxSubjectBytes},
		{"the number of identities", len(p.Identities), maxIdentities},
		{"the number of fields", len(p.Fields), maxFields},
		{"the number of flags", len(p.Flags), maxFlags},
	} {
		if c.n > c.limit {
			return tooLarge(c.what, c.n, c.limit)
		}
	}
	for i, f := range p.Fields {
		if len(f.Name) > maxFieldName || len(f.Value) > maxFieldValue {
			return tooLarge(fmt.Sprintf("fields[%d] (name and value bytes)", i), len(f.Name)+len(f.Value), maxFieldName+maxFieldValue)
		}
	}
	for i, f := range p.Flags {
		if len(f) > maxFlagBytes {
			return tooLarge(fmt.Sprintf("flags[%d] (bytes)", i), len(f), maxFlagBytes)
		}
	}
	if c := p.Consent; c != nil {
		if len(c.Purpose) > maxConsentWord || len(c.Version) > maxConsentWord || len(c.Text) > maxConsentText {
			return tooLarge("consent (purpose, version or text bytes)", len(c.Purpose)+len(c.Version)+len(c.Text), maxConsentWord)
		}
	}
	bad := func(field string) (connectors.Message, *pb.Error) {
		return connectors.Message{}, refuse(pb.Reason_REASON_INVALID, "invalid message: %s is not valid UTF-8", field)
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"provider_id", p.ProviderId}, {"thread_key", p.ThreadKey}, {"sender_name", p.SenderName},
		{"sender_avatar", p.SenderAvatar}, {"subject", p.Subject}, {"text", p.Text}, {"html", p.Html}} {
		if !utf8.Valid(f.b) {
			return bad(f.name)
		}
	}
	for i, f := range p.Fields {
		if !utf8.Valid(f.Name) || !utf8.Valid(f.Value) {
			return bad(fmt.Sprintf("fields[%d]", i))
		}
	}
	for i, f := range p.Flags {
		if !utf8.Valid(f) {
			return bad(fmt.Sprintf("flags[%d]", i))
		}
	}
	if c := p.Consent; c != nil {
		for _, f := range []struct {
			name string
			b    []byte
		}{{"consent purpose", c.Purpose}, {"consent text", c.Text}, {"consent version", c.Version}} {
			if !utf8.Valid(f.b) {
				return bad(f.name)
			}
		}
	}
	if len(p.Identities) == 0 {
		return connectors.Message{}, refuse(pb.Reason_REASON_INVALID, "invalid message: no sender identity")
	}
	for i, id := range p.Identities {
		if !utf8.Valid(id.Type) {
			return bad(fmt.Sprintf("identities[%d].type", i))
		}
		if !utf8.Valid(id.Value) {
			return bad(fmt.Sprintf("identities[%d].value", i))
		}
		verified, declared := h.kinds[string(id.Type)]
		if !declared {
			kinds := make([]string, 0, len(h.kinds))
			for k := range h.kinds {
				kinds = append(kinds, k)
			}
			slices.Sort(kinds)
			return connectors.Message{}, refuse(pb.Reason_REASON_INVALID,
				"invalid message: identity kind %q is not one the plugin declared (%v)", id.Type, kinds)
		}
		// Only the plugin's declaration (as the operator allowed it) makes
		// an identity verified: a claimed kind can never merge customers.
		id.Verified = id.Verified && verified
	}
	msg := fromprotoMessage(p, h.channel)
	// A clock far in the future would sort the message above everything
	// the customer writes next: the hub's time wins.
	if now := h.now(); msg.OccurredAt.After(now.Add(maxFutureSkew)) {
		msg.OccurredAt = now
	}
	if err := msg.Validate(h.maxText); err != nil {
		return msg, refuse(pb.Reason_REASON_INVALID, "%s", oneLine(err))
	}
	return msg, nil
}

// sinkError tells the plugin what the hub's Sink said.
func sinkError(err error) *pb.Error {
	switch {
	case errors.Is(err, connectors.ErrTooLarge):
		return refuse(pb.Reason_REASON_TOO_LARGE, "%s", oneLine(err))
	case errors.Is(err, connectors.ErrInvalid):
		return refuse(pb.Reason_REASON_INVALID, "%s", oneLine(err))
	case errors.Is(err, connectors.ErrChannelOff):
		return &pb.Error{Reason: pb.Reason_REASON_CHANNEL_OFF, Code: int32(codes.FailedPrecondition), Message: oneLine(err)}
	default:
		return &pb.Error{Reason: pb.Reason_REASON_UNAVAILABLE, Code: int32(codes.Unavailable), Message: "the hub could not store the message: " + oneLine(err)}
	}
}

// oneLine joins an errors.Join chain ("invalid message\nno sender
// identity") into one line: "invalid message: no sender identity".
func oneLine(err error) string {
	first, rest, ok := strings.Cut(err.Error(), "\n")
	if !ok {
		return first
	}
	return first + ": " + strings.ReplaceAll(rest, "\n", "; ")
}

// UpdateStatuses are the delivery statuses a plugin may report after a
// send (the hub's own; statuses never move backwards).
var UpdateStatuses = []string{"sent", "delivered", "undelivered", "failed"}

func (h *hostService) UpdateStatus(ctx context.Context, u *pb.StatusUpdate) (*pb.StatusAck, error) {
	if h.status == nil {
		return &pb.StatusAck{Error: "the hub takes no status updates for this channel"}, nil
	}
	if u.ProviderId == "" || u.Status == "" {
		return &pb.StatusAck{Error: "provider_id and status are required"}, nil
	}
	if !slices.Contains(UpdateStatuses, u.Status) {
		return &pb.StatusAck{Error: fmt.Sprintf("invalid message: status %q is not one of %s", u.Status, strings.Join(UpdateStatuses, ", "))}, nil
	}
	if len(u.ProviderId) > maxIDBytes || len(u.Detail) > maxFieldValue {
		return &pb.StatusAck{Error: fmt.Sprintf("message too large: provider_id is limited to %d bytes and detail to %d", maxIDBytes, maxFieldValue)}, nil
	}
	if err := h.status.UpdateStatus(ctx, h.channel, u.ProviderId, u.Status, u.Detail); err != nil {
		return &pb.StatusAck{Error: oneLine(err)}, nil
	}
	return &pb.StatusAck{}, nil
}
