package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/plugins/sdk"
)

// version of this plugin.
const version = "1.0.0"

// Kind is the identity kind of a Telegram user.
const Kind = "telegram"

type channel struct {
	cfg     sdk.Config
	log     *slog.Logger
	token   string
	base    string
	mode    string
	timeout int
	secret  string
	http    *http.Client

	mu   sync.Mutex
	host sdk.Host
}

func (c *channel) Describe() sdk.Description {
	return sdk.Description{Name: "telegram", Version: version,
		Identities: []sdk.IdentityKind{{Kind: Kind, Verified: true}},
		Routes:     []sdk.Route{{Method: "POST", Path: "/update"}},
		// One getUpdates consumer (or setWebhook caller) across replicas;
		// webhook requests are served on every replica.
		RunOnce: true}
}

func (c *channel) Configure(ctx context.Context, cfg sdk.Config) error {
	s := cfg.Settings
	c.cfg, c.log = cfg, cfg.Logger
	c.mu.Lock()
	c.host = cfg.Host
	c.mu.Unlock()
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	c.token = strings.TrimSpace(s["bot_token"])
	if c.token == "" {
		errs = append(errs, errors.New("bot_token is required"))
	}
	c.base = strings.TrimRight(s["api_base_url"], "/")
	if c.base == "" {
		c.base = "https://api.telegram.org"
	}
	if !strings.HasPrefix(c.base, "https://") && !strings.HasPrefix(c.base, "http://") {
		errs = append(errs, fmt.Errorf("api_base_url %q is not an http(s) URL", c.base))
	}
	c.mode = s["mode"]
	switch c.mode {
	case "":
		c.mode = "polling"
	case "polling", "webhook":
	default:
		errs = append(errs, fmt.Errorf("mode %q is not polling or webhook", c.mode))
	}
	c.timeout = 25
	if v := s["poll_timeout"]; v != "" {
		// 0 would be short polling: a request after request loop while idle.
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			errs = append(errs, fmt.Errorf("poll_timeout %q is not 1..50 seconds", v))
		}
		c.timeout = n
	}
	c.secret = s["webhook_secret"]
	switch {
	case c.mode == "webhook" && len(c.secret) < 16:
		errs = append(errs, errors.New("webhook_secret of at least 16 characters is required in webhook mode"))
	case len(c.secret) > 256 || strings.IndexFunc(c.secret, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) >= 0:
		// Telegram's setWebhook refuses anything else, which would only
		// show later as a restart loop.
		errs = append(errs, errors.New("webhook_secret may only contain A-Z, a-z, 0-9, _ and - (at most 256 characters)"))
	}
	c.http = &http.Client{Timeout: time.Duration(c.timeout+15) * time.Second}
	return errors.Join(errs...)
}

// ---- Bot API -------------------------------------------------------------

type user struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Username  string `json:"username"`
}

type chat struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
}

type message struct {
	MessageID int64  `json:"message_id"`
	From      *user  `json:"from"`
	Chat      chat   `json:"chat"`
	Date      int64  `json:"date"`
	Text      string `json:"text"`
	Caption   string `json:"caption"`
	Photo     []any  `json:"photo"`
	Document  any    `json:"document"`
	Sticker   any    `json:"sticker"`
	Voice     any    `json:"voice"`
}

type update struct {
	UpdateID int64    `json:"update_id"`
	Message  *message `json:"message"`
}

// apiError is a Bot API failure. Retryable ones are 429 and 5xx.
type apiError struct {
	Code        int
	Description string
	RetryAfter  time.Duration
}

func (e *apiError) Error() string {
	return fmt.Sprintf("telegram: %d %s", e.Code, e.Description)
}

