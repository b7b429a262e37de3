package email

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
)

// takeAutomatic reports whether one more automatic mail (entry use) may
// go to addr within email.automatic_limit, and counts it. With the hub's
// shared budgets (connectors.Env.Budgets) every replica honours one limit:
// the budget key is a hash of the channel and the lower-cased address (no
// address in the clear; the record disappears AutomaticLimitWindow after
// its last use), and the use is the entry id, so a retry of the same
// message after a temporary SMTP failure or a crash counts once. Without
// them (a channel built outside the hub) the limit is kept per replica in
// memory (autoLimit) and counted once the mail is sent.
func (c *Channel) takeAutomatic(ctx context.Context, addr, use string) (bool, error) {
	limit := c.set.AutomaticLimit
	if limit < 0 {
		return true, nil
	}
	if c.env.Budgets == nil {
		return c.auto.allowed(addr, c.clock(), limit), nil
	}
	if use == "" {
		var r [12]byte
		_, _ = rand.Read(r[:])
		use = "x:" + hex.EncodeToString(r[:])
	}
	ok, err := c.env.Budgets.TakeBudget(ctx, automaticBudgetKey(c.name, addr), use, limit, AutomaticLimitWindow)
	if err != nil {
		return false, fmt.Errorf("email: automatic_limit: %w", err)
	}
	return ok, nil
}

// automaticBudgetKey names the shared budget of automatic mail from
// channel to addr: "email-automatic:" and 32 hex digits of a SHA-256.
func automaticBudgetKey(channel, addr string) string {
	h := sha256.Sum256([]byte("email-automatic\x00" + channel + "\x00" + strings.ToLower(strings.TrimSpace(addr))))
	return "email-automatic:" + hex.EncodeToString(h[:16])
}

// autoLimit counts the automatic mails this replica sent to each address
// within AutomaticLimitWindow (email.automatic_limit) when the channel has
// no shared budgets (connectors.Env.Budgets). It lives in memory: an
// address never reaches the store this way.
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
