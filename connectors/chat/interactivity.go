package chat

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/slack-go/slack"

	"github.com/switchboard-hub/switchboard/connectors"
)

// Buttons (connectors.Outgoing.Choices) and their clicks.
//
// A message with choices carries its text as a section and one actions
// block of buttons, each with action_id "choice-VALUE" and the choice's
// value. Slack posts a click to the app's interactivity URL, POST
// /webhooks/slack/{channel}/interactivity, as a form with one field,
// payload (JSON), signed like Events API requests. The click becomes an
// inbound message from the user with the choice's value as its text (a
// survey's score then reaches the hub's answer path like a typed one).

const choicePrefix = "choice-"

func choiceBlocks(text string, choices []connectors.Choice) []slack.Block {
	var buttons []slack.BlockElement
	for _, ch := range choices {
		buttons = append(buttons, slack.NewButtonBlockElement(choicePrefix+ch.Value, ch.Value,
			slack.NewTextBlockObject(slack.PlainTextType, ch.Label, true, false)))
	}
	return []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, Escape(text), false, false), nil, nil),
		slack.NewActionBlock("choices", buttons...),
	}
}

// interaction is the part of a block_actions payload the hub reads.
type interaction struct {
	Type string `json:"type"`
	Team struct {
		ID string `json:"id"`
	} `json:"team"`
	User struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"user"`
	Container struct {
		ChannelID   string `json:"channel_id"`
		MessageTS   string `json:"message_ts"`
		ThreadTS    string `json:"thread_ts"`
		ChannelType string `json:"channel_type"`
	} `json:"container"`
	Channel struct {
		ID string `json:"id"`
	} `json:"channel"`
	Actions []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
		ActionTS string `json:"action_ts"`
	} `json:"actions"`
}

// serveInteractivity takes a button click. Like the events endpoint it
// answers 2xx only once the click is durable; a bad signature is 401 and
// stores nothing.
func (c *Channel) serveInteractivity(w http.ResponseWriter, r *http.Request) {
	body, ok := c.signedBody(w, r, "interaction")
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	var in interaction
	if err != nil || json.Unmarshal([]byte(form.Get("payload")), &in) != nil {
		http.Error(w, "malformed interaction payload", http.StatusBadRequest)
		return
	}
	if in.Type != "block_actions" || len(in.Actions) == 0 || !strings.HasPrefix(in.Actions[0].ActionID, choicePrefix) {
		w.WriteHeader(http.StatusOK) // not ours to record
		return
	}
	if c.s.TeamID != "" && in.Team.ID != c.s.TeamID {
		c.log.Warn("slack: interaction of another workspace dropped", "team", in.Team.ID)
		w.WriteHeader(http.StatusOK)
		return
	}
	a := in.Actions[0]
	channel := in.Container.ChannelID
	if channel == "" {
		channel = in.Channel.ID
	}
	if in.Team.ID == "" || !slackIDRe.MatchString(in.User.ID) || channel == "" || a.ActionTS == "" || a.Value == "" {
		http.Error(w, "malformed interaction payload", http.StatusBadRequest)
		return
	}
	msg := connectors.Message{Channel: c.name,
		ProviderID: channel + ":action:" + a.ActionTS + ":" + in.User.ID,
		ThreadKey:  threadKey(channel, in.Container.ChannelType, in.Container.MessageTS, in.Container.ThreadTS),
		Identities: []connectors.Identity{{Type: connectors.Slack, Value: in.Team.ID + ":" + in.User.ID, Verified: true}},
		SenderName: in.User.Name, Text: a.Value, OccurredAt: parseTS(a.ActionTS), ReceivedAt: c.clock(),
		Fields: []connectors.Field{{Name: "slack_channel", Value: channel}, {Name: "slack_action", Value: a.ActionID}}}
	if _, err := c.env.Sink.Deliver(r.Context(), msg); err != nil {
		if errors.Is(err, connectors.ErrInvalid) {
			http.Error(w, "interaction refused: "+err.Error(), http.StatusBadRequest)
			return
		}
		c.log.Error("slack: interaction not stored", "err", err)
		http.Error(w, "interaction not stored", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}
