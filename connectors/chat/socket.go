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
	"github.com/switchboard-hub/switchboard/store"
)

// socketWorkers bounds the events handled at once on one connection; each
// must be acknowledged within Slack's 3 seconds.
const socketWorkers = 8

// Socket is the Socket Mode source of a channel. Only the replica holding
// the store lease "slack:CHANNEL" keeps a connection open, so every event
// is handled once; the others wait and take over when the lease expires.
type Socket struct {
	*Channel
	ttl time.Duration
}

// LeaseName is the store lease a channel's Socket Mode connection is held under.
func LeaseName(channel string) string { return "slack:" + channel }

// Run implements connectors.Source: wait for the lease, hold the
// connection while the lease is ours (reconnecting as Slack asks), let it go
// when ctx ends or the lease is lost.
func (s *Socket) Run(ctx context.Context, sink connectors.Sink) error {
	holder := s.env.Replica
	if holder == "" {
		holder = "switchboard"
	}
	name := LeaseName(s.name)
	backoff := time.Second // between failed lease calls
	retry := time.Second   // between connections that ended in an error
	for ctx.Err() == nil {
		lease, err := s.st.AcquireLease(ctx, name, holder, s.ttl)
		switch {
		case errors.Is(err, store.ErrLeaseHeld):
			// Another replica holds the connection: check again before it
			// could expire.
			if sleepCtx(ctx, s.ttl/3) != nil {
				return nil
			}
			continue
		case err != nil:
			s.log.Warn("slack: lease not acquired", "err", err)
			if sleepCtx(ctx, backoff) != nil {
				return nil
			}
			backoff = min(2*backoff, time.Minute)
			continue
		}
		backoff = time.Second
		s.log.Info("slack: socket mode lease acquired", "holder", holder, "token", lease.Token)
		started := time.Now()
		err = s.hold(ctx, sink, lease)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if rerr := s.st.ReleaseLease(rctx, name, holder, lease.Token); rerr != nil && !errors.Is(rerr, store.ErrLeaseHeld) {
			s.log.Warn("slack: lease not released", "err", rerr)
		}
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if time.Since(started) > time.Minute {
				retry = time.Second
			}
			s.log.Warn("slack: socket mode connection ended", "err", err, "retry_in", retry)
			// Waiting without the lease lets another replica try its luck.
			if sleepCtx(ctx, retry) != nil {
				return nil
			}
			retry = min(2*retry, time.Minute)
		}
	}
	return nil
}

// errLeaseLost ends a connection whose lease another replica took over.
var errLeaseLost = errors.New("slack: socket mode lease lost")

// hold runs one Socket Mode client while the lease is renewed.
func (s *Socket) hold(ctx context.Context, sink connectors.Sink, lease store.Lease) error {
	ctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel(nil)
		wg.Wait() // the client, the renewer and every handler have stopped
	}()
	wg.Go(func() { s.renew(ctx, lease, cancel) })

	client := socketmode.New(s.api, socketmode.OptionLog(discardLog{}))
	runErr := make(chan error, 1)
	wg.Go(func() { runErr <- client.RunContext(ctx) })

	sem := make(chan struct{}, socketWorkers)
	for {
		select {
		case <-ctx.Done():
			if cause := context.Cause(ctx); !errors.Is(cause, context.Canceled) {
				return cause
			}
			return nil
		case err := <-runErr:
			if ctx.Err() != nil {
				return context.Cause(ctx)
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

// renew keeps the lease until ctx ends; when the lease is lost (another
// replica took it) or cannot be confirmed before it expires, the
// connection is ended through cancel.
func (s *Socket) renew(ctx context.Context, lease store.Lease, cancel context.CancelCauseFunc) {
	name := LeaseName(s.name)
	expires := lease.ExpiresAt
	for {
		if sleepCtx(ctx, s.ttl/3) != nil {
			return
		}
		l, err := s.st.RenewLease(ctx, name, lease.Holder, lease.Token, s.ttl)
		switch {
		case err == nil:
			expires = l.ExpiresAt
		case errors.Is(err, store.ErrLeaseHeld):
			cancel(errLeaseLost)
			return
		case ctx.Err() != nil:
			return
		default:
			s.log.Warn("slack: lease renewal failed", "err", err)
			if !s.clock().Before(expires) {
				cancel(fmt.Errorf("%w: renewal failing since it expired: %v", errLeaseLost, err))
				return
			}
		}
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
