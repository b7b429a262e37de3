package redis

import (
	"errors"
	"testing"
)

// A refusal of the script turns the one-step path off for good; a full or
// busy server must not (it is not a refusal, and passes).
func TestScriptRefusedOnlyForRefusals(t *testing.T) {
	for _, c := range []struct {
		msg     string
		refused bool
	}{
		{"ERR unknown command 'FCALL'", true},
		{"NOPERM this user has no permissions to run the 'fcall' command", true},
		{"CROSSSLOT Keys in request don't hash to the same slot", true},
		{"ERR syntax error", true},
		{"ERR This Redis command is not allowed from script", true},
		{"OOM command not allowed when used memory > 'maxmemory'.", false},
		{"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.", false},
		{"i/o timeout", false},
	} {
		if got := isScriptRefused(errors.New(c.msg)); got != c.refused {
			t.Errorf("isScriptRefused(%q) = %v, want %v", c.msg, got, c.refused)
		}
	}
}
