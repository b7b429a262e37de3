package chat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/slack-go/slack"

	"github.com/switchboard-hub/switchboard/connectors"
)

// permanentErrors are Web API errors that a retry cannot fix.
var permanentErrors = map[string]bool{
	"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "no_permission": true, "missing_scope": true, "not_allowed_token_type": true,
	"channel_not_found": true, "not_in_channel": true, "is_archived": true, "restricted_action": true,
	"msg_too_long": true, "no_text": true, "invalid_arguments": true, "invalid_thread_ts": true,
	"user_not_found": true, "user_disabled": true, "cannot_dm_bot": true, "ekm_access_denied": true,
	"team_access_not_granted": true, "channel_type_not_supported": true,
}

// Send implements connectors.Sender: chat.postMessage into the thread of
// the conversation (or the DM), with the agent's text escaped; a reply with
// files goes out as one message of the files with the text as its comment
// (upload.go). A 429 is waited out (Retry-After) up to rate_limit_retries
// times; what Slack refuses for good wraps connectors.ErrPermanent.
func (c *Channel) Send(ctx context.Context, out connectors.Outgoing) (connectors.SendResult, error) {
	if strings.TrimSpace(out.Text) == "" && len(out.Attachments) == 0 {
		return connectors.SendResult{}, fmt.Errorf("slack: %w: empty text", connectors.ErrPermanent)
	}
	channel, thread, err := c.target(ctx, out)
	if err != nil {
		return connectors.SendResult{}, err
	}
	if len(out.Attachments) > 0 {
		id, err := c.sendFiles(ctx, out, channel, thread, Escape(out.Text))
		if err != nil {
			return connectors.SendResult{}, err
		}
		return connectors.SendResult{ProviderID: id, Status: "sent"}, nil
	}
	opts := []slack.MsgOption{slack.MsgOptionText(Escape(out.Text), false), slack.MsgOptionParse(false)}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	if len(out.Choices) > 0 && c.s.SigningSecret != "" {
		// Clicks come back to the interactivity route, which needs the
		// signing secret; without it the text alone says how to answer.
		opts = append(opts, slack.MsgOptionBlocks(choiceBlocks(out.Text, out.Choices)...))
	}
	var ch, ts string
	err = c.withRateLimit(ctx, "chat.postMessage", func() error {
		var err error
		ch, ts, err = c.api.PostMessageContext(ctx, channel, opts...)
		return err
	})
	if err != nil {
		return connectors.SendResult{}, err
	}
	if ch == "" {
		ch = channel
	}
	return connectors.SendResult{ProviderID: ch + ":" + ts, Status: "sent"}, nil
}

// target finds where a reply goes: the Slack channel and thread named by
// the conversation's thread key, or, for a conversation that began on
// another channel, a DM with the customer's Slack user.
//
// The thread key is trusted only when the customer's last message
// (InReplyTo, "CHANNEL:TS") was in that Slack channel: a conversation of
// another channel hands over its own thread key, which must never be read
// as a Slack channel id.
func (c *Channel) target(ctx context.Context, out connectors.Outgoing) (channel, thread string, err error) {
	if ch, ts, ok := parseThreadKey(out.ThreadKey); ok && strings.HasPrefix(out.InReplyTo, ch+":") {
		return ch, ts, nil
	}
	if out.To.Type != connectors.Slack {
		return "", "", fmt.Errorf("slack: %w: the customer has no Slack identity to reply to", connectors.ErrPermanent)
	}
	_, user, ok := strings.Cut(out.To.Value, ":")
	if !ok || !slackIDRe.MatchString(user) {
		return "", "", fmt.Errorf("slack: %w: %q is not a slack TEAM:USER identity", connectors.ErrPermanent, out.To.Value)
	}
	err = c.withRateLimit(ctx, "conversations.open", func() error {
		ch, _, _, err := c.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
		if err == nil {
			channel = ch.ID
		}
		return err
	})
	return channel, "", err
}

// parseThreadKey reads a thread key made by threadKey: "CHANNEL:TS" or a DM "CHANNEL".
func parseThreadKey(k string) (channel, ts string, ok bool) {
	channel, ts, threaded := strings.Cut(k, ":")
	if !channelIDRe.MatchString(channel) || threaded && !tsRe.MatchString(ts) {
		return "", "", false
	}
	return channel, ts, true
}

// withRateLimit runs call, waiting out 429s as Slack asks (Retry-After),
// and classifies the final error.
func (c *Channel) withRateLimit(ctx context.Context, method string, call func() error) error {
	for attempt := 0; ; attempt++ {
		err := call()
		if err == nil {
			return nil
		}
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) {
			if attempt >= *c.s.RateLimitRetries || rl.RetryAfter > c.s.MaxRetryAfter.D() {
				// Retryable: the hub's outbound queue tries again with backoff.
				return fmt.Errorf("slack: %s: rate limited (retry after %s)", method, rl.RetryAfter)
			}
			c.log.Info("slack: rate limited; waiting", "method", method, "retry_after", rl.RetryAfter, "attempt", attempt+1)
			if err := c.sleep(ctx, rl.RetryAfter); err != nil {
				return fmt.Errorf("slack: %s: %w", method, err)
			}
			continue
		}
		return classify(method, err)
	}
}

func classify(method string, err error) error {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && permanentErrors[se.Err] {
		return fmt.Errorf("slack: %s: %w: %s", method, connectors.ErrPermanent, se.Err)
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) && sc.Code >= 400 && sc.Code < 500 && sc.Code != http.StatusTooManyRequests && sc.Code != http.StatusRequestTimeout {
		return fmt.Errorf("slack: %s: %w: HTTP %d", method, connectors.ErrPermanent, sc.Code)
	}
	return fmt.Errorf("slack: %s: %w", method, err)
}
