package chat

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// socketEvent is what slack-go's Socket Mode client hands the channel for
// one WebSocket message (its parseEvent): an events_api request it could
// parse, or the raw message as ErrorBadMessage.
func socketEvent(raw []byte) socketmode.Event {
	var req socketmode.Request
	if err := json.Unmarshal(raw, &req); err == nil && req.Type == socketmode.RequestTypeEventsAPI {
		if ev, err := slackevents.ParseEvent(req.Payload, slackevents.OptionNoVerifyToken()); err == nil {
			return socketmode.Event{Type: socketmode.EventTypeEventsAPI, Data: ev, Request: &req}
		}
	}
	return socketmode.Event{Type: socketmode.EventTypeErrorBadMessage, Data: &socketmode.ErrorBadMessage{Cause: errors.New("bad"), Message: raw}}
}

// FuzzSocketEnvelope feeds arbitrary Socket Mode envelopes through what the
// channel does with them (eventsRequest, then the events parser): an
// envelope is not ours, or it produces a valid message, a reason to ignore
// it, or an error wrapping ErrMalformed; never a panic.
func FuzzSocketEnvelope(f *testing.F) {
	for _, body := range []string{
		`{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"message","channel":"C1","user":"U1","text":"hi","ts":"1.000001"}}`,
		`{"type":"event_callback","team_id":"T1","event":{"type":"message","channel":"D1","channel_type":"im","user":"U1","ts":"1.1","thread_ts":"1.0","files":[{"id":"F1","name":"a.png","size":5}]}}`,
		`{"type":"event_callback","team_id":"T1","event":{"type":"message","bot_id":"B1","channel":"C1","ts":"1.1"}}`,
		`{"type":"event_callback","team_id":"T1","event":{"type":"reaction_added"}}`,
		`{"type":"event_callback","event":"not an object"}`,
		`{"type":"url_verification","challenge":"x"}`,
		`{}`, `null`, `x`,
	} {
		env, _ := json.Marshal(map[string]any{"type": "events_api", "envelope_id": "env-1", "payload": json.RawMessage(body),
			"accepts_response_payload": false, "retry_attempt": 0})
		f.Add(env)
	}
	f.Add([]byte(`{"type":"events_api","envelope_id":"","payload":{"type":"event_callback"}}`))
	f.Add([]byte(`{"type":"events_api","envelope_id":"e","payload":"a string"}`))
	f.Add([]byte(`{"type":"hello","num_connections":1}`))
	f.Add([]byte(`{"type":"disconnect","reason":"refresh_requested"}`))
	f.Add([]byte(`{"type":"slash_commands","envelope_id":"e","payload":{}}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, ok := eventsRequest(socketEvent(raw))
		if !ok {
			return // not an events_api request: nothing to record or acknowledge
		}
		if req.Type != socketmode.RequestTypeEventsAPI {
			t.Fatalf("request of type %q taken as events_api", req.Type)
		}
		p, err := parseBody(req.Payload, "T1")
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		switch {
		case p.Event != nil:
			if p.Ignored != "" {
				t.Fatalf("event recorded and ignored (%s)", p.Ignored)
			}
			m := toMessage("slack-x", p.Event, profile{}, time.Unix(1, 0))
			if err := m.Validate(1 << 20); err != nil {
				t.Fatalf("recorded message is invalid: %v (%+v)", err, m)
			}
		case p.Ignored != "", p.Type == typeURLVerification && p.Challenge != "":
		default:
			t.Fatalf("envelope %q gives neither a message, a reason to ignore it nor an error: %+v", raw, p)
		}
	})
}
