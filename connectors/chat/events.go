package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
)

// ErrMalformed marks an Events API payload that is not what Slack sends.
var ErrMalformed = errors.New("malformed slack event")

// Envelope types of the Events API.
const (
	typeURLVerification = "url_verification"
	typeEventCallback   = "event_callback"
)

// Kinds of inbound event the channel records.
const (
	kindMessage = "message"
	kindEdit    = "edit"
	kindDelete  = "delete"
)

// Flags on the entries of edits and deletions.
const (
	FlagEdit   = "slack-edit"
	FlagDelete = "slack-delete"
)

// envelope is the outer Events API body (also the payload of a Socket Mode
// events_api request).
type envelope struct {
	Type      string          `json:"type"`
	Challenge string          `json:"challenge"`
	TeamID    string          `json:"team_id"`
	APIAppID  string          `json:"api_app_id"`
	EventID   string          `json:"event_id"`
	EventTime int64           `json:"event_time"`
	Event     json.RawMessage `json:"event"`
}

// rawMessage is the part of a Slack message event (or of the nested
// message/previous_message of message_changed/message_deleted) we read.
type rawMessage struct {
	Type        string      `json:"type"`
	Subtype     string      `json:"subtype"`
	Channel     string      `json:"channel"`
	ChannelType string      `json:"channel_type"`
	User        string      `json:"user"`
	Team        string      `json:"team"`
	UserTeam    string      `json:"user_team"`
	BotID       string      `json:"bot_id"`
	AppID       string      `json:"app_id"`
	Text        string      `json:"text"`
	TS          string      `json:"ts"`
	ThreadTS    string      `json:"thread_ts"`
	DeletedTS   string      `json:"deleted_ts"`
	EventTS     string      `json:"event_ts"`
	Edited      *rawEdit    `json:"edited"`
	Files       []rawFile   `json:"files"`
	Message     *rawMessage `json:"message"`
	Previous    *rawMessage `json:"previous_message"`
}

type rawEdit struct {
	TS string `json:"ts"`
}

type rawFile struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Title    string `json:"title"`
	Mimetype string `json:"mimetype"`
	Size     int64  `json:"size"`
	// The file's content, readable with the bot token (files.go).
	URLPrivate         string `json:"url_private"`
	URLPrivateDownload string `json:"url_private_download"`
}

// event is one customer action parsed from a Slack event, before the
// sender's profile is known.
type event struct {
	Kind        string
	EventID     string
	Team        string // the sender's workspace
	User        string
	Channel     string
	ChannelType string
	TS          string // the message's ts (the edited/deleted one for edits/deletions)
	ThreadTS    string
	ActionTS    string // when the edit/deletion happened
	Text        string
	Files       []rawFile
}

// parsed is the outcome of parsing one request body.
type parsed struct {
	Type      string
	Challenge string
	TeamID    string
	EventID   string
	// Event is set when the body carries something to record; Ignored
	// says why not otherwise (bot message, other event type, ...).
	Event   *event
	Ignored string
}

var (
	channelIDRe = regexp.MustCompile(`^[A-Z0-9]{2,40}$`)
	slackIDRe   = regexp.MustCompile(`^[A-Z0-9]{2,40}$`)
	tsRe        = regexp.MustCompile(`^[0-9]{1,12}\.[0-9]{1,9}$`)
)

