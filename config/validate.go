package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	channelNameRe = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)
	// Agent, team and plugin names: a little wider than channel names
	// (alice.smith, jane@example.com) but no spaces or control characters.
	nameRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)
	hex64Re  = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	regionRe = regexp.MustCompile(`^[A-Z]{2}$`)

	// builtinKinds are the identity kinds of the hub's own channels, which
	// a plugin may produce as verified only when plugins[].verified_kinds
	// lists them.
	builtinKinds = []string{"email", "phone", "slack"}

	channelTypes = []string{TypeAPI, TypeEmail, TypeSMS, TypeSlack, TypeWebform, TypePlugin}
	phases       = []string{PhaseOff, PhaseShadow, PhasePilot, PhaseLive}
	roles        = []string{RoleAdmin, RoleAgent}
	logLevels    = []string{"debug", "info", "warn", "error"}
	logFormats   = []string{"json", "text"}
)

// Validate checks the whole configuration and returns nil or a
// ValidationErrors holding every problem, each naming its key path. It also
// reports problems Load met earlier (unknown SWITCHBOARD_* variables,
// unreadable *_file secrets). Call SetDefaults first on a hand-built Config.
func (c *Config) Validate() error {
	v := &validator{}
	v.errs = append(v.errs, c.loadErrs...)
	c.validateRetention(v)
	c.validateAutomation(v)
	c.validateSLA(v)
	c.validateAudit(v)
	c.validateAPIKeys(v)
	c.validateBlobs(v)

	// http
	v.hostPort("http.addr", c.HTTP.Addr, true)
	if c.HTTP.PublicURL != "" {
		u, err := url.Parse(c.HTTP.PublicURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
			v.add("http.public_url", "%q is not an absolute http(s) URL", c.HTTP.PublicURL)
		case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			v.add("http.public_url", "must be a base URL without user, query or fragment")
		}
	}
	for i, tp := range c.HTTP.TrustedProxies {
		tp = strings.TrimSpace(tp)
		if _, err := netip.ParsePrefix(tp); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(tp); err != nil {
			v.add(fmt.Sprintf("http.trusted_proxies[%d]", i), "%q is neither an IP address nor a CIDR prefix", tp)
		}
	}
	if c.HTTP.MaxBodyBytes < 1 {
		v.add("http.max_body_bytes", "must be at least 1 (got %d)", c.HTTP.MaxBodyBytes)
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"http.read_header_timeout", c.HTTP.ReadHeaderTimeout}, {"http.read_timeout", c.HTTP.ReadTimeout},
		{"http.write_timeout", c.HTTP.WriteTimeout}, {"http.idle_timeout", c.HTTP.IdleTimeout},
		{"http.body_timeout", c.HTTP.BodyTimeout}, {"http.upload_timeout", c.HTTP.UploadTimeout},
		{"http.stream_keepalive", c.HTTP.StreamKeepAlive}, {"http.drain_delay", c.HTTP.DrainDelay}} {
		if d.v < 0 {
			v.add(d.key, "must be positive (got %s)", d.v)
		}
	}
	if c.HTTP.MaxStreamsPerAgent < 0 {
		v.add("http.max_streams_per_agent", "must be at least 1 (got %d)", c.HTTP.MaxStreamsPerAgent)
	}
	if c.HTTP.MetricsAddr != "" {
		v.hostPort("http.metrics_addr", c.HTTP.MetricsAddr, true)
		if c.HTTP.MetricsAddr == c.HTTP.Addr && !strings.HasSuffix(c.HTTP.Addr, ":0") {
			v.add("http.metrics_addr", "must differ from http.addr")
		}
	}
	if c.HTTP.SessionSecret != "" && len(c.HTTP.SessionSecret) < MinSessionSecretBytes {
		key := "http.session_secret"
		if c.HTTP.SessionSecretFile != "" {
			key = "http.session_secret_file"
		}
		v.add(key, "must be at least %d bytes (e.g. openssl rand -hex 32)", MinSessionSecretBytes)
	}

	// store
	s := c.Store
	switch {
	case s.Embedded != nil && s.Redis != nil:
		v.add("store", "set either embedded or redis, not both")
	case s.Embedded == nil && s.Redis == nil:
		v.add("store", "set embedded or redis")
	}
	if s.Embedded != nil && s.Embedded.Path == "" {
		v.add("store.embedded.path", "is required")
	}
	if r := s.Redis; r != nil {
		if len(r.Addrs) == 0 {
			v.add("store.redis.addrs", "needs at least one host:port")
		}
		for i, a := range r.Addrs {
			v.hostPort(fmt.Sprintf("store.redis.addrs[%d]", i), a, false)
		}
		if r.Cluster && r.MasterName != "" {
			v.add("store.redis", "cluster and master_name (Sentinel) exclude each other")
		}
		if r.DB < 0 {
			v.add("store.redis.db", "must not be negative (got %d)", r.DB)
		}
		if r.Cluster && r.DB != 0 {
			v.add("store.redis.db", "must be 0 with cluster: true (Redis Cluster has only database 0)")
		}
		if r.MinReplicasAck < 0 {
			v.add("store.redis.min_replicas_ack", "must not be negative (got %d)", r.MinReplicasAck)
		}
		if d := r.MinReplicasTimeout.D(); d < 0 || d > 2*time.Second {
			v.add("store.redis.min_replicas_timeout", "must be between 0 (the default, 100ms) and 2s (got %v): the client's read timeout is 3s", d)
		}
		if strings.ContainsAny(r.Prefix, "{} \t\r\n") {
			v.add("store.redis.prefix", "must not contain braces or whitespace (keys carry their own {hash tags})")
		}
	}

	// identity
	if c.Identity.DefaultRegion != "" && !regionRe.MatchString(c.Identity.DefaultRegion) {
		v.add("identity.default_region", "%q is not a two-letter ISO 3166 region code (like US, FI)", c.Identity.DefaultRegion)
	}

	// router
	v.atLeast("router.workers", c.Router.Workers, 1)
	v.atLeast("router.max_attempts", c.Router.MaxAttempts, 1)
	v.atLeast("router.max_open_per_agent", c.Router.MaxOpenPerAgent, 1)
	if c.Router.ClaimAfter <= 0 {
		v.add("router.claim_after", "must be positive (got %s)", c.Router.ClaimAfter)
	}

	// teams
	teams := map[string]bool{}
	for i, t := range c.Teams {
		p := fmt.Sprintf("teams[%d].name", i)
		switch {
		case t.Name == "":
			v.add(p, "is required")
		case !nameRe.MatchString(t.Name):
			v.add(p, "%q must match %s", t.Name, nameRe)
		case teams[t.Name]:
			v.add(p, "duplicate team %q", t.Name)
		}
		teams[t.Name] = true
	}
	teamRef := func(path, name string) {
		if !teams[name] {
			v.add(path, "team %q is not defined in teams", name)
		}
	}

	// agents
	agents := map[string]bool{}
	tokenOwner := map[string]int{} // sha256 hex of a token -> agent index
	for i, a := range c.Agents {
		p := fmt.Sprintf("agents[%d]", i)
		switch {
		case a.Name == "":
			v.add(p+".name", "is required")
		case !nameRe.MatchString(a.Name):
			v.add(p+".name", "%q must match %s", a.Name, nameRe)
		case agents[a.Name]:
			v.add(p+".name", "duplicate agent %q", a.Name)
		}
		agents[a.Name] = true
		v.oneOf(p+".role", a.Role, roles)
		hasToken := a.Token != "" || a.TokenFile != ""
		switch {
		case !hasToken && a.TokenSHA256 == "" && a.PasswordHash == "" && a.PasswordHashFile == "":
			v.add(p, "needs a token source: token, token_file or token_sha256 (or password_hash/password_file to sign in to the web UI only)")
		case hasToken && a.TokenSHA256 != "":
			v.add(p+".token_sha256", "set either token_sha256 or token/token_file, not both")
		}
		digest := ""
		if a.TokenSHA256 != "" {
			if !hex64Re.MatchString(a.TokenSHA256) {
				v.add(p+".token_sha256", "must be 64 hex digits (the SHA-256 of the token)")
			} else {
				digest = strings.ToLower(a.TokenSHA256)
			}
		} else if a.Token != "" {
			sum := sha256.Sum256([]byte(a.Token))
			digest = hex.EncodeToString(sum[:])
		}
		if digest != "" {
			if j, dup := tokenOwner[digest]; dup {
				v.add(p, "has the same token as agents[%d]; every agent needs its own", j)
			} else {
				tokenOwner[digest] = i
			}
		}
		for j, t := range a.Teams {
			teamRef(fmt.Sprintf("%s.teams[%d]", p, j), t)
		}
		if a.PasswordHash != "" {
			key := p + ".password_hash"
			if a.PasswordHashFile != "" {
				key = p + ".password_file"
			}
			if msg := checkPasswordHash(a.PasswordHash); msg != "" {
				v.add(key, "%s", msg)
			}
		}
	}

	// channels
	channels := map[string]bool{}
	for i, ch := range c.Channels {
		p := fmt.Sprintf("channels[%d]", i)
		switch {
		case ch.Name == "":
			v.add(p+".name", "is required")
		case !channelNameRe.MatchString(ch.Name):
			v.add(p+".name", "%q must match %s", ch.Name, channelNameRe)
		case channels[ch.Name]:
			v.add(p+".name", "duplicate channel %q", ch.Name)
		}
		channels[ch.Name] = true
		if ch.Type == "" {
			v.add(p+".type", "is required (one of %s)", strings.Join(channelTypes, ", "))
		} else {
			v.oneOf(p+".type", ch.Type, channelTypes)
		}
		v.oneOf(p+".phase", ch.Phase, phases)
		ch.Readiness.validate(v, p+".readiness")
		ch.CSAT.validate(v, p+".csat")
		if ch.Phase == PhasePilot && ch.PilotTeam == "" {
			v.add(p+".pilot_team", "is required when phase is pilot")
		}
		if ch.DefaultRegion != "" && !regionRe.MatchString(ch.DefaultRegion) {
			v.add(p+".default_region", "%q is not a two-letter ISO 3166 region code (like SE, FI)", ch.DefaultRegion)
		}
		if ch.PilotTeam != "" {
			teamRef(p+".pilot_team", ch.PilotTeam)
		}
		if ch.Team != "" {
			teamRef(p+".team", ch.Team)
		}
		if ch.Trusted && ch.Type != TypeAPI {
			v.add(p+".trusted", "applies only to channels of type api")
		}
		for _, sec := range ch.sections() {
			if sec.raw != nil && sec.name != ch.Type {
				v.add(p+"."+sec.name, "section does not apply to a channel of type %q", ch.Type)
			}
		}
		if ch.Type == TypePlugin {
			name, _ := ch.Plugin["name"].(string)
			switch {
			case name == "":
				v.add(p+".plugin.name", "is required (one of plugins[].name)")
			case !slices.ContainsFunc(c.Plugins, func(pl Plugin) bool { return pl.Name == name }):
				v.add(p+".plugin.name", "plugin %q is not defined in plugins", name)
			}
		}
	}

	// routing
	ruleOf := map[string]int{} // channel -> its first rule
	for i, r := range c.Routing {
		p := fmt.Sprintf("routing[%d]", i)
		first, dup := ruleOf[r.Channel]
		switch {
		case r.Channel == "":
			v.add(p+".channel", `is required (a channel name, or "*" for every channel)`)
		case r.Channel != "*" && !channels[r.Channel]:
			v.add(p+".channel", "channel %q is not defined in channels", r.Channel)
		case dup:
			v.add(p+".channel", "channel %q already has a rule (routing[%d]); one rule per channel", r.Channel, first)
		default:
			ruleOf[r.Channel] = i
		}
		if r.Team == "" {
			v.add(p+".team", "is required")
		} else {
			teamRef(p+".team", r.Team)
		}
	}

	// plugins
	plugins := map[string]bool{}
	for i, pl := range c.Plugins {
		p := fmt.Sprintf("plugins[%d]", i)
		switch {
		case pl.Name == "":
			v.add(p+".name", "is required")
		case !nameRe.MatchString(pl.Name):
			v.add(p+".name", "%q must match %s", pl.Name, nameRe)
		case plugins[pl.Name]:
			v.add(p+".name", "duplicate plugin %q", pl.Name)
		}
		plugins[pl.Name] = true
		if pl.Path == "" {
			v.add(p+".path", "is required (the plugin binary)")
		}
		if pl.SHA256 != "" && !hex64Re.MatchString(pl.SHA256) {
			v.add(p+".sha256", "must be 64 hex digits")
		}
		for j, k := range pl.VerifiedKinds {
			if !slices.Contains(builtinKinds, k) {
				v.add(fmt.Sprintf("%s.verified_kinds[%d]", p, j), "%q is not one of %s (a plugin's own kinds need no permission)", k, strings.Join(builtinKinds, ", "))
			}
		}
	}

	// log
	v.oneOf("log.level", c.Log.Level, logLevels)
	v.oneOf("log.format", c.Log.Format, logFormats)
	c.Consent.validate(v)
	v.webhooks(c.Webhooks)
	c.validateWebhookDelivery(v)

	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

