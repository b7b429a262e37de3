package email

import (
	"strings"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
)

// autoLimit counts the automatic mails this replica sent to each address
// within AutomaticLimitWindow (email.automatic_limit). It lives in
// memory: the limit is a brake on ping-pong with a misbehaving
// responder, not a ledger, and an address never reaches the store this
// way (erasure has nothing to find). Several replicas each apply it.
type autoLimit struct {
	mu   sync.Mutex
	sent map[string][]time.Time
}

// maxTracked bounds the addresses kept; the oldest windows are dropped
// first when a flood of distinct addresses arrives.
const maxTracked = 100000

func (a *autoLimit) prune(addr string, now time.Time) []time.Time {
	ts := a.sent[addr]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= AutomaticLimitWindow {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(a.sent, addr)
		return nil
	}
	a.sent[addr] = ts
	return ts
}

// allowed reports whether one more automatic mail may go to addr.
func (a *autoLimit) allowed(addr string, now time.Time, limit int) bool {
	if limit < 0 {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sent == nil {
		return limit > 0
	}
	return len(a.prune(strings.ToLower(addr), now)) < limit
}

// record records an automatic mail to addr.
func (a *autoLimit) record(addr string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sent == nil {
		a.sent = map[string][]time.Time{}
	}
	addr = strings.ToLower(addr)
	if len(a.sent) >= maxTracked {
		for k := range a.sent {
			if a.prune(k, now) != nil {
				delete(a.sent, k) // map order: an arbitrary one goes
			}
			if len(a.sent) < maxTracked {
				break
			}
		}
	}
	a.sent[addr] = append(a.prune(addr, now), now)
}

// withToken appends the conversation's short reference ("[#4F2KQX]") to
// a subject that does not carry it yet: threading chain step 3 finds the
// conversation by it when a client keeps nothing else.
func withToken(subject, conversationID string) string {
	if conversationID == "" {
		return subject
	}
	tok := connectors.ConversationToken(conversationID)
	// Another conversation's token (a customer answering an old thread
	// opened this one) would point threading there first: replaced.
	for i := 0; i < 4; i++ {
		old := connectors.SubjectToken(subject)
		if old == "" || old == tok {
			break
		}
		if j := strings.Index(strings.ToUpper(subject), "[#"+old+"]"); j >= 0 {
			subject = strings.Join(strings.Fields(subject[:j]+subject[j+len(old)+3:]), " ")
		}
	}
	if connectors.SubjectToken(subject) == tok {
		return subject
	}
	return subject + " [#" + tok + "]"
}