// parseBody reads an Events API body. It never panics; an error wraps
// ErrMalformed. Bot messages, messages of the app itself, subtypes that are
// not a customer's words (joins, topic changes) and unfurl-only changes are
// returned with Ignored set.
// defaultTeam is the workspace assumed when an event names none.
func parseBody(body []byte, defaultTeam string) (parsed, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return parsed{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	p := parsed{Type: env.Type, Challenge: env.Challenge, TeamID: env.TeamID, EventID: env.EventID}
	switch env.Type {
	case typeURLVerification:
		if env.Challenge == "" {
			return p, fmt.Errorf("%w: url_verification without challenge", ErrMalformed)
		}
		return p, nil
	case typeEventCallback:
	case "":
		return p, fmt.Errorf("%w: no type", ErrMalformed)
	default:
		p.Ignored = "envelope type " + env.Type
		return p, nil
	}
	if len(env.Event) == 0 {
		return p, fmt.Errorf("%w: event_callback without event", ErrMalformed)
	}
	var m rawMessage
	if err := json.Unmarshal(env.Event, &m); err != nil {
		return p, fmt.Errorf("%w: event: %v", ErrMalformed, err)
	}
	if m.Type != "message" && m.Type != "app_mention" {
		p.Ignored = "event type " + m.Type
		return p, nil
	}
	team := env.TeamID
	if team == "" {
		team = defaultTeam
	}
	ev, why, err := messageEvent(m, team)
	if err != nil {
		return p, err
	}
	if ev == nil {
		p.Ignored = why
		return p, nil
	}
	ev.EventID = env.EventID
	p.Event = ev
	return p, nil
}

// fromBot reports whether a message was written by a bot or an app (the
// hub's own replies come back as events with bot_id set).
func fromBot(m *rawMessage) bool {
	return m.BotID != "" || m.Subtype == "bot_message"
}

func messageEvent(m rawMessage, envTeam string) (*event, string, error) {
	if !channelIDRe.MatchString(m.Channel) {
		return nil, "", fmt.Errorf("%w: message without a valid channel", ErrMalformed)
	}
	ev := &event{Channel: m.Channel, ChannelType: m.ChannelType}
	team := func(x *rawMessage) string {
		for _, t := range []string{x.UserTeam, x.Team, m.UserTeam, m.Team, envTeam} {
			if t != "" {
				return t
			}
		}
		return ""
	}
	var sender *rawMessage
	switch m.Subtype {
	case "", "file_share", "thread_broadcast", "me_message":
		if fromBot(&m) {
			return nil, "bot message", nil
		}
		ev.Kind, sender = kindMessage, &m
		ev.TS, ev.ThreadTS, ev.Text, ev.Files = m.TS, m.ThreadTS, m.Text, m.Files
	case "message_changed":
		n := m.Message
		if n == nil {
			return nil, "", fmt.Errorf("%w: message_changed without message", ErrMalformed)
		}
		if fromBot(n) {
			return nil, "bot message changed", nil
		}
		if n.Edited == nil && (m.Previous == nil || m.Previous.Text == n.Text) {
			// Unfurls, reply counts, reactions summaries: Slack's own bookkeeping.
			return nil, "message changed without an edit", nil
		}
		ev.Kind, sender = kindEdit, n
		ev.TS, ev.ThreadTS, ev.Text = n.TS, n.ThreadTS, n.Text
		ev.ActionTS = m.TS
		if n.Edited != nil && n.Edited.TS != "" {
			ev.ActionTS = n.Edited.TS
		}
	case "message_deleted":
		prev := m.Previous
		if prev == nil {
			return nil, "deleted message unknown", nil
		}
		if fromBot(prev) {
			return nil, "bot message deleted", nil
		}
		ev.Kind, sender = kindDelete, prev
		ev.TS, ev.ThreadTS = m.DeletedTS, prev.ThreadTS
		if ev.TS == "" {
			ev.TS = prev.TS
		}
		ev.ActionTS = m.TS
	default:
		return nil, "subtype " + m.Subtype, nil
	}
	if sender.User == "" {
		return nil, "message without a user", nil
	}
	if !slackIDRe.MatchString(sender.User) {
		return nil, "", fmt.Errorf("%w: user id %q", ErrMalformed, sender.User)
	}
	ev.User = sender.User
	ev.Team = team(sender)
	if ev.Team == "" {
		return nil, "message without a team", nil
	}
	if !slackIDRe.MatchString(ev.Team) {
		return nil, "", fmt.Errorf("%w: team id %q", ErrMalformed, ev.Team)
	}
	if !tsRe.MatchString(ev.TS) {
		return nil, "", fmt.Errorf("%w: message ts %q", ErrMalformed, ev.TS)
	}
	if ev.ThreadTS != "" && !tsRe.MatchString(ev.ThreadTS) {
		return nil, "", fmt.Errorf("%w: thread_ts %q", ErrMalformed, ev.ThreadTS)
	}
	if ev.ActionTS != "" && !tsRe.MatchString(ev.ActionTS) {
		return nil, "", fmt.Errorf("%w: ts %q", ErrMalformed, ev.ActionTS)
	}
	return ev, "", nil
}

// isDM reports whether a channel is a direct or group direct message, where
// people write without threads: the whole DM is one conversation.
func isDM(channel, channelType string) bool {
	switch channelType {
	case "im", "mpim":
		return true
	case "channel", "group":
		return false
	}
	return strings.HasPrefix(channel, "D")
}

// threadKey is the conversation a message belongs to: its thread (the
// thread's root ts), or the DM itself for unthreaded direct messages.
func threadKey(channel, channelType, ts, threadTS string) string {
	switch {
	case threadTS != "":
		return channel + ":" + threadTS
	case isDM(channel, channelType):
		return channel
	default:
		return channel + ":" + ts
	}
}

// parseTS turns a Slack ts ("1700000000.000100") into a time.
func parseTS(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}
	}
	frac = (frac + "000000000")[:9]
	ns, _ := strconv.ParseInt(frac, 10, 64)
	return time.Unix(s, ns).UTC()
}

