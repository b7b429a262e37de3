package connectortest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
)

// Sink records what a channel delivers. Fail makes the next deliveries fail
// as a hub that cannot store them would.
type Sink struct {
	mu          sync.Mutex
	msgs        []connectors.Message
	quarantined []connectors.Message
	fail        error
}

// Deliver implements connectors.Sink.
func (s *Sink) Deliver(ctx context.Context, m connectors.Message) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return "", s.fail
	}
	s.msgs = append(s.msgs, m)
	return connectors.MessageID(m.Channel, m.ProviderID), nil
}

// Quarantine implements connectors.Quarantiner: the message is kept
// aside (Quarantined), never delivered.
func (s *Sink) Quarantine(ctx context.Context, m connectors.Message, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.quarantined = append(s.quarantined, m)
	return nil
}

// Quarantined returns what was quarantined so far.
func (s *Sink) Quarantined() []connectors.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]connectors.Message(nil), s.quarantined...)
}

// Fail makes deliveries fail with err (nil: succeed again).
func (s *Sink) Fail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

// Messages returns what was delivered so far.
func (s *Sink) Messages() []connectors.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]connectors.Message(nil), s.msgs...)
}

// Harness describes one channel under test. Build it around the Sink the
// kit passes in.
type Harness struct {
	// Channel is the channel name the harness was built with.
	Channel string
	// Inject makes the provider side send one inbound message whose
	// provider-side identity is key (the same key means the same provider
	// message, e.g. a retried webhook). It returns nil when the provider
	// was told the message was taken (a 2xx), an error when the provider was
	// told to retry or was refused. Inject returns after the channel
	// finished handling it (synchronous webhooks) or the kit waits up to
	// Wait for a Source to deliver it.
	Inject func(ctx context.Context, key, text string) error
	// Wait bounds how long the kit waits for a delivery (default 5s).
	Wait time.Duration
	// Sender, when the channel sends, and a recipient it can reach.
	Sender connectors.Sender
	To     connectors.Identity
	// Source, when the channel pulls (its Run is started by the kit).
	Source connectors.Source
	// Region is the default phone region used to check normalisation.
	Region string
}

// Run checks a channel. build is called once per check with a fresh Sink
// (and once up front, to see which abilities the channel has: checks of an
// ability the channel lacks are not run).
func Run(t *testing.T, build func(t *testing.T, sink *Sink) Harness) {
	probe := build(t, &Sink{})
	t.Run("DeliversValidMessages", func(t *testing.T) {
		sink := &Sink{}
		h := start(t, build, sink)
		if err := h.Inject(t.Context(), "kit-1", "hello from the conformance kit"); err != nil {
			t.Fatalf("inject: %v", err)
		}
		m := waitMessages(t, h, sink, 1)[0]
		if m.Channel != h.Channel {
			t.Errorf("Channel = %q, want %q", m.Channel, h.Channel)
		}
		if m.ProviderID == "" {
			t.Error("ProviderID is empty: redeliveries could not be deduplicated")
		}
		if len(m.Identities) == 0 {
			t.Error("no sender identity")
		}
		for _, id := range m.Identities {
			if _, err := connectors.Normalize(id, h.Region); err != nil {
				t.Errorf("identity %s does not normalise: %v", id.Key(), err)
			}
		}
		if err := m.Validate(1 << 20); err != nil {
			t.Errorf("message is not valid: %v", err)
		}
		if m.Text == "" && len(m.Attachments) == 0 && len(m.Fields) == 0 {
			t.Error("message carries no content")
		}
	})
	t.Run("RedeliveryKeepsProviderID", func(t *testing.T) {
		sink := &Sink{}
		h := start(t, build, sink)
		for i := 0; i < 3; i++ {
			_ = h.Inject(t.Context(), "kit-same", "the same provider message")
		}
		if err := h.Inject(t.Context(), "kit-other", "another message"); err != nil {
			t.Fatalf("inject: %v", err)
		}
		ms := waitMessages(t, h, sink, 2)
		ids := map[string]bool{}
		for _, m := range ms {
			ids[connectors.MessageID(m.Channel, m.ProviderID)] = true
		}
		if len(ids) != 2 {
			t.Fatalf("3 deliveries of one provider message and 1 of another gave %d distinct message ids, want 2", len(ids))
		}
	})
	// A pulling channel retries by itself; the check is for push channels,
	// whose provider must be told to retry.
	if probe.Source == nil {
		t.Run("SinkFailureIsReported", func(t *testing.T) {
			sink := &Sink{}
			h := start(t, build, sink)
			sink.Fail(errors.New("connectortest: store unavailable"))
			if err := h.Inject(t.Context(), "kit-fail", "must be retried"); err == nil {
				t.Fatal("the provider was told the message was taken although the hub could not store it")
			}
			sink.Fail(nil)
			if err := h.Inject(t.Context(), "kit-fail", "must be retried"); err != nil {
				t.Fatalf("retry after recovery: %v", err)
			}
			waitMessages(t, h, sink, 1)
		})
	}
	if probe.Sender == nil {
		return
	}
	t.Run("SendReturnsProviderID", func(t *testing.T) {
		sink := &Sink{}
		h := start(t, build, sink)
		res, err := h.Sender.Send(t.Context(), connectors.Outgoing{EntryID: "o_kit", ConversationID: "v_kit", CustomerID: "c_kit",
			Channel: h.Channel, To: h.To, Text: "a reply from the conformance kit"})
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		if res.ProviderID == "" {
			t.Error("Send returned no provider id: delivery reports could not find the message")
		}
	})
}

func start(t *testing.T, build func(t *testing.T, sink *Sink) Harness, sink *Sink) Harness {
	t.Helper()
	h := build(t, sink)
	if h.Wait <= 0 {
		h.Wait = 5 * time.Second
	}
	if h.Source != nil {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- h.Source.Run(ctx, sink) }()
		t.Cleanup(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("Source.Run did not return within 10s of its context being cancelled")
			}
		})
	}
	return h
}

func waitMessages(t *testing.T, h Harness, sink *Sink, n int) []connectors.Message {
	t.Helper()
	deadline := time.Now().Add(h.Wait)
	for {
		ms := sink.Messages()
		if len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d message(s) delivered within %s, want %d", len(ms), h.Wait, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
