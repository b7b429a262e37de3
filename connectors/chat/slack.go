package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
)

// profileTimeout bounds the users.info lookup of an inbound event: Slack
// wants an answer within 3 seconds, and a message without the profile email
// is still worth keeping (the slack identity alone is verified).
const profileTimeout = 1500 * time.Millisecond

// Channel is one configured Slack channel. It serves the Events API route
// (connectors.Router), sends replies (connectors.Sender) and checks its
// credentials (connectors.Tester). In mode socket, Socket returns the
// connectors.Source that holds the Socket Mode connection.
type Channel struct {
	name  string
	s     Settings
	env   connectors.Env
	api   *slack.Client
	log   *slog.Logger
	clock func() time.Time
	users *userCache
	// sleep waits out a Retry-After; replaced in tests only to observe waits.
	sleep func(ctx context.Context, d time.Duration) error

	botMu    sync.Mutex
	botUser  string // the app's own bot user, from settings or auth.test
	botTried time.Time

	socket *Socket
}

var (
	_ connectors.Router       = (*Channel)(nil)
	_ connectors.Sender       = (*Channel)(nil)
	_ connectors.Tester       = (*Channel)(nil)
	_ connectors.LeasedSource = (*Socket)(nil)
)

// New builds a Slack channel from its config section.
func New(cfg config.Channel, env connectors.Env) (*Channel, error) {
	s, err := LoadSettings(cfg)
	if err != nil {
		return nil, err
	}
	if env.Name == "" {
		env.Name = cfg.Name
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	if env.Clock == nil {
		env.Clock = time.Now
	}
	opts := []slack.Option{slack.OptionHTTPClient(&http.Client{Timeout: 20 * time.Second})}
	if s.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(s.APIURL))
	}
	if s.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(s.AppToken))
	}
	c := &Channel{name: env.Name, s: s, env: env, api: slack.New(s.BotToken, opts...),
		log: env.Logger, clock: env.Clock, botUser: s.BotUserID, sleep: connectors.Sleep,
		users: newUserCache(s.UserCacheTTL.D(), env.Clock)}
	if s.Mode == ModeSocket {
		c.socket = &Socket{Channel: c, ttl: s.LeaseTTL.D()}
	}
	return c, nil
}

// Socket is the Socket Mode source of a channel in mode socket, nil otherwise.
func (c *Channel) Socket() *Socket { return c.socket }

// Settings returns the channel's settings (secrets included: never log them).
func (c *Channel) Settings() Settings { return c.s }

// Routes implements connectors.Router: the Events API endpoint, when a
// signing secret is configured.
func (c *Channel) Routes() []connectors.Route {
	if c.s.SigningSecret == "" {
		return nil
	}
	return []connectors.Route{{Pattern: "POST /webhooks/slack/{channel}", Handler: http.HandlerFunc(c.serveEvents)},
		{Pattern: "POST /webhooks/slack/{channel}/interactivity", Handler: http.HandlerFunc(c.serveInteractivity)}}
}