// profile is what users.info tells about a sender.
type profile struct {
	Email  string
	Name   string
	Avatar string
	IsBot  bool
}

// toMessage builds the hub message of ev, sent by a user with profile p,
// on channel (the configured channel name).
func toMessage(channel string, ev *event, p profile, now time.Time) connectors.Message {
	msg := connectors.Message{
		Channel:    channel,
		ThreadKey:  threadKey(ev.Channel, ev.ChannelType, ev.TS, ev.ThreadTS),
		Identities: []connectors.Identity{{Type: connectors.Slack, Value: ev.Team + ":" + ev.User, Verified: true}},
		SenderName: p.Name,
		ReceivedAt: now,
	}
	if p.Email != "" {
		// users.info shows the address the workspace verified for the
		// account: it links this person to their email history.
		msg.Identities = append(msg.Identities, connectors.Identity{Type: connectors.Email, Value: p.Email, Verified: true})
	}
	msg.Fields = append(msg.Fields, connectors.Field{Name: "slack_channel", Value: ev.Channel})
	if ev.EventID != "" {
		msg.Fields = append(msg.Fields, connectors.Field{Name: "slack_event_id", Value: ev.EventID})
	}
	if p.Avatar != "" {
		msg.Fields = append(msg.Fields, connectors.Field{Name: "avatar", Value: p.Avatar})
		msg.SenderAvatar = p.Avatar
	}
	original := ev.Channel + ":" + ev.TS
	switch ev.Kind {
	case kindMessage:
		msg.ProviderID = original
		msg.OccurredAt = parseTS(ev.TS)
		msg.Text = plainText(ev.Text)
		for _, f := range ev.Files {
			name := f.Name
			if name == "" {
				name = f.Title
			}
			if name == "" {
				name = f.ID
			}
			msg.Attachments = append(msg.Attachments, connectors.Attachment{Name: name, ContentType: f.Mimetype, Size: max(f.Size, 0),
				Omitted: "not downloaded (Slack file " + f.ID + ")"})
		}
	case kindEdit:
		msg.ProviderID = original + ":edit:" + ev.ActionTS
		msg.OccurredAt = parseTS(ev.ActionTS)
		msg.Text = "Edited in Slack: " + plainText(ev.Text)
		msg.Flags = []string{FlagEdit}
		msg.Fields = append(msg.Fields, connectors.Field{Name: "edited_message", Value: original})
	case kindDelete:
		msg.ProviderID = original + ":delete"
		msg.OccurredAt = parseTS(ev.ActionTS)
		msg.Text = "Deleted in Slack: the message sent at " + parseTS(ev.TS).Format(time.RFC3339)
		msg.Flags = []string{FlagDelete}
		msg.Fields = append(msg.Fields, connectors.Field{Name: "deleted_message", Value: original})
	}
	return msg
}

var markupRe = regexp.MustCompile(`<([^<>]*)>`)

// plainText turns Slack mrkdwn markup into text an agent reads: user,
// channel and special mentions, links with labels, and the three escaped
// characters.
func plainText(s string) string {
	s = markupRe.ReplaceAllStringFunc(s, func(tag string) string {
		inner := tag[1 : len(tag)-1]
		target, label, hasLabel := strings.Cut(inner, "|")
		switch {
		case strings.HasPrefix(target, "@"):
			if hasLabel {
				return "@" + strings.TrimPrefix(label, "@")
			}
			return target
		case strings.HasPrefix(target, "#"):
			if hasLabel {
				return "#" + label
			}
			return target
		case strings.HasPrefix(target, "!"):
			if hasLabel {
				return label
			}
			name, _, _ := strings.Cut(target[1:], "^")
			return "@" + name
		case strings.HasPrefix(target, "mailto:"):
			if hasLabel {
				return label
			}
			return strings.TrimPrefix(target, "mailto:")
		case !strings.Contains(target, ":") || strings.ContainsAny(target, " \t\n"):
			return tag // not markup: Slack escapes a literal "<" as &lt;
		case hasLabel && label != target:
			return label + " (" + target + ")"
		default:
			return target
		}
	})
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// Escape makes agent text safe to post as Slack mrkdwn: &, < and > become
// entities, so "<!channel>", "<@U123>" or a crafted "<https://x|label>" in
// a reply are shown as typed and never notify or disguise a link.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
