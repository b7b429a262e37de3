package sms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf16"

	twclient "github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/switchboard-hub/switchboard/connectors"
)

// twilioHints explain the Twilio error codes an agent is most likely to
// see on a reply (https://www.twilio.com/docs/api/errors).
var twilioHints = map[int]string{
	20003: "authentication failed: check account_sid and auth_token",
	21211: "the recipient is not a valid phone number",
	21408: "the account may not send SMS to this region",
	21606: "the channel's from number cannot send SMS",
	21608: "trial accounts may only send to verified numbers",
	21610: "the recipient opted out at Twilio (texted STOP); they must text START first",
	21612: "the recipient cannot be reached from the channel's number",
	21614: "the recipient is not a mobile number",
	21617: "the message body is over 1600 characters",
	30003: "unreachable destination handset",
	30004: "message blocked by the recipient or carrier",
	30005: "unknown destination handset",
	30006: "landline or unreachable carrier",
	30007: "message filtered by the carrier",
	30008: "unknown error at the carrier",
	30034: "the sending number is not registered for A2P 10DLC",
}

// twilioError formats a Twilio error code with its hint.
func twilioError(code int, message string) string {
	s := fmt.Sprintf("twilio error %d", code)
	if message != "" {
		s += ": " + message
	}
	if h := twilioHints[code]; h != "" && h != message {
		s += " (" + h + ")"
	}
	return s
}

// describe classifies an error of a twilio-go call: a 4xx answer other
// than 408/429 wraps connectors.ErrPermanent (sending again will not help);
// 408, 429, 5xx and network errors stay retryable. status is the HTTP
// status seen by the transport (0 when no answer came).
func describe(err error, status int) error {
	var rest *twclient.TwilioRestError
	var v1 *twclient.RestErrorV1
	code, msg := 0, ""
	switch {
	case errors.As(err, &rest):
		code, msg = rest.Code, rest.Message
		if rest.Status != 0 {
			status = rest.Status
		}
	case errors.As(err, &v1):
		code, msg = v1.Code, v1.Message
		if v1.HttpStatusCode != 0 {
			status = v1.HttpStatusCode
		}
	}
	what := err.Error()
	if code != 0 {
		what = twilioError(code, msg)
	} else if status != 0 {
		what = fmt.Sprintf("twilio answered HTTP %d", status)
	}
	switch {
	case status == 0:
		return fmt.Errorf("twilio unreachable: %w", err)
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		return fmt.Errorf("%s; will retry", what)
	case status >= 400:
		return fmt.Errorf("%w: %s", connectors.ErrPermanent, what)
	}
	return errors.New(what)
}

// Send implements connectors.Sender with Api.CreateMessage. Replies longer
// than Settings.MaxLength are refused (never split): a split SMS arrives
// out of order on many phones, and Twilio itself refuses over 1600.
func (c *Channel) Send(ctx context.Context, out connectors.Outgoing) (connectors.SendResult, error) {
	if out.To.Type != connectors.Phone || out.To.Value == "" {
		return connectors.SendResult{}, fmt.Errorf("%w: sms: cannot text a %q identity", connectors.ErrPermanent, out.To.Type)
	}
	if len(out.Attachments) > 0 {
		// MMS needs a public URL of each file (Twilio fetches MediaUrl),
		// which the hub does not serve: fail rather than send the text
		// without the files the agent meant to send.
		return connectors.SendResult{}, fmt.Errorf("%w: sms: attachments are not supported by the sms channel (%d attached); send the text alone or reply by email",
			connectors.ErrPermanent, len(out.Attachments))
	}
	n := len(utf16.Encode([]rune(out.Text)))
	if n > c.s.MaxLength {
		return connectors.SendResult{}, fmt.Errorf("%w: sms: the reply is %d characters; an SMS reply may have at most %d: shorten it or send it as several replies",
			connectors.ErrPermanent, n, c.s.MaxLength)
	}
	if n == 0 {
		return connectors.SendResult{}, fmt.Errorf("%w: sms: the reply has no text", connectors.ErrPermanent)
	}
	p := &openapi.CreateMessageParams{}
	p.SetTo(out.To.Value).SetBody(out.Text).SetStatusCallback(c.statusURL)
	if c.s.MessagingServiceSID != "" {
		p.SetMessagingServiceSid(c.s.MessagingServiceSID)
	} else {
		p.SetFrom(c.s.From)
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.SendTimeout.D())
	defer cancel()
	api, cl := c.api(ctx)
	m, err := api.CreateMessage(p)
	if err != nil {
		return connectors.SendResult{}, fmt.Errorf("sms: send to %s: %w", out.To.Value, describe(err, cl.status))
	}
	sid := deref(m.Sid)
	switch deref(m.Status) {
	case "failed", "undelivered", "canceled":
		code := 0
		if m.ErrorCode != nil {
			code = *m.ErrorCode
		}
		return connectors.SendResult{ProviderID: sid}, fmt.Errorf("%w: sms: twilio %s the message: %s", connectors.ErrPermanent, deref(m.Status), twilioError(code, deref(m.ErrorMessage)))
	}
	if sid == "" {
		// Accepted, but status callbacks cannot be matched to the entry.
		c.log.Warn("twilio accepted a message without returning its sid", "entry", out.EntryID)
	}
	c.log.Debug("sms sent", "entry", out.EntryID, "sid", sid)
	return connectors.SendResult{ProviderID: sid, Status: "sent"}, nil
}
