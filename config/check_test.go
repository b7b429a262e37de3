package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// lines is Error() of err split into its problems.
func lines(t *testing.T, err error) []string {
	t.Helper()
	var ve ValidationErrors
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not ValidationErrors", err, err)
	}
	return strings.Split(ve.Error(), "\n")
}

func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A file with problems of every stage reports all of them in one error,
// ordered by line, each at its key's line (or its variable).
func TestCheckReportsEveryProblemWithItsLine(t *testing.T) {
	p := writeConfig(t, `http:
  adr: 127.0.0.1:8080
router:
  workers: many
  claim_after: 30
teams:
  - name: support
agents:
  - name: alice
    token: tok-alice-1234567890
    teams: [suport]
channels:
  - name: mail
    type: api
    phaze: live
  - name: mail
    type: api
    pilot_team: nobody
routing:
  - {channel: nope, team: support}
`)
	cfg, err := Load(p, []string{"SWITCHBOARD_LOG_LEVEL=loud", "SWITCHBOARD_NOPE=1"})
	if cfg != nil {
		t.Error("a file that does not decode returned a Config")
	}
	sameLines(t, lines(t, err), []string{
		p + `:2: unknown key "adr" in http; did you mean "addr"?`,
		p + `:4: router.workers: wrong type: want an integer, got a string`,
		p + `:5: router.claim_after: is not a duration (use a unit, e.g. 30s, 5m, 1h30m)`,
		p + `:11: agents[0].teams[0]: team "suport" is not defined in teams`,
		p + `:15: unknown key "phaze" in channels[]; did you mean "phase"?`,
		p + `:16: channels[1].name: duplicate channel "mail"`,
		p + `:18: channels[1].pilot_team: team "nobody" is not defined in teams`,
		p + `:20: routing[0].channel: channel "nope" is not defined in channels`,
		`SWITCHBOARD_NOPE: matches no configuration key`,
		`SWITCHBOARD_LOG_LEVEL: log.level: "loud" is not one of debug, info, warn, error`,
	})
}

func TestUnknownKeySuggestsClosest(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"channel: []\n", `:1: unknown key "channel" in the top level; did you mean "channels"?`},
		{"store:\n  redis:\n    addrs: [r:6379]\n    pasword: x\n", `:4: unknown key "pasword" in store.redis; did you mean "password"?`},
		{"agents:\n  - name: a\n    token: t\n    Teams: [x]\n", `:4: unknown key "Teams" in agents[]; did you mean "teams"?`},
		{"router:\n  max_open_per_agnet: 3\n", `did you mean "max_open_per_agent"?`},
		{"log:\n  colour: red\n", `:2: unknown key "colour" in log`},
		// A key of another section.
		{"http:\n  level: debug\n", `:2: unknown key "level" in http; did you mean "log.level"?`},
		{"store:\n  addrs: [r:6379]\n", `:2: unknown key "addrs" in store; did you mean "store.redis.addrs"?`},
	} {
		_, err := Load(writeConfig(t, tc.yaml), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v does not contain %q", tc.yaml, err, tc.want)
		}
		if strings.HasSuffix(tc.want, "in log") && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("%q: suggested a key far from the typo: %v", tc.yaml, err)
		}
	}
}

// A channel section's own rules run in Check, and their problems, as well
// as the section's unknown keys and wrong types, point at the file's lines
// (or at the variable that set the value).
func TestCheckChannelSections(t *testing.T) {
	type settings struct {
		IMAP struct {
			Addr string `yaml:"addr"`
			User string `yaml:"username"`
		} `yaml:"imap"`
		Port int    `yaml:"port"`
		From string `yaml:"from"`
	}
	check := func(ch Channel, _ *Config) error {
		var s settings
		errs, err := DecodeErrors(ch.Decode(TypeEmail, &s))
		if err != nil {
			return err
		}
		where := fmt.Sprintf("channels[%s].email", ch.Name)
		if s.IMAP.Addr == "" {
			errs = append(errs, FieldError{Path: where + ".imap.addr", Msg: "is required"})
		}
		if s.Port < 0 {
			errs = append(errs, FieldError{Path: where + ".port", Msg: "must not be negative"})
		}
		if s.From == "" {
			errs = append(errs, FieldError{Path: where + ".from", Msg: "is required"})
		}
		if len(errs) > 0 {
			return errs
		}
		return nil
	}
	p := writeConfig(t, `channels:
  - name: api
    type: api
  - name: mail
    type: email
    email:
      imap:
        adr: imap.example.com:993
        username: u
      port: -1
      from: x
  - name: other
    type: email
    email: {imap: {addr: "i:993"}, port: many, from: y}
`)
	_, err := Check(p, []string{"SWITCHBOARD_CHANNELS_2_EMAIL_FROM="}, map[string]SectionCheck{TypeEmail: check})
	sameLines(t, lines(t, err), []string{
		// "imap.addr: is required" is left out: the unknown key names it.
		p + `:8: channels[mail].email: unknown key "adr" in email.imap; did you mean "addr"?`,
		p + `:10: channels[mail].email.port: must not be negative`,
		p + `:14: channels[other].email.port: wrong type: want an integer, got a string`,
		`SWITCHBOARD_CHANNELS_2_EMAIL_FROM: channels[other].email.from: is required`,
	})

	// A key of a nested section written a level too high.
	ch := Channel{Name: "m", Type: TypeEmail, Email: map[string]any{"addr": "x"}}
	if err := ch.Decode(TypeEmail, &settings{}); err == nil || !strings.Contains(err.Error(),
		`channels[m].email: unknown key "addr" in email; did you mean "imap.addr"?`) {
		t.Errorf("Decode = %v", err)
	}

	// The same file without the checks: the sections are not looked at.
	if _, err := Load(p, nil); err != nil {
		t.Errorf("Load checked channel sections: %v", err)
	}
}

// A value that does not decode is reported once: not again as missing.
func TestWrongTypeIsNotAlsoMissing(t *testing.T) {
	p := writeConfig(t, "teams:\n  - name: [a, b]\n")
	sameLines(t, lines(t, func() error { _, err := Load(p, nil); return err }()), []string{
		p + ":2: teams[0].name: wrong type: want a string, got a list",
	})
}

// The CLI's own variables are not configuration keys.
func TestCLIVariablesAreIgnored(t *testing.T) {
	_, err := Load("", []string{EnvToken + "=secret-token", EnvURL + "=http://hub:8080", EnvConfigFile + "=x.yaml", "SWITCHBOARD_BENCH_MAILS=10"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if _, err := Load("", []string{"SWITCHBOARD_TOKENS=x"}); err == nil {
		t.Fatal("a near miss of SWITCHBOARD_TOKEN was ignored")
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"adr", "addr", 1}, {"smpt", "smtp", 1}, {"phaze", "phase", 1}, {"", "abc", 3}, {"same", "same", 0}, {"kitten", "sitting", 3}} {
		if d := editDistance(tc.a, tc.b); d != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, d, tc.d)
		}
	}
}
