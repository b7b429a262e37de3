package canned_test

import (
	"errors"
	"testing"

	"github.com/switchboard-hub/switchboard/canned"
)

func TestRender(t *testing.T) {
	vars := canned.Vars{canned.CustomerName: "Mia Virtanen", canned.AgentName: "alice", canned.ConversationID: "c-42"}
	for _, c := range []struct{ in, want string }{
		{"Hi {{customer.name}}, this is {{agent.name}} (case {{ conversation.id }}).", "Hi Mia Virtanen, this is alice (case c-42)."},
		{"no placeholders {braces} stay", "no placeholders {braces} stay"},
		{"{{customer.name}}{{customer.name}}", "Mia VirtanenMia Virtanen"},
		{"unknown {{order.id}} is kept", "unknown {{order.id}} is kept"},
	} {
		if got := canned.Render(c.in, vars); got != c.want {
			t.Errorf("Render(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// A value is text: placeholder-looking values are not expanded again.
	if got := canned.Render("Hi {{customer.name}}", canned.Vars{canned.CustomerName: "{{agent.name}}", canned.AgentName: "x"}); got != "Hi {{agent.name}}" {
		t.Errorf("value re-expanded: %q", got)
	}
	if got := canned.Render("Hi {{customer.name}},", nil); got != "Hi ," {
		t.Errorf("missing value: %q", got)
	}
}

func TestCheckText(t *testing.T) {
	for _, ok := range []string{"plain", "Hi {{customer.name}}", "{{ agent.name }} / {{conversation.id}}", "a { b } c"} {
		if err := canned.CheckText(ok); err != nil {
			t.Errorf("CheckText(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"Hi {{customer.email}}", "{{}}", "Hi {{customer.name", "{{customer.name}} and {{"} {
		if err := canned.CheckText(bad); !errors.Is(err, canned.ErrInvalid) {
			t.Errorf("CheckText(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}