type validator struct{ errs ValidationErrors }

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) oneOf(path, val string, allowed []string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	v.add(path, "%q is not one of %s", val, strings.Join(allowed, ", "))
}

func (v *validator) atLeast(path string, n, min int) {
	if n < min {
		v.add(path, "must be at least %d (got %d)", min, n)
	}
}

// hostPort checks host:port; the host may be empty (all interfaces) only
// for a listen address.
func (v *validator) hostPort(path, addr string, listen bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(path, "%q is not host:port", addr)
		return
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (!listen && n == 0) {
		v.add(path, "%q has no valid port", addr)
	}
	if host == "" && !listen {
		v.add(path, "%q has no host", addr)
	}
}

var (
	bcryptRe   = regexp.MustCompile(`^\$2[aby]?\$(\d\d)\$[./A-Za-z0-9]{53}$`)
	argon2idRe = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{22,}$`)
)

// checkPasswordHash describes what is wrong with an agent's password hash
// ("" when it is a bcrypt hash or an argon2id PHC string). A value that
// looks like a plain password is refused with a hint, never echoed.
func checkPasswordHash(h string) string {
	if h == RedactedValue {
		return "" // a Redacted copy (it matches no password)
	}
	if m := bcryptRe.FindStringSubmatch(h); m != nil {
		// Above 16 a sign-in costs seconds of CPU (a denial of service).
		if cost, _ := strconv.Atoi(m[1]); cost < 10 || cost > 16 {
			return fmt.Sprintf("bcrypt cost %d is outside 10..16", cost)
		}
		return ""
	}
	if m := argon2idRe.FindStringSubmatch(h); m != nil {
		mem, _ := strconv.Atoi(m[1])
		t, _ := strconv.Atoi(m[2])
		p, _ := strconv.Atoi(m[3])
		if mem < 19456 || t < 1 || p < 1 || p > 255 {
			return "argon2id parameters are too weak or invalid (want m ≥ 19456 KiB, t ≥ 1, 1 ≤ p ≤ 255)"
		}
		// Each sign-in allocates m KiB and runs t passes over it.
		if mem > 1<<20 || t > 10 {
			return "argon2id parameters are too costly (want m ≤ 1048576 KiB (1 GiB), t ≤ 10)"
		}
		return ""
	}
	return "must be a bcrypt hash ($2b$12$…) or an argon2id PHC string ($argon2id$v=19$m=65536,t=3,p=4$…), not a password; " +
		"e.g. echo 'PASSWORD' | switchboard password-hash"
}
