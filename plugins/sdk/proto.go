package sdk

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"

	pb "github.com/switchboard-hub/switchboard/plugins/internal/proto"
)

// toproto / fromproto: the only place SDK types meet the generated ones.

func toprotoMessage(m Message) *pb.Message {
	p := &pb.Message{
		ProviderId: []byte(m.ProviderID), ThreadKey: []byte(m.ThreadKey),
		SenderName: []byte(m.SenderName), SenderAvatar: []byte(m.SenderAvatar),
		Subject: []byte(m.Subject), Text: []byte(m.Text), Html: []byte(m.HTML),
		NoReply: m.NoReply,
	}
	for _, f := range m.Flags {
		p.Flags = append(p.Flags, []byte(f))
	}
	for _, id := range m.Identities {
		p.Identities = append(p.Identities, toprotoIdentity(id))
	}
	for _, f := range m.Fields {
		p.Fields = append(p.Fields, &pb.Field{Name: []byte(f.Name), Value: []byte(f.Value)})
	}
	if c := m.Consent; c != nil {
		p.Consent = &pb.Consent{Purpose: []byte(c.Purpose), Granted: c.Granted, Text: []byte(c.Text), Version: []byte(c.Version)}
	}
	if !m.OccurredAt.IsZero() {
		p.OccurredAt = m.OccurredAt.UnixNano()
	}
	return p
}

func toprotoIdentity(id Identity) *pb.Identity {
	return &pb.Identity{Type: []byte(id.Type), Value: []byte(id.Value), Verified: id.Verified}
}

func fromprotoIdentity(p *pb.Identity) Identity {
	if p == nil {
		return Identity{}
	}
	return Identity{Type: string(p.Type), Value: string(p.Value), Verified: p.Verified}
}

func fromprotoOutgoing(p *pb.Outgoing) Outgoing {
	if p == nil {
		return Outgoing{}
	}
	return Outgoing{EntryID: p.EntryId, ConversationID: p.ConversationId, CustomerID: p.CustomerId, Channel: p.Channel,
		To: fromprotoIdentity(p.To), ThreadKey: p.ThreadKey, Subject: p.Subject, Text: p.Text, HTML: p.Html,
		InReplyTo: p.InReplyTo, Agent: p.Agent}
}

func toprotoDescription(d Description, canSend, canTest, canInject bool) *pb.DescribeResponse {
	p := &pb.DescribeResponse{Name: d.Name, Version: d.Version, CanSend: canSend, CanTest: canTest, CanInject: canInject, SdkVersion: Version,
		RunOnce: d.RunOnce}
	for _, k := range d.Identities {
		p.IdentityKinds = append(p.IdentityKinds, &pb.IdentityKind{Kind: k.Kind, Verified: k.Verified})
	}
	for _, r := range d.Routes {
		p.Routes = append(p.Routes, &pb.Route{Method: r.Method, Path: r.Path})
	}
	return p
}

// fromprotoError turns the hub's refusal into an error wrapping one of the
// sentinel errors.
func fromprotoError(e *pb.Error) error {
	if e == nil {
		return nil
	}
	var base error
	switch e.Reason {
	case pb.Reason_REASON_INVALID:
		base = ErrInvalid
	case pb.Reason_REASON_TOO_LARGE:
		base = ErrTooLarge
	case pb.Reason_REASON_CHANNEL_OFF:
		base = ErrChannelOff
	case pb.Reason_REASON_PERMANENT:
		base = ErrPermanent
	default:
		base = ErrUnavailable
	}
	return fmt.Errorf("%w: %s (%s)", base, e.Message, codes.Code(e.Code))
}

// toprotoSendError classifies an error a Channel's Send returned.
func toprotoSendError(err error) *pb.Error {
	if errors.Is(err, ErrPermanent) {
		return &pb.Error{Reason: pb.Reason_REASON_PERMANENT, Code: int32(codes.FailedPrecondition), Message: err.Error()}
	}
	return &pb.Error{Reason: pb.Reason_REASON_UNAVAILABLE, Code: int32(codes.Unavailable), Message: err.Error()}
}
