package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustLoad(t *testing.T, path string, env []string) *Config {
	t.Helper()
	cfg, err := Load(path, env)
	if err != nil {
		t.Fatalf("Load(%q): %v", path, err)
	}
	return cfg
}

// writeConfig writes a config file into a temp dir and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "switchboard.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/valid files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg := mustLoad(t, f, nil)
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate after Load: %v", err)
			}
		})
	}
}

func TestInvalidFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/invalid files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok || want == "" {
				t.Fatalf("first line must be '# want: SUBSTRING', got %q", first)
			}
			_, err = Load(f, nil)
			if err == nil {
				t.Fatalf("Load succeeded, want error containing %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error does not contain %q:\n%v", want, err)
			}
			var ve ValidationErrors
			if !errors.As(err, &ve) {
				t.Fatalf("error is %T, want ValidationErrors", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	cfg := mustLoad(t, "", nil)
	checks := []struct {
		name      string
		got, want any
	}{
		{"http.addr", cfg.HTTP.Addr, "127.0.0.1:8080"},
		{"http.max_body_bytes", cfg.HTTP.MaxBodyBytes, int64(1 << 20)},
		{"http.public_url", cfg.HTTP.PublicURL, ""},
		{"store.embedded.path", cfg.Store.Embedded.Path, "./switchboard-data"},
		{"store.redis", cfg.Store.Redis == nil, true},
		{"identity.default_region", cfg.Identity.DefaultRegion, ""},
		{"router.workers", cfg.Router.Workers, 16},
		{"router.max_attempts", cfg.Router.MaxAttempts, 5},
		{"router.claim_after", cfg.Router.ClaimAfter.D(), 30 * time.Second},
		{"router.max_open_per_agent", cfg.Router.MaxOpenPerAgent, 20},
		{"log.level", cfg.Log.Level, "info"},
		{"log.format", cfg.Log.Format, "json"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if cfg.Store.Embedded == nil {
		t.Fatal("no embedded store by default")
	}
}

func TestDefaultsPerItem(t *testing.T) {
	p := writeConfig(t, `
store:
  redis: {addrs: ["r:6379"]}
agents: [{name: a, token: tok-123456789}]
channels:
  - {name: api, type: api}
  - {name: mail, type: email}
`)
	cfg := mustLoad(t, p, nil)
	if cfg.Store.Embedded != nil {
		t.Error("embedded store set although redis is configured")
	}
	if cfg.Store.Redis.Prefix != "sb" {
		t.Errorf("redis prefix = %q, want sb", cfg.Store.Redis.Prefix)
	}
	if cfg.Agents[0].Role != RoleAgent {
		t.Errorf("role = %q, want agent", cfg.Agents[0].Role)
	}
	if cfg.Channels[0].Phase != PhaseLive || cfg.Channels[1].Phase != PhaseOff {
		t.Errorf("phases = %q, %q; want live (api), off (email)", cfg.Channels[0].Phase, cfg.Channels[1].Phase)
	}
}

func TestEnvOverrides(t *testing.T) {
	base := `
teams: [{name: support}, {name: vip}]
agents:
  - {name: alice, token: alice-token-0001, teams: [support]}
channels:
  - {name: mail, type: email, email: {imap: {addr: "imap:993", username: u}, port: 1}}
  - {name: sms, type: sms}
plugins:
  - {name: p, path: /bin/p, settings: {mode: a}}
`
	tests := []struct {
		name  string
		file  string
		env   []string
		check func(t *testing.T, c *Config)
	}{
		{"http addr", "", []string{"SWITCHBOARD_HTTP_ADDR=0.0.0.0:9000"}, func(t *testing.T, c *Config) {
			eq(t, c.HTTP.Addr, "0.0.0.0:9000")
		}},
		{"int64", "", []string{"SWITCHBOARD_HTTP_MAX_BODY_BYTES=2048"}, func(t *testing.T, c *Config) {
			eq(t, c.HTTP.MaxBodyBytes, int64(2048))
		}},
		{"trusted proxies", "", []string{"SWITCHBOARD_HTTP_TRUSTED_PROXIES=10.0.0.5, 192.168.0.0/24"}, func(t *testing.T, c *Config) {
			eq(t, strings.Join(c.HTTP.TrustedProxies, "|"), "10.0.0.5|192.168.0.0/24")
		}},
		{"redis list creates section", "", []string{"SWITCHBOARD_STORE_REDIS_ADDRS=a:1, b:2,"}, func(t *testing.T, c *Config) {
			if c.Store.Redis == nil {
				t.Fatal("redis section not created")
			}
			eq(t, strings.Join(c.Store.Redis.Addrs, "|"), "a:1|b:2")
			eq(t, c.Store.Redis.Prefix, "sb")
			if c.Store.Embedded != nil {
				t.Error("embedded default applied although redis set by env")
			}
		}},
		{"redis bool and int", "", []string{"SWITCHBOARD_STORE_REDIS_ADDRS=a:1", "SWITCHBOARD_STORE_REDIS_CLUSTER=true", "SWITCHBOARD_STORE_REDIS_MASTER_NAME="}, func(t *testing.T, c *Config) {
			eq(t, c.Store.Redis.Cluster, true)
		}},
		{"embedded path", "", []string{"SWITCHBOARD_STORE_EMBEDDED_PATH=/var/lib/sb"}, func(t *testing.T, c *Config) {
			eq(t, c.Store.Embedded.Path, "/var/lib/sb")
		}},
		{"region upper-cased", "", []string{"SWITCHBOARD_IDENTITY_DEFAULT_REGION=se"}, func(t *testing.T, c *Config) {
			eq(t, c.Identity.DefaultRegion, "SE")
		}},
		{"router", "", []string{"SWITCHBOARD_ROUTER_WORKERS=3", "SWITCHBOARD_ROUTER_CLAIM_AFTER=2m"}, func(t *testing.T, c *Config) {
			eq(t, c.Router.Workers, 3)
			eq(t, c.Router.ClaimAfter.D(), 2*time.Minute)
		}},
		{"log", "", []string{"SWITCHBOARD_LOG_LEVEL=debug", "SWITCHBOARD_LOG_FORMAT=text"}, func(t *testing.T, c *Config) {
			eq(t, c.Log.Level, "debug")
			eq(t, c.Log.Format, "text")
		}},
		{"env beats file", "log: {level: warn}\n", []string{"SWITCHBOARD_LOG_LEVEL=error"}, func(t *testing.T, c *Config) {
			eq(t, c.Log.Level, "error")
		}},
		{"channel phase by index", base, []string{"SWITCHBOARD_CHANNELS_1_PHASE=pilot", "SWITCHBOARD_CHANNELS_1_PILOT_TEAM=vip"}, func(t *testing.T, c *Config) {
			eq(t, c.Channels[1].Phase, "pilot")
			eq(t, c.Channels[1].PilotTeam, "vip")
		}},
		{"agent list of strings", base, []string{"SWITCHBOARD_AGENTS_0_TEAMS=support,vip"}, func(t *testing.T, c *Config) {
			eq(t, strings.Join(c.Agents[0].Teams, ","), "support,vip")
		}},
		{"agent token by env", base, []string{"SWITCHBOARD_AGENTS_0_TOKEN=from-env-token-1"}, func(t *testing.T, c *Config) {
			eq(t, c.Agents[0].Token, "from-env-token-1")
		}},
		{"new list element", base, []string{"SWITCHBOARD_AGENTS_1_NAME=bob", "SWITCHBOARD_AGENTS_1_TOKEN_SHA256=81b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd9ec58ce9"}, func(t *testing.T, c *Config) {
			eq(t, len(c.Agents), 2)
			eq(t, c.Agents[1].Name, "bob")
			eq(t, c.Agents[1].Role, RoleAgent)
		}},
		{"channel section nested", base, []string{"SWITCHBOARD_CHANNELS_0_EMAIL_IMAP_PASSWORD=pw", "SWITCHBOARD_CHANNELS_0_EMAIL_PORT=2", "SWITCHBOARD_CHANNELS_0_EMAIL_NEW_KEY=x"}, func(t *testing.T, c *Config) {
			imap := c.Channels[0].Email["imap"].(map[string]any)
			eq(t, imap["password"], any("pw"))
			eq(t, imap["username"], any("u"))
			eq(t, c.Channels[0].Email["port"], any("2"))
			eq(t, c.Channels[0].Email["new_key"], any("x"))
		}},
		{"plugin settings", base, []string{"SWITCHBOARD_PLUGINS_0_SETTINGS_BOT_TOKEN=t"}, func(t *testing.T, c *Config) {
			eq(t, c.Plugins[0].Settings["bot_token"], "t")
			eq(t, c.Plugins[0].Settings["mode"], "a")
		}},
		{"plugin verified kinds", base, []string{"SWITCHBOARD_PLUGINS_0_VERIFIED_KINDS=email,phone"}, func(t *testing.T, c *Config) {
			eq(t, strings.Join(c.Plugins[0].VerifiedKinds, ","), "email,phone")
		}},
		{"ignored names", "", []string{"SWITCHBOARD_CONFIG=/x.yaml", "SWITCHBOARD_TEST_REDIS=1", "SWITCHBOARD_REQUIRE_SERVERS=1", "OTHER_VAR=1", "SWITCHBOARD_NOEQUALS"}, func(t *testing.T, c *Config) {
			eq(t, c.HTTP.Addr, DefaultHTTPAddr)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeConfig(t, tt.file)
			}
			tt.check(t, mustLoad(t, path, tt.env))
		})
	}
}

func TestEnvErrors(t *testing.T) {
	base := writeConfig(t, `
channels: [{name: a, type: api}]
`)
	tests := []struct {
		env  string
		want string
	}{
		{"SWITCHBOARD_HTTP_ADRR=x:1", "SWITCHBOARD_HTTP_ADRR: matches no configuration key"},
		{"SWITCHBOARD_FOO=1", "SWITCHBOARD_FOO: matches no configuration key"},
		{"SWITCHBOARD_http_addr=x:1", "SWITCHBOARD_http_addr: matches no configuration key"},
		{"SWITCHBOARD_HTTP=x", "SWITCHBOARD_HTTP: names a section"},
		{"SWITCHBOARD_STORE_REDIS_ADDR=x:1", "SWITCHBOARD_STORE_REDIS_ADDR: matches no configuration key"},
		{"SWITCHBOARD_ROUTER_WORKERS=many", `SWITCHBOARD_ROUTER_WORKERS: is not an integer`},
		{"SWITCHBOARD_ROUTER_CLAIM_AFTER=30", "SWITCHBOARD_ROUTER_CLAIM_AFTER: is not a duration"},
		{"SWITCHBOARD_STORE_REDIS_CLUSTER=maybe", "is not a boolean"},
		{"SWITCHBOARD_CHANNELS_PHASE=live", "a list needs an index"},
		{"SWITCHBOARD_CHANNELS_x_PHASE=live", "a list needs an index"},
		{"SWITCHBOARD_CHANNELS_01_PHASE=live", "a list needs an index"},
		{"SWITCHBOARD_CHANNELS_0_PHAZE=live", "SWITCHBOARD_CHANNELS_0_PHAZE: matches no configuration key"},
		{"SWITCHBOARD_CHANNELS_5000_PHASE=live", "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			cfg, err := Load(base, []string{tt.env})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			if cfg == nil {
				t.Fatal("config is nil on a validation error")
			}
		})
	}
	// A failed key below an absent pointer section does not create it.
	cfg, _ := Load("", []string{"SWITCHBOARD_STORE_REDIS_ADDR=x:1"})
	if cfg.Store.Redis != nil {
		t.Error("redis section created by an unknown key")
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	tokenPath := filepath.Join(dir, "alice-token")
	pwPath := filepath.Join(dir, "redis-pw")
	emptyPath := filepath.Join(dir, "empty")
	must(t, os.WriteFile(tokenPath, []byte("alice-secret-token\n"), 0o600))
	must(t, os.WriteFile(pwPath, []byte("redis-secret-pw\r\n"), 0o600))
	must(t, os.WriteFile(emptyPath, []byte("\n"), 0o600))

	p := writeConfig(t, `
store:
  redis: {addrs: ["r:6379"], password_file: `+pwPath+`}
agents:
  - {name: alice, token_file: `+tokenPath+`}
`)
	cfg := mustLoad(t, p, nil)
	eq(t, cfg.Agents[0].Token, "alice-secret-token")
	eq(t, cfg.Store.Redis.Password, "redis-secret-pw")

	tests := []struct {
		name, file, want string
		env              []string
	}{
		{"missing file", `agents: [{name: a, token_file: ` + filepath.Join(dir, "nope") + `}]`,
			"agents[0].token_file: reading secret file", nil},
		{"empty file", `agents: [{name: a, token_file: ` + emptyPath + `}]`,
			"agents[0].token_file: secret file " + emptyPath + " is empty", nil},
		{"both set", `agents: [{name: a, token: t-1234567890, token_file: ` + tokenPath + `}]`,
			"agents[0].token_file: set either token or token_file, not both", nil},
		{"redis missing file", `store: {redis: {addrs: ["r:1"], password_file: /nonexistent/pw}}`,
			"store.redis.password_file: reading secret file", nil},
		{"file via env", `agents: [{name: a}]`,
			"agents[0].token_file: reading secret file", []string{"SWITCHBOARD_AGENTS_0_TOKEN_FILE=/nonexistent/t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tt.file), tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}

	s, err := ReadSecretFile(tokenPath)
	if err != nil || s != "alice-secret-token" {
		t.Fatalf("ReadSecretFile = %q, %v", s, err)
	}
	if _, err := ReadSecretFile(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadSecretFile(missing) = %v, want os.ErrNotExist", err)
	}
}

func TestUnknownKeyNamesKey(t *testing.T) {
	p := writeConfig(t, "http:\n  addr: 127.0.0.1:1\nchannels:\n  - name: a\n    type: api\n    phaze: live\n")
	_, err := Load(p, nil)
	if err == nil {
		t.Fatal("unknown key accepted")
	}
	for _, want := range []string{`"phaze"`, "switchboard.yaml:6", "channels[]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestValidateReportsAll(t *testing.T) {
	p := writeConfig(t, `
http: {addr: nope}
store:
  embedded: {path: /x}
  redis: {addrs: []}
identity: {default_region: Finland}
router: {workers: -2}
channels:
  - {name: a, type: email, phase: lve}
  - {name: a, type: telex}
agents:
  - {name: x, role: boss}
log: {level: loud, format: xml}
`)
	_, err := Load(p, []string{"SWITCHBOARD_NOPE=1"})
	var ve ValidationErrors
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not ValidationErrors", err)
	}
	want := []string{
		"SWITCHBOARD_NOPE: matches no configuration key",
		"http.addr:",
		"store: set either embedded or redis, not both",
		"store.redis.addrs:",
		"identity.default_region:",
		"router.workers:",
		`channels[0].phase: "lve" is not one of off, shadow, pilot, live`,
		`channels[1].name: duplicate channel "a"`,
		`channels[1].type: "telex" is not one of`,
		`agents[0].role: "boss"`,
		"agents[0]: needs a token source",
		"log.level:",
		"log.format:",
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
	if len(ve) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(ve), len(want), err)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != len(ve) {
		t.Errorf("Error() has %d lines for %d errors", n, len(ve))
	}
	// Each entry is reachable through errors.As on the joined error.
	var fe FieldError
	if !errors.As(err, &fe) || fe.Path == "" {
		t.Errorf("errors.As(FieldError) = %+v", fe)
	}
}

func TestValidateHandBuilt(t *testing.T) {
	c := &Config{}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	c.Router.ClaimAfter = Duration(-time.Second)
	c.HTTP.PublicURL = "https://hub.example.com/?x=1"
	err := c.Validate()
	for _, w := range []string{"router.claim_after: must be positive", "http.public_url: must be a base URL"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not contain %q", err, w)
		}
	}
}

// secretValues are planted in every place a secret can go; none may appear
// in an error or in Redacted output.
var secretValues = []string{"S3CR3T-token-value", "S3CR3T-redis-pw", "S3CR3T-imap-pw", "S3CR3T-signing", "S3CR3T-plugin", "S3CR3T-wrongtype", "S3CR3T-envtypo", "S3CR3T-file-content"}

func TestNoSecretInErrors(t *testing.T) {
	dir := t.TempDir()
	fileSecret := filepath.Join(dir, "tok")
	must(t, os.WriteFile(fileSecret, []byte("S3CR3T-file-content\n"), 0o600))
	p := writeConfig(t, `
store:
  embedded: {path: /x}
  redis: {addrs: ["bad"], password: S3CR3T-redis-pw}
agents:
  - {name: a, token: S3CR3T-token-value, token_sha256: nothex}
  - {name: b, token: S3CR3T-token-value}
  - {name: c, token: x, token_file: `+fileSecret+`}
channels:
  - name: m
    type: sms
    phase: bogus
    email: {imap: {password: S3CR3T-imap-pw}}
    slack: {signing_secret: S3CR3T-signing}
plugins:
  - {name: p, settings: {api_key: S3CR3T-plugin}}
`)
	cfg, err := Load(p, []string{"SWITCHBOARD_AGENTS_0_TOKN=S3CR3T-envtypo", "SWITCHBOARD_ROUTER_WORKERS=S3CR3T-wrongtype"})
	if err == nil {
		t.Fatal("expected errors")
	}
	noSecret(t, "Load error", err.Error())

	// A secret written where a number belongs: yaml.v3 would quote it.
	_, err = Load(writeConfig(t, "router:\n  workers: S3CR3T-wrongtype\n"), nil)
	if err == nil {
		t.Fatal("expected a type error")
	}
	noSecret(t, "decode error", err.Error())

	// The same through a connector's strict decode.
	type smtp struct {
		Port     int    `yaml:"port"`
		Password string `yaml:"password"`
	}
	ch := Channel{Name: "m", Type: "email", Email: map[string]any{"port": "S3CR3T-wrongtype", "pasword": "S3CR3T-imap-pw"}}
	err = ch.Decode("email", &smtp{})
	if err == nil {
		t.Fatal("expected a decode error")
	}
	noSecret(t, "Channel.Decode error", err.Error())

	red := cfg.Redacted()
	noSecret(t, "Redacted", dump(red))
}

func TestRedacted(t *testing.T) {
	p := writeConfig(t, `
store:
  redis: {addrs: ["r:6379"], password: pw-1, username: hub}
agents:
  - {name: a, token: tok-1234567890, token_sha256: ""}
  - {name: b, token_sha256: 81b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd9ec58ce9}
  - {name: c, password_hash: "$2a$10$YArP5hi0LIELUMg1aCB6Uen2eil779d36ucxsADOdHNCeKWX2pJJG"}
channels:
  - name: s
    type: slack
    slack:
      signing_secret: sig
      bot_token: xoxb
      channel: C123
      nested: [{app_token: xapp, other: keep}]
      password_file: /run/secrets/x
      empty_secret: ""
plugins:
  - {name: p, path: /bin/p, settings: {api_key: k, mode: m}}
`)
	cfg := mustLoad(t, p, nil)
	r := cfg.Redacted()
	eq(t, r.Store.Redis.Password, RedactedValue)
	eq(t, r.Store.Redis.Username, "hub")
	eq(t, r.Agents[0].Token, RedactedValue)
	eq(t, r.Agents[1].TokenSHA256, cfg.Agents[1].TokenSHA256)
	eq(t, r.Agents[1].Token, "")
	eq(t, r.Agents[2].PasswordHash, RedactedValue)
	sl := r.Channels[0].Slack
	eq(t, sl["signing_secret"], any(RedactedValue))
	eq(t, sl["bot_token"], any(RedactedValue))
	eq(t, sl["channel"], any("C123"))
	eq(t, sl["password_file"], any("/run/secrets/x"))
	eq(t, sl["empty_secret"], any(""))
	nested := sl["nested"].([]any)[0].(map[string]any)
	eq(t, nested["app_token"], any(RedactedValue))
	eq(t, nested["other"], any("keep"))
	eq(t, r.Plugins[0].Settings["api_key"], RedactedValue)
	eq(t, r.Plugins[0].Settings["mode"], "m")

	// The original is untouched: Redacted is a deep copy.
	eq(t, cfg.Store.Redis.Password, "pw-1")
	eq(t, cfg.Agents[0].Token, "tok-1234567890")
	eq(t, cfg.Channels[0].Slack["bot_token"], any("xoxb"))
	eq(t, cfg.Channels[0].Slack["nested"].([]any)[0].(map[string]any)["app_token"], any("xapp"))
	eq(t, cfg.Plugins[0].Settings["api_key"], "k")
	if err := r.Validate(); err != nil {
		t.Errorf("redacted copy does not validate: %v", err)
	}
	if (*Config)(nil).Redacted() != nil {
		t.Error("nil.Redacted() != nil")
	}
}

func TestIsSecretKey(t *testing.T) {
	for k, want := range map[string]bool{
		"password": true, "imap_password": true, "signing_secret": true, "bot_token": true,
		"api_key": true, "apiKey": true, "private_key": true, "auth_token": true, "Token": true,
		"password_file": false, "token_sha256": false, "username": false, "addr": false, "keyword": false,
	} {
		if got := IsSecretKey(k); got != want {
			t.Errorf("IsSecretKey(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestExample(t *testing.T) {
	p := writeConfig(t, Example())
	cfg := mustLoad(t, p, nil)
	if len(cfg.Channels) == 0 || len(cfg.Agents) == 0 || cfg.Store.Embedded == nil {
		t.Fatalf("example is too thin: %+v", cfg)
	}
	eq(t, cfg.Identity.DefaultRegion, "FI")
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"30s", 30 * time.Second, false},
		{"1m30s", 90 * time.Second, false},
		{"250ms", 250 * time.Millisecond, false},
		{"2h", 2 * time.Hour, false},
		{"0", 0, false},
		{" 5s ", 5 * time.Second, false},
		{"30", 0, true},
		{"soon", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		var d Duration
		err := d.UnmarshalText([]byte(tt.in))
		if (err != nil) != tt.wantErr || (!tt.wantErr && d.D() != tt.want) {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v, err=%v", tt.in, d, err, tt.want, tt.wantErr)
		}
	}
	type holder struct {
		D Duration `yaml:"d"`
	}
	for in, want := range map[string]string{
		"d: 45s":    "",
		"d: 45":     "is not a duration",
		"d: [1s]":   "must be a string",
		"d: \"1h\"": "",
	} {
		var h holder
		err := decodeStrict([]byte(in), &h, "x", true)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("decode %q: %v, want %q", in, err, want)
		}
	}
	if s := Duration(90 * time.Second).String(); s != "1m30s" {
		t.Errorf("String = %q", s)
	}
	b, _ := Duration(time.Minute).MarshalText()
	eq(t, string(b), "1m0s")
}

func TestChannelDecode(t *testing.T) {
	type imap struct {
		Addr         string `yaml:"addr"`
		Username     string `yaml:"username"`
		PasswordFile string `yaml:"password_file"`
	}
	type emailCfg struct {
		IMAP  imap     `yaml:"imap"`
		Port  int      `yaml:"port"`
		TLS   bool     `yaml:"tls"`
		PIN   string   `yaml:"pin"`
		Hex   string   `yaml:"hex"`
		Null  string   `yaml:"null_str"`
		Poll  Duration `yaml:"poll"`
		Other []string `yaml:"other"`
	}
	p := writeConfig(t, `
channels:
  - name: support-mail
    type: email
    email:
      imap: {addr: "imap.example.com:993", username: support, password_file: /run/secrets/imap}
      port: 25
      tls: false
      pin: "007"
      hex: "0x1F"
      null_str: "null"
      poll: 1m
      other: [a, b]
`)
	cfg := mustLoad(t, p, []string{"SWITCHBOARD_CHANNELS_0_EMAIL_PORT=587", "SWITCHBOARD_CHANNELS_0_EMAIL_TLS=true"})
	var got emailCfg
	if err := cfg.Channels[0].Decode("email", &got); err != nil {
		t.Fatal(err)
	}
	want := emailCfg{
		IMAP: imap{Addr: "imap.example.com:993", Username: "support", PasswordFile: "/run/secrets/imap"},
		Port: 587, TLS: true, PIN: "007", Hex: "0x1F", Null: "null", Poll: Duration(time.Minute), Other: []string{"a", "b"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode = %+v\nwant     %+v", got, want)
	}

	// Unknown key: error names channel, section and key.
	ch := Channel{Name: "support-mail", Type: "email", Email: map[string]any{"imap": map[string]any{"adr": "x"}}}
	err := ch.Decode("email", &emailCfg{})
	if err == nil || !strings.Contains(err.Error(), `channels[support-mail].email: unknown key "adr"`) {
		t.Fatalf("unknown key error = %v", err)
	}
	// Absent section decodes as empty and keeps preset values.
	pre := emailCfg{Port: 9}
	if err := (Channel{Name: "x", Type: "email"}).Decode("email", &pre); err != nil || pre.Port != 9 {
		t.Fatalf("absent section: %v, %+v", err, pre)
	}
	if err := ch.Decode("fax", &emailCfg{}); err == nil || !strings.Contains(err.Error(), "channels[support-mail].fax") {
		t.Fatalf("unknown section error = %v", err)
	}
	if err := ch.Decode("email", emailCfg{}); err == nil {
		t.Fatal("Decode into a non-pointer succeeded")
	}
}

func TestFilePath(t *testing.T) {
	eq(t, FilePath("a.yaml", []string{"SWITCHBOARD_CONFIG=b.yaml"}), "a.yaml")
	eq(t, FilePath("", []string{"SWITCHBOARD_CONFIG=b.yaml"}), "b.yaml")
	eq(t, FilePath("", nil), "")
}

func TestLoadMissingFile(t *testing.T) {
	cfg, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if err == nil || cfg != nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, %v", cfg, err)
	}
}

// TestDocsCoverEveryKey keeps docs/CONFIG.md in step with the types: every
// environment variable name (list indices written as <N>, map keys as <KEY>)
// must appear in it.
func TestDocsCoverEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../docs/CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var walk func(rt reflect.Type, prefix string)
	walk = func(rt reflect.Type, prefix string) {
		for i := 0; i < rt.NumField(); i++ {
			key := yamlKey(rt.Field(i))
			if key == "" {
				continue
			}
			name := prefix + strings.ToUpper(key)
			ft := rt.Field(i).Type
			switch {
			case isLeaf(ft):
				names = append(names, name)
			case ft.Kind() == reflect.Pointer:
				walk(ft.Elem(), name+"_")
			case ft.Kind() == reflect.Struct:
				walk(ft, name+"_")
			case ft.Kind() == reflect.Slice:
				walk(ft.Elem(), name+"_<N>_")
			case ft.Kind() == reflect.Map:
				names = append(names, name+"_<KEY>")
			}
		}
	}
	walk(reflect.TypeFor[Config](), EnvPrefix)
	if len(names) < 40 {
		t.Fatalf("only %d names found", len(names))
	}
	for _, n := range names {
		if !strings.Contains(string(doc), "`"+n+"`") {
			t.Errorf("docs/CONFIG.md does not mention `%s`", n)
		}
	}
}

func eq[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func noSecret(t *testing.T, where, s string) {
	t.Helper()
	for _, v := range secretValues {
		if strings.Contains(s, v) || strings.Contains(s, v[:10]) {
			t.Errorf("%s contains secret %q:\n%s", where, v, s)
		}
	}
}

// dump renders a config with every field and map entry.
func dump(c *Config) string {
	var b strings.Builder
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			for it := v.MapRange(); it.Next(); {
				b.WriteString(it.Key().String() + "=")
				walk(it.Value())
			}
		default:
			b.WriteString(strings.TrimSpace(reflect.ValueOf(v.Interface()).String()) + " ")
		}
	}
	walk(reflect.ValueOf(c))
	return b.String()
}

// A webhook secret config check accepts is one the webhooks package signs
// with: whsec_ and base64 of at least 16 bytes (webhooks.CheckSecret).
func TestWebhookSecretCheckedLikeServe(t *testing.T) {
	for secret, ok := range map[string]bool{
		"whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw": true, // 24 bytes
		"whsec_c2hvcnQ=":                   false, // base64 of 5 bytes
		"whsec_not base64!":                false,
		"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw": false, // no prefix
	} {
		c := &Config{}
		c.SetDefaults()
		c.Webhooks = []Webhook{{Name: "crm", URL: "https://crm.example.com/hook", Events: []string{"*"}, Secret: secret}}
		err := c.Validate()
		if got := err == nil || !strings.Contains(err.Error(), "webhooks[0].secret_file"); got != ok {
			t.Errorf("secret %q: validate = %v, want ok=%v", secret, err, ok)
		}
	}
}
