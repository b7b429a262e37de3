package sms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
)

// Route patterns; the hub dispatches them by {channel}.
const (
	WebhookPattern = "POST /webhooks/twilio/{channel}"
	StatusPattern  = "POST /webhooks/twilio/{channel}/status"
)

// Channel is one configured sms channel. It is a connectors.Router,
// connectors.Sender and connectors.Tester.
type Channel struct {
	name   string
	s      Settings
	env    connectors.Env
	log    *slog.Logger
	clock  func() time.Time
	signer *signer
	// webhookURL and statusURL are the public URLs Twilio calls (and signs).
	webhookURL, statusURL string
	// signedWebhook and signedStatus are their forms Twilio may sign.
	signedWebhook, signedStatus signedURL
	// rt sends every request to Twilio (REST and media), rewritten to
	// APIBaseURL when one is set.
	rt http.RoundTripper
	// sleep waits between media fetch attempts (tests shorten it).
	backoff time.Duration
}

var (
	_ connectors.Router = (*Channel)(nil)
	_ connectors.Sender = (*Channel)(nil)
	_ connectors.Tester = (*Channel)(nil)
)

// New builds an sms channel from its configuration. env.Sink receives
// inbound messages; env.Status delivery reports; env.Blobs MMS media.
func New(cfg config.Channel, env connectors.Env) (*Channel, error) {
	s, err := LoadSettings(cfg, env.PublicURL)
	if err != nil {
		return nil, err
	}
	return NewWithSettings(cfg.Name, s, env)
}

// NewWithSettings builds a channel from settings already loaded with
// LoadSettings.
func NewWithSettings(name string, s Settings, env connectors.Env) (*Channel, error) {
	if env.Sink == nil {
		return nil, errors.New("sms: no sink")
	}
	c := &Channel{name: name, s: s, env: env, log: env.Logger, clock: env.Clock,
		signer: newSigner(s.AuthToken), backoff: 250 * time.Millisecond}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.clock == nil {
		c.clock = time.Now
	}
	c.webhookURL = s.PublicURL + "/webhooks/twilio/" + url.PathEscape(name)
	c.statusURL = c.webhookURL + "/status"
	c.signedWebhook, c.signedStatus = newSignedURL(c.webhookURL), newSignedURL(c.statusURL)
	var base http.RoundTripper = http.DefaultTransport
	if s.APIBaseURL != "" {
		u, _ := url.Parse(s.APIBaseURL) // validated by LoadSettings
		base = rewrite{to: u, next: base}
	}
	c.rt = base
	return c, nil
}

// SetTransport replaces the transport of every request to Twilio (after
// the APIBaseURL rewrite); tests use it to observe what is sent.
func (c *Channel) SetTransport(rt http.RoundTripper) {
	if c.s.APIBaseURL != "" {
		u, _ := url.Parse(c.s.APIBaseURL)
		rt = rewrite{to: u, next: rt}
	}
	c.rt = rt
}

// WebhookURL is the public URL of the message webhook (what Twilio signs).
func (c *Channel) WebhookURL() string { return c.webhookURL }

// StatusURL is the public URL of the status callback route.
func (c *Channel) StatusURL() string { return c.statusURL }

// Routes implements connectors.Router.
func (c *Channel) Routes() []connectors.Route {
	return []connectors.Route{
		{Pattern: WebhookPattern, Handler: http.HandlerFunc(c.serveMessage)},
		{Pattern: StatusPattern, Handler: http.HandlerFunc(c.serveStatus)},
	}
}

// isTwilioHost reports whether host is twilio.com or one of its subdomains:
// the only hosts that get the account's credentials.
func isTwilioHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "twilio.com" || strings.HasSuffix(host, ".twilio.com")
}

// rewrite sends requests for *.twilio.com to another base URL (a mock).
type rewrite struct {
	to   *url.URL
	next http.RoundTripper
}

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	if !isTwilioHost(req.URL.Hostname()) {
		return r.next.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host = r.to.Scheme, r.to.Host
	out.URL.Path = r.to.Path + req.URL.Path
	out.URL.RawPath = ""
	out.Host = ""
	return r.next.RoundTrip(out)
}

// call binds one twilio-go request to ctx (twilio-go itself sends every
// request with context.Background) and remembers the HTTP status, so an
// error body twilio-go cannot decode is still classified by its status.
type call struct {
	ctx    context.Context
	next   http.RoundTripper
	status int
}

func (c *call) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req.WithContext(c.ctx))
	if resp != nil {
		c.status = resp.StatusCode
	}
	return resp, err
}

// api returns a twilio-go API service whose requests run under ctx.
func (c *Channel) api(ctx context.Context) (*openapi.ApiService, *call) {
	cl := &call{ctx: ctx, next: c.rt}
	tc := &twclient.Client{
		Credentials: twclient.NewCredentials(c.s.AccountSID, c.s.AuthToken),
		HTTPClient: &http.Client{Transport: cl, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}
	tc.SetAccountSid(c.s.AccountSID)
	return openapi.NewApiServiceWithClient(tc), cl
}

// Test implements connectors.Tester: it fetches the account with the
// configured credentials.
func (c *Channel) Test(ctx context.Context) (string, error) {
	api, cl := c.api(ctx)
	acct, err := api.FetchAccount(c.s.AccountSID)
	if err != nil {
		return "", fmt.Errorf("sms: fetch account %s: %w", c.s.AccountSID, describe(err, cl.status))
	}
	status, name, typ := deref(acct.Status), deref(acct.FriendlyName), deref(acct.Type)
	from := "from " + c.s.From
	if c.s.MessagingServiceSID != "" {
		from = "through messaging service " + c.s.MessagingServiceSID
	}
	report := fmt.Sprintf("twilio account %s (%q, %s): status %s; sends %s; webhook %s", c.s.AccountSID, name, typ, status, from, c.webhookURL)
	if status != "active" {
		return report, fmt.Errorf("sms: twilio account %s is %s, not active", c.s.AccountSID, status)
	}
	return report, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
