package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/switchboard-hub/switchboard/connectors"
)

// socketWorkers bounds the events handled at once on one connection; each
// must be acknowledged within Slack's 3 seconds.
const socketWorkers = 8

// Socket is the Socket Mode source of a channel. It is a
// connectors.LeasedSource: only the replica holding the lease
// "slack:CHANNEL" keeps a connection open, so every event is handled once;
// the hub runs it there and ends it when the lease is lost, and another
// replica takes over.
type Socket struct {
	*Channel
	ttl time.Duration
}

// LeaseName is the lease a channel's Socket Mode connection is held under.
func LeaseName(channel string) string { return "slack:" + channel }

// LeaseSpec implements connectors.LeasedSource.
func (s *Socket) LeaseSpec() (string, time.Duration) { return LeaseName(s.name), s.ttl }

// RunLeased implements connectors.LeasedSource: it holds one Socket Mode
// connection (reconnecting as Slack asks) until ctx ends (nil) or the
// connection fails (an error: the hub retries after a backoff, without the
// lease meanwhile so another replica may try its luck).
func (s *Socket) RunLeased(ctx context.Context, sink connectors.Sink, lease connectors.Lease) error {
	s.log.Info("slack: socket mode connecting under the lease", "token", lease.Token())
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait() // the client and every handler have stopped
	}()

	client := socketmode.New(s.api, socketmode.OptionLog(discardLog{}))
	runErr := make(chan error, 1)
	wg.Go(func() { runErr <- client.RunContext(ctx) })

	sem := make(chan struct{}, socketWorkers)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-runErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack: socket mode: %w", err)
		case evt := <-client.Events:
			switch evt.Type {
			case socketmode.EventTypeConnected:
				s.log.Info("slack: socket mode connected")
			case socketmode.EventTypeConnectionError:
				var cause error
				if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
					cause = e.ErrorObj
				}
				s.log.Warn("slack: socket mode connection error; retrying", "err", cause)
			case socketmode.EventTypeInvalidAuth:
				return errors.New("slack: socket mode: the app token was refused")
			case socketmode.EventTypeDisconnect:
				s.log.Info("slack: socket mode reconnecting as Slack asked")
			case socketmode.EventTypeEventsAPI, socketmode.EventTypeErrorBadMessage:
				req, ok := eventsRequest(evt)
				if !ok {
					continue
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					continue
				}
				wg.Go(func() {
					defer func() { <-sem }()
					s.handle(ctx, client, sink, req)
				})
			}
		}
	}
}

// eventsRequest returns the events_api request of evt. A request slack-go
// could not parse (ErrorBadMessage) is still ours to read with our own
// parser, and to acknowledge: left unacknowledged, Slack would resend it.
func eventsRequest(evt socketmode.Event) (socketmode.Request, bool) {
	if evt.Request != nil {
		return *evt.Request, evt.Request.Type == socketmode.RequestTypeEventsAPI
	}
	bad, ok := evt.Data.(*socketmode.ErrorBadMessage)
	if !ok {
		return socketmode.Request{}, false
	}
	var req socketmode.Request
	if json.Unmarshal(bad.Message, &req) != nil || req.Type != socketmode.RequestTypeEventsAPI || req.EnvelopeID == "" {
		return socketmode.Request{}, false
	}
	return req, true
}

// handle records one events_api request and acknowledges it only once it
// is durable; an unacknowledged request is sent again by Slack.
func (s *Socket) handle(ctx context.Context, client *socketmode.Client, sink connectors.Sink, req socketmode.Request) {
	res, err := s.process(ctx, sink, req.Payload)
	switch {
	case errors.Is(err, ErrMalformed):
		s.log.Warn("slack: malformed event acknowledged and dropped", "err", err, "envelope", req.EnvelopeID)
	case err != nil:
		s.log.Error("slack: event not stored; Slack will retry", "err", err, "event_id", res.EventID, "retry", req.RetryAttempt)
		return
	}
	if err := client.AckCtx(ctx, req.EnvelopeID, nil); err != nil && ctx.Err() == nil {
		s.log.Warn("slack: ack failed", "err", err, "envelope", req.EnvelopeID)
	}
}

// Test implements connectors.Tester for socket mode: the bot token
// (auth.test) and the app token (apps.connections.open, not dialled).
func (s *Socket) Test(ctx context.Context) (string, error) {
	report, err := s.Channel.Test(ctx)
	if err != nil {
		return report, err
	}
	if _, _, err := socketmode.New(s.api).OpenContext(ctx); err != nil {
		return report, fmt.Errorf("slack: apps.connections.open with the app token: %w", err)
	}
	return report + "; socket mode app token accepted", nil
}

// discardLog silences slack-go's own logger (payloads must not reach logs).
type discardLog struct{}

func (discardLog) Output(int, string) error { return nil }