// signedBody reads a request's body (at most MaxBodyBytes: 413 beyond)
// and checks its Slack signature (401 when bad, logged as what refused);
// ok is false when it has answered already.
func (c *Channel) signedBody(w http.ResponseWriter, r *http.Request, what string) (body []byte, ok bool) {
	limit := c.s.MaxBodyBytes
	if r.ContentLength > limit {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "cannot read request body", http.StatusBadRequest)
		return nil, false
	}
	if err := c.verify(r.Header, body); err != nil {
		c.log.Warn("slack: "+what+" refused", "reason", err.Error(), "remote", r.RemoteAddr)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// serveEvents is the Events API webhook. It answers 2xx only once every
// message of the request is durable, so Slack's retries cover any failure.
func (c *Channel) serveEvents(w http.ResponseWriter, r *http.Request) {
	body, ok := c.signedBody(w, r, "request")
	if !ok {
		return
	}
	res, err := c.process(r.Context(), c.env.Sink, body)
	switch {
	case errors.Is(err, ErrMalformed):
		c.log.Warn("slack: malformed event", "err", err)
		http.Error(w, "malformed event", http.StatusBadRequest)
	case err != nil:
		// Slack retries (X-Slack-Retry-Num); the retry lands on the same id.
		c.log.Error("slack: event not stored; Slack will retry", "err", err, "event_id", res.EventID,
			"retry", r.Header.Get("X-Slack-Retry-Num"))
		http.Error(w, "event not stored", http.StatusInternalServerError)
	case res.Type == typeURLVerification:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		io.WriteString(w, res.Challenge)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// verify checks the v0 signature of a request (slack-go refuses timestamps
// more than 5 minutes off as well).
func (c *Channel) verify(h http.Header, body []byte) error {
	sv, err := slack.NewSecretsVerifier(h, c.s.SigningSecret)
	if err != nil {
		return fmt.Errorf("signature headers: %w", err)
	}
	if _, err := sv.Write(body); err != nil {
		return err
	}
	return sv.Ensure()
}

// process handles one Events API body (from a webhook or a Socket Mode
// envelope): it delivers what it records into sink and returns nil only
// once that is durable, or when the body has nothing to record.
func (c *Channel) process(ctx context.Context, sink connectors.Sink, body []byte) (parsed, error) {
	p, err := parseBody(body, c.s.TeamID)
	if err != nil {
		return p, err
	}
	if p.Type != typeEventCallback {
		return p, nil
	}
	if c.s.TeamID != "" && p.TeamID != "" && p.TeamID != c.s.TeamID {
		c.log.Warn("slack: event of another workspace dropped", "team", p.TeamID, "event_id", p.EventID)
		return p, nil
	}
	if p.Event == nil {
		c.log.Debug("slack: event ignored", "reason", p.Ignored, "event_id", p.EventID)
		return p, nil
	}
	ev := p.Event
	// One deadline for both lookups keeps the answer inside Slack's window.
	lctx, cancel := context.WithTimeout(ctx, profileTimeout)
	defer cancel()
	if bot := c.botUserID(lctx); bot != "" && ev.User == bot {
		c.log.Debug("slack: own message ignored", "event_id", p.EventID)
		return p, nil
	}
	prof := c.profile(lctx, ev.User)
	if prof.IsBot {
		c.log.Debug("slack: bot user ignored", "event_id", p.EventID)
		return p, nil
	}
	msg := toMessage(c.name, ev, prof, c.clock())
	c.fetchFiles(ctx, ev, &msg)
	if _, err := sink.Deliver(ctx, msg); err != nil {
		if errors.Is(err, connectors.ErrInvalid) {
			// Retrying cannot make it valid, and failed deliveries count
			// towards Slack disabling the app's event subscription.
			c.log.Warn("slack: event refused by the hub", "event_id", p.EventID, "err", err)
			return p, nil
		}
		return p, fmt.Errorf("slack: deliver %s: %w", msg.ProviderID, err)
	}
	return p, nil
}

// botUserID is the app's own bot user (from settings or auth.test, asked
// once successfully). "" when unknown: bot_id still filters our replies.
func (c *Channel) botUserID(ctx context.Context) string {
	c.botMu.Lock()
	defer c.botMu.Unlock()
	if c.botUser != "" || c.clock().Sub(c.botTried) < time.Minute {
		return c.botUser
	}
	c.botTried = c.clock()
	res, err := c.api.AuthTestContext(ctx)
	if err != nil {
		c.log.Warn("slack: auth.test failed; own messages are recognised by bot_id only", "err", err)
		return ""
	}
	c.botUser = res.UserID
	return c.botUser
}

// profile returns the cached users.info profile of user, fetching it when
// missing or stale. A failed lookup yields an empty profile (not cached).
func (c *Channel) profile(ctx context.Context, user string) profile {
	if p, ok := c.users.get(user); ok {
		return p
	}
	u, err := c.api.GetUserInfoContext(ctx, user)
	if err != nil {
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && se.Err == "user_not_found" {
			c.users.put(user, profile{})
		}
		c.log.Warn("slack: users.info failed; message kept without profile", "user", user, "err", err)
		return profile{}
	}
	p := profile{IsBot: u.IsBot || u.Profile.BotID != "", Avatar: u.Profile.Image72}
	for _, n := range []string{u.Profile.DisplayName, u.Profile.RealName, u.RealName, u.Name} {
		if strings.TrimSpace(n) != "" {
			p.Name = strings.TrimSpace(n)
			break
		}
	}
	if email := strings.TrimSpace(u.Profile.Email); email != "" {
		if id, err := connectors.Normalize(connectors.Identity{Type: connectors.Email, Value: email}, ""); err == nil {
			p.Email = id.Value
		}
	}
	c.users.put(user, p)
	return p
}

// Test implements connectors.Tester with auth.test.
func (c *Channel) Test(ctx context.Context) (string, error) {
	res, err := c.api.AuthTestContext(ctx)
	if err != nil {
		return "", fmt.Errorf("slack: auth.test: %w", err)
	}
	c.botMu.Lock()
	if c.botUser == "" {
		c.botUser = res.UserID
	}
	c.botMu.Unlock()
	report := fmt.Sprintf("slack: authenticated to team %q (%s) as bot user %q (%s)", res.Team, res.TeamID, res.User, res.UserID)
	if c.s.TeamID != "" && res.TeamID != c.s.TeamID {
		return report, fmt.Errorf("slack: the bot token belongs to team %s, but team_id is %s", res.TeamID, c.s.TeamID)
	}
	return report, nil
}

// userCache keeps users.info profiles in memory for a while. It is per
// replica on purpose: profile emails are personal data, and a copy in the
// store would outlive a customer's erasure.
type userCache struct {
	mu    sync.Mutex
	ttl   time.Duration
	clock func() time.Time
	m     map[string]cachedProfile
}

type cachedProfile struct {
	p  profile
	at time.Time
}

const maxCachedUsers = 50000

func newUserCache(ttl time.Duration, clock func() time.Time) *userCache {
	return &userCache{ttl: ttl, clock: clock, m: map[string]cachedProfile{}}
}

func (u *userCache) get(user string) (profile, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	e, ok := u.m[user]
	if !ok || u.clock().Sub(e.at) >= u.ttl {
		return profile{}, false
	}
	return e.p, true
}

func (u *userCache) put(user string, p profile) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.clock()
	if len(u.m) >= maxCachedUsers {
		for k, e := range u.m {
			if now.Sub(e.at) >= u.ttl || len(u.m) >= maxCachedUsers {
				delete(u.m, k)
			}
		}
	}
	u.m[user] = cachedProfile{p: p, at: now}
}