// call invokes a Bot API method with JSON parameters. The token is part of
// the URL, so errors never include the URL.
func (c *channel) call(ctx context.Context, method string, params, result any) error {
	body, err := json.Marshal(params)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/bot"+c.token+"/"+method, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("telegram: %s: bad api_base_url", method)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap() // drop the URL (it holds the token)
		}
		return fmt.Errorf("telegram: %s: %v", method, err)
	}
	defer resp.Body.Close()
	var a struct {
		OK          bool            `json:"ok"`
		Result      json.RawMessage `json:"result"`
		ErrorCode   int             `json:"error_code"`
		Description string          `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(&a); err != nil {
		return &apiError{Code: resp.StatusCode, Description: "unreadable answer: " + err.Error()}
	}
	if !a.OK {
		code := a.ErrorCode
		if code == 0 {
			code = resp.StatusCode
		}
		return &apiError{Code: code, Description: a.Description, RetryAfter: time.Duration(a.Parameters.RetryAfter) * time.Second}
	}
	if result != nil {
		return json.Unmarshal(a.Result, result)
	}
	return nil
}

func retryable(err error) bool {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Code == 429 || ae.Code >= 500
	}
	return true // transport errors
}

// ---- inbound ---------------------------------------------------------------

func (c *channel) Run(ctx context.Context, host sdk.Host) error {
	c.mu.Lock()
	c.host = host
	c.mu.Unlock()
	if c.mode == "webhook" {
		return c.runWebhook(ctx)
	}
	// A webhook left from webhook mode makes getUpdates fail with 409.
	if err := c.call(ctx, "deleteWebhook", map[string]any{}, nil); err != nil && !retryable(err) {
		return err
	}
	return c.poll(ctx, host)
}

// poll long-polls getUpdates. offset 0 asks for every unconfirmed update;
// it moves past an update only once the hub acknowledged (or refused for
// good) every update before it, and the next call confirms them to
// Telegram. A crash before that call redelivers them.
func (c *channel) poll(ctx context.Context, host sdk.Host) error {
	var offset int64
	backoff := time.Second
	for ctx.Err() == nil {
		var ups []update
		err := c.call(ctx, "getUpdates", map[string]any{"offset": offset, "limit": 100, "timeout": c.timeout,
			"allowed_updates": []string{"message"}}, &ups)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !retryable(err) {
				var ae *apiError
				if errors.As(err, &ae) && ae.Code == 401 {
					return fmt.Errorf("the bot token was refused: %w", err)
				}
			}
			wait := backoff
			var ae *apiError
			if errors.As(err, &ae) && ae.RetryAfter > 0 {
				wait = ae.RetryAfter
			}
			c.log.Warn("getUpdates failed; retrying", "err", err, "in", wait)
			if !sleep(ctx, wait) {
				return nil
			}
			backoff = min(backoff*2, time.Minute)
			continue
		}
		backoff = time.Second
		if next, ok := c.deliverAll(ctx, host, ups); ok {
			if next > offset {
				offset = next
			}
		} else {
			// Something was not acknowledged: ask again from there after a pause.
			offset = next
			if !sleep(ctx, time.Second) {
				return nil
			}
		}
	}
	return nil
}

// deliverAll delivers a batch concurrently (the SDK pipelines them on one
// stream) and returns the offset that confirms the acknowledged prefix,
// and whether the whole batch was taken.
func (c *channel) deliverAll(ctx context.Context, host sdk.Host, ups []update) (int64, bool) {
	errs := make([]error, len(ups))
	var wg sync.WaitGroup
	for i, u := range ups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.deliver(ctx, host, u)
		}()
	}
	wg.Wait()
	var next int64
	for i, u := range ups {
		if sdk.Retryable(errs[i]) {
			c.log.Warn("update not acknowledged; it will be redelivered", "update_id", u.UpdateID, "err", errs[i])
			return u.UpdateID, false
		}
		next = u.UpdateID + 1
	}
	return next, true
}

// deliver hands one update to the hub. nil or a permanent refusal (logged)
// mean the update is done with.
func (c *channel) deliver(ctx context.Context, host sdk.Host, u update) error {
	m, ok := toMessage(u)
	if !ok {
		return nil // not a customer message (a bot, a service message)
	}
	_, err := host.Deliver(ctx, m)
	if err != nil && !sdk.Retryable(err) {
		c.log.Error("the hub refused a Telegram message; skipping it", "update_id", u.UpdateID, "err", err)
	}
	return err
}

// toMessage maps a Telegram update to a hub message.
func toMessage(u update) (sdk.Message, bool) {
	m := u.Message
	if m == nil || m.From == nil || m.From.IsBot {
		return sdk.Message{}, false
	}
	text := m.Text
	if text == "" {
		text = m.Caption
	}
	var kind string
	switch {
	case len(m.Photo) > 0:
		kind = "photo"
	case m.Document != nil:
		kind = "document"
	case m.Sticker != nil:
		kind = "sticker"
	case m.Voice != nil:
		kind = "voice message"
	}
	if text == "" {
		if kind == "" {
			return sdk.Message{}, false
		}
		text = "[" + kind + "]"
	}
	name := strings.TrimSpace(m.From.FirstName + " " + m.From.LastName)
	out := sdk.Message{
		ProviderID: fmt.Sprintf("%d:%d", m.Chat.ID, m.MessageID),
		ThreadKey:  fmt.Sprintf("chat:%d", m.Chat.ID),
		Identities: []sdk.Identity{{Type: Kind, Value: strconv.FormatInt(m.From.ID, 10), Verified: true}},
		SenderName: name,
		Text:       text,
		// Telegram dates are whole seconds: the message id (increasing
		// within a chat) orders messages of the same second.
		OccurredAt: time.Unix(m.Date, m.MessageID%int64(time.Second)),
	}
	if m.From.Username != "" {
		out.Fields = append(out.Fields, sdk.Field{Name: "username", Value: "@" + m.From.Username})
	}
	if kind != "" {
		out.Fields = append(out.Fields, sdk.Field{Name: "attachment", Value: kind + " (not downloaded)"})
	}
	if m.Chat.Type != "private" {
		out.Fields = append(out.Fields, sdk.Field{Name: "chat", Value: m.Chat.Type})
	}
	return out, true
}

func (c *channel) runWebhook(ctx context.Context) error {
	if c.cfg.WebhookURL == "" {
		return errors.New("webhook mode needs the hub's http.public_url (the plugin got no webhook URL)")
	}
	for {
		err := c.call(ctx, "setWebhook", map[string]any{"url": c.cfg.WebhookURL + "/update", "secret_token": c.secret,
			"allowed_updates": []string{"message"}}, nil)
		if err == nil {
			break
		}
		if !retryable(err) {
			return fmt.Errorf("setWebhook: %w", err)
		}
		c.log.Warn("setWebhook failed; retrying", "err", err)
		if !sleep(ctx, 5*time.Second) {
			return nil
		}
	}
	<-ctx.Done()
	return nil
}

// ServeHTTP takes POST /update in webhook mode. Telegram retries a
// delivery until it gets a 2xx, so 2xx is sent only once the hub has the
// message (or refused it for good).
func (c *channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.mode != "webhook" {
		http.Error(w, "webhook mode is off", http.StatusNotFound)
		return
	}
	got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
	if subtle.ConstantTimeCompare([]byte(got), []byte(c.secret)) != 1 {
		http.Error(w, "bad secret token", http.StatusUnauthorized)
		return
	}
	var u update
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&u); err != nil {
		http.Error(w, "not a Telegram update", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	host := c.host
	c.mu.Unlock()
	if host == nil {
		http.Error(w, "not running yet", http.StatusServiceUnavailable)
		return
	}
	if err := c.deliver(r.Context(), host, u); sdk.Retryable(err) {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// ---- outbound --------------------------------------------------------------

// maxUnits is Telegram's limit on one message's text, counted in UTF-16
// code units (an emoji outside the BMP counts twice).
const maxUnits = 4096

func (c *channel) Send(ctx context.Context, out sdk.Outgoing) (sdk.SendResult, error) {
	chatID, err := chatOf(out)
	if err != nil {
		return sdk.SendResult{}, fmt.Errorf("%w: %v", sdk.ErrPermanent, err)
	}
	text := strings.TrimSpace(out.Text)
	if text == "" {
		return sdk.SendResult{}, fmt.Errorf("%w: empty reply", sdk.ErrPermanent)
	}
	var first string
	parts := split(text, maxUnits)
	for i, part := range parts {
		params := map[string]any{"chat_id": chatID, "text": part}
		if inChat, msgID, ok := strings.Cut(out.InReplyTo, ":"); ok && i == 0 && inChat == strconv.FormatInt(chatID, 10) {
			if id, err := strconv.ParseInt(msgID, 10, 64); err == nil {
				params["reply_parameters"] = map[string]any{"message_id": id, "allow_sending_without_reply": true}
			}
		}
		var sent message
		if err := c.call(ctx, "sendMessage", params, &sent); err != nil {
			if i > 0 {
				// The hub retries a whole reply: resending would repeat
				// the parts already in the chat. Say what went out instead.
				return sdk.SendResult{}, fmt.Errorf("%w: sent %d of %d parts (first %s); part %d failed: %v", sdk.ErrPermanent, i, len(parts), first, i+1, err)
			}
			if !retryable(err) {
				return sdk.SendResult{}, fmt.Errorf("%w: %v", sdk.ErrPermanent, err)
			}
			return sdk.SendResult{}, err
		}
		if first == "" {
			first = fmt.Sprintf("%d:%d", sent.Chat.ID, sent.MessageID)
		}
	}
	return sdk.SendResult{ProviderID: first, Status: "sent"}, nil
}

// chatOf is the chat a reply goes to: the conversation's chat, else the
// user's private chat (whose id is the user id).
func chatOf(out sdk.Outgoing) (int64, error) {
	if s, ok := strings.CutPrefix(out.ThreadKey, "chat:"); ok {
		return strconv.ParseInt(s, 10, 64)
	}
	if out.To.Type != Kind {
		return 0, fmt.Errorf("recipient %s:%s is not a Telegram user", out.To.Type, out.To.Value)
	}
	id, err := strconv.ParseInt(out.To.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("recipient %q is not a Telegram user id", out.To.Value)
	}
	return id, nil
}

// split cuts s into pieces of at most n UTF-16 code units, never inside a
// character.
func split(s string, n int) []string {
	var out []string
	start, units := 0, 0
	for i, r := range s {
		u := 1
		if r > 0xFFFF {
			u = 2
		}
		if units+u > n {
			out = append(out, s[start:i])
			start, units = i, 0
		}
		units += u
	}
	return append(out, s[start:])
}

// Test checks the token with getMe.
func (c *channel) Test(ctx context.Context) (string, error) {
	var me user
	if err := c.call(ctx, "getMe", map[string]any{}, &me); err != nil {
		return "", err
	}
	return fmt.Sprintf("bot @%s (id %d) answers; mode %s", me.Username, me.ID, c.mode), nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
