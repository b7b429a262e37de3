package automation

import (
	"testing"

	"github.com/switchboard-hub/switchboard/store"
)

// TestEffects: reply, note and webhook leave the conversation as it is and
// come back as effects numbered by their place in the rule.
func TestEffects(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Action
		did  string
	}{
		{"send reply", Action{Type: ActSendReply, Text: "Hi {{customer.name}}"}, "sent a reply"},
		{"send canned reply", Action{Type: ActSendReply, Canned: "thanks"}, "sent a reply"},
		{"add note", Action{Type: ActAddNote, Text: "VIP: call back"}, "added a note"},
		{"webhook", Action{Type: ActWebhook, Value: "crm"}, "called the webhook"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := conv()
			did, fx := Apply("r1", []Action{{Type: ActAddLabel, Value: "x"}, tc.a}, &c, at)
			if len(did) != 2 || did[1] != tc.did {
				t.Fatalf("did %v", did)
			}
			want := store.RuleEffect{Rule: "r1", N: 1, Type: tc.a.Type, Text: tc.a.Text, Canned: tc.a.Canned, Value: tc.a.Value}
			if len(fx) != 1 || fx[0] != want {
				t.Fatalf("effects %+v, want %+v", fx, want)
			}
			if c.Status != store.StatusOpen || len(c.RuleRuns) != 0 {
				t.Fatalf("conversation changed by an effect: %+v", c)
			}
		})
	}
}

// TestEventsRuleRunsOn: a rule runs on its own event only; a message that
// opens its conversation runs conversation.opened rules too, a later
// message does not.
func TestEventsRuleRunsOn(t *testing.T) {
	later := conv()
	later.ID = "v_older"
	resolved := subj()
	resolved.Event, resolved.Entry = EventConversationResolved, store.Entry{}
	added := subj()
	added.Event, added.Entry, added.Added = EventLabelAdded, store.Entry{}, []string{"vip"}
	for _, tc := range []struct {
		name  string
		event string
		s     Subject
		c     store.Conversation
		want  bool
	}{
		{"message.received on a message", EventMessageReceived, subj(), conv(), true},
		{"conversation.opened on the opening message", EventConversationOpened, subj(), conv(), true},
		{"conversation.opened on a later message", EventConversationOpened, subj(), later, false},
		{"conversation.resolved on a message", EventConversationResolved, subj(), conv(), false},
		{"conversation.resolved on a resolution", EventConversationResolved, resolved, conv(), true},
		{"message.received on a resolution", EventMessageReceived, resolved, conv(), false},
		{"label.added on a label", EventLabelAdded, added, conv(), true},
		{"label.added on a message", EventLabelAdded, subj(), conv(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			fired := Run([]Rule{{ID: "r", Event: tc.event, Actions: []Action{{Type: ActAddLabel, Value: "seen"}}}}, tc.s, &c)
			if got := len(fired) == 1; got != tc.want {
				t.Fatalf("fired %v, want %v", fired, tc.want)
			}
		})
	}
}

// TestCSATScore: the csat_score condition and csat.received events.
func TestCSATScore(t *testing.T) {
	for _, tc := range []struct {
		value string
		score int
		want  bool
	}{
		{"1-2", 1, true}, {"1-2", 2, true}, {"1-2", 3, false}, {"5", 5, true}, {"5", 4, false}, {"4-5", 0, false}, {"x", 1, false},
	} {
		s := subj()
		s.Event, s.Entry, s.Score = EventCSATReceived, store.Entry{}, tc.score
		c := conv()
		fired := Run([]Rule{{ID: "r", Event: EventCSATReceived, Conditions: []Condition{{Type: CondCSATScore, Value: tc.value}},
			Actions: []Action{{Type: ActAddLabel, Value: "x"}}}}, s, &c)
		if got := len(fired) == 1; got != tc.want {
			t.Errorf("csat_score %q on %d: fired %v, want %v", tc.value, tc.score, got, tc.want)
		}
	}
}
