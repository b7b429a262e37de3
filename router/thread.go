package router

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/store"
)

// MessageIDIndex is the ProviderIDs "channel" under which the router
// records the Message-ID ("<id>") and Outlook thread root ("ti:HEX") of
// every mail with thread hints, shared by every email channel: the record
// names the entry, so a later reply that names the id (in any mailbox)
// finds its conversation, and the same mail reaching a second mailbox
// finds its entry. The records belong to the customer and are erased with
// the timeline (store.Entries.DeleteEntries).
const MessageIDIndex = store.MessageIDIndex

// maxThreadConversations is how many of the customer's conversations
// (most recently active first) the token, Thread-Index and subject steps
// look at.
const maxThreadConversations = 100

// Steps of the threading chain, as reported by threadOf (metrics, tests).
const (
	ThreadHubID     = "hub-id"       // one of the hub's own Message-IDs (carries the thread)
	ThreadReference = "reference"    // a Message-ID the hub has seen or sent
	ThreadToken     = "token"        // the hub's [#XXXXXX] subject token
	ThreadIndex     = "thread-index" // Outlook's Thread-Index root
	ThreadSubject   = "subject"      // same customer, subject and window
	ThreadNew       = "new"          // none: the channel's own key
)

// knownThread is the thread key of a message without thread hints (every
// channel but email): its channel's own key, known before the customer is
// resolved (the prefetch reads its conversation with the first reads).
// ok false: the threading chain decides, with the customer.
func knownThread(msg connectors.Message) (string, bool) {
	if msg.Thread != nil {
		return "", false
	}
	return msg.Channel + "|" + msg.ThreadKey, true
}

// threadOf runs the threading chain for msg from customer and returns the
// full thread key (CHANNEL|KEY) the message joins, and the step that
// decided. Each step runs only when the ones before found nothing:
//
//  1. the hub's own Message-ID in In-Reply-To/References (it carries the
//     thread key; the channel decoded it): the conversation with that key
//     on any email channel of the customer, else the key on msg's channel;
//  2. every other id in In-Reply-To/References, newest first, looked up in
//     MessageIDIndex and the channel's outbound ids: the conversation of
//     the entry it names, when it is the same customer's;
//  3. the hub's subject token: the customer's conversation it names;
//  4. Outlook's Thread-Index root: a conversation whose hub-written root
//     it is, or the entry of an earlier mail with the same root;
//  5. the normalised subject: the customer's most recently active email
//     conversation with the same subject, active within the window;
//  6. otherwise the channel's key (the References root, or the mail's own
//     id): a new topic opens a new conversation.
//
// A conversation of another customer never matches: a claimed From that
// names someone else's Message-ID stays on its own timeline.
func (r *Router) threadOf(ctx context.Context, msg connectors.Message, customer string) (string, string, error) {
	if k, ok := knownThread(msg); ok {
		return k, ThreadNew, nil
	}
	own := msg.Channel + "|" + msg.ThreadKey
	t := msg.Thread
	var convs []store.Conversation
	loaded := false
	list := func() ([]store.Conversation, error) {
		if loaded {
			return convs, nil
		}
		loaded = true
		cs, _, err := r.st.ListConversations(ctx, store.ConversationFilter{CustomerIDs: []string{customer}, Limit: maxThreadConversations})
		if err != nil {
			return nil, fmt.Errorf("threading: list conversations: %w", err)
		}
		for _, c := range cs {
			if c.CustomerID == customer && r.isEmail(c.Channel) {
				convs = append(convs, c)
			}
		}
		return convs, nil
	}
	// 1. The hub's own id: the key it carries.
	if t.HubKey && msg.ThreadKey != "" {
		cs, err := list()
		if err != nil {
			return "", "", err
		}
		if c := find(cs, func(c store.Conversation) bool { return c.ThreadKey == own }); c != nil {
			return c.ThreadKey, ThreadHubID, nil
		}
		if c := find(cs, func(c store.Conversation) bool { return strings.HasSuffix(c.ThreadKey, "|"+msg.ThreadKey) }); c != nil {
			return c.ThreadKey, ThreadHubID, nil
		}
		return own, ThreadHubID, nil
	}
	// 2. Every Message-ID the hub has seen or sent.
	for _, id := range t.Refs {
		for _, ch := range []string{MessageIDIndex, msg.Channel} {
			key, err := r.indexed(ctx, ch, "<"+id+">", customer)
			if err != nil {
				return "", "", err
			}
			if key != "" {
				return key, ThreadReference, nil
			}
		}
	}
	// 3. The subject token.
	if t.Token != "" {
		cs, err := list()
		if err != nil {
			return "", "", err
		}
		if c := find(cs, func(c store.Conversation) bool { return connectors.ConversationToken(c.ID) == t.Token }); c != nil {
			return c.ThreadKey, ThreadToken, nil
		}
	}
	// 4. Outlook's Thread-Index.
	if t.IndexRoot != "" {
		cs, err := list()
		if err != nil {
			return "", "", err
		}
		if c := find(cs, func(c store.Conversation) bool { return connectors.ThreadIndexRoot(c.ID) == t.IndexRoot }); c != nil {
			return c.ThreadKey, ThreadIndex, nil
		}
		key, err := r.indexed(ctx, MessageIDIndex, "ti:"+t.IndexRoot, customer)
		if err != nil {
			return "", "", err
		}
		if key != "" {
			return key, ThreadIndex, nil
		}
	}
	// 5. Same customer, same subject, within the window. Only when the
	// mail names nothing the hub knows: a reply to a thread the hub never
	// saw keeps its own key.
	if t.Subject != "" && t.Window > 0 {
		cs, err := list()
		if err != nil {
			return "", "", err
		}
		since := msg.OccurredAt.Add(-t.Window)
		if c := find(cs, func(c store.Conversation) bool {
			return !c.LastActivity.Before(since) && connectors.NormalizeSubject(c.Subject) == t.Subject
		}); c != nil {
			return c.ThreadKey, ThreadSubject, nil
		}
	}
	return own, ThreadNew, nil
}

// find returns the first conversation (most recently active first) that
// matches, preferring unresolved ones.
func find(cs []store.Conversation, match func(store.Conversation) bool) *store.Conversation {
	var resolved *store.Conversation
	for i := range cs {
		if !match(cs[i]) {
			continue
		}
		if cs[i].Status != store.StatusResolved {
			return &cs[i]
		}
		if resolved == nil {
			resolved = &cs[i]
		}
	}
	return resolved
}

// indexed returns the thread key of the conversation holding the entry
// recorded under (channel, providerID), when that is customer's; "" when
// there is none.
func (r *Router) indexed(ctx context.Context, channel, providerID, customer string) (string, error) {
	id, err := r.st.GetProviderID(ctx, channel, providerID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("threading: look up %s: %w", providerID, err)
	}
	e, err := r.st.GetEntry(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("threading: entry %s: %w", id, err)
	}
	if e.CustomerID != customer || e.ConversationID == "" {
		return "", nil
	}
	c, err := r.st.GetConversation(ctx, e.ConversationID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("threading: conversation %s: %w", e.ConversationID, err)
	}
	if c.CustomerID != customer {
		return "", nil
	}
	return c.ThreadKey, nil
}

func (r *Router) isEmail(channel string) bool {
	ch, ok := r.dir.Get(channel)
	return ok && ch.Type == "email"
}

// index records msg's Message-ID and Thread-Index root under
// MessageIDIndex for entry entryID, before the entry is written (a
// redelivery after a crash stops at the dedupe check, so afterwards would
// be too late; a record naming an entry not yet written is skipped by
// every lookup).
func (r *Router) index(ctx context.Context, msg connectors.Message, customer, entryID string) error {
	t := msg.Thread
	if t == nil {
		return nil
	}
	if t.MessageID != "" {
		// A mail that reuses another customer's Message-ID (a forgery)
		// never takes over that customer's record.
		if id, err := r.st.GetProviderID(ctx, MessageIDIndex, "<"+t.MessageID+">"); err == nil && id != entryID {
			if e, err := r.st.GetEntry(ctx, id); err == nil && e.CustomerID != customer {
				return nil
			}
		}
		if err := r.st.PutProviderID(ctx, MessageIDIndex, "<"+t.MessageID+">", customer, entryID); err != nil {
			return fmt.Errorf("index message id: %w", err)
		}
	}
	if t.IndexRoot != "" {
		if err := r.st.PutProviderID(ctx, MessageIDIndex, "ti:"+t.IndexRoot, customer, entryID); err != nil {
			return fmt.Errorf("index thread index: %w", err)
		}
	}
	return nil
}

// MailboxesField is the entry field listing every mailbox a mail reached
// ("support/INBOX, sales/INBOX").
const MailboxesField = "Mailboxes"

// sameMail finds the entry of the same mail (same Message-ID, same
// customer) already received through another mailbox or folder: it adds
// msg's mailbox to that entry's Mailboxes and reports done.
func (r *Router) sameMail(ctx context.Context, msg connectors.Message, customer string) (bool, error) {
	t := msg.Thread
	if t == nil || t.MessageID == "" {
		return false, nil
	}
	id, err := r.st.GetProviderID(ctx, MessageIDIndex, "<"+t.MessageID+">")
	if errors.Is(err, store.ErrNotFound) || err == nil && id == msg.ID {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up message id: %w", err)
	}
	e, err := r.st.GetEntry(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up message id: %w", err)
	}
	if e.CustomerID != customer || e.Direction != connectors.Inbound || !r.isEmail(e.Channel) {
		return false, nil
	}
	if t.Mailbox == "" || hasMailbox(e.Fields, t.Mailbox) {
		return true, nil
	}
	if err := r.addMailboxTo(ctx, e.ID, msg); err != nil {
		return false, err
	}
	r.m.Deduped.WithLabelValues(msg.Channel).Inc()
	return true, nil
}

// mailEntryID is the id of the entry msg makes: for a mail with a
// Message-ID, derived from its customer and that Message-ID, so every copy
// of one mail (two mailboxes, two folders, read on two replicas at the
// same moment) names the same entry and the store's create-once append
// keeps exactly one; the customer in the derivation keeps a forged
// Message-ID of another customer's mail on its own entry. Any other
// message's entry id is its message id (connectors.MessageID).
func mailEntryID(msg connectors.Message, customer string) string {
	if msg.Thread == nil || msg.Thread.MessageID == "" {
		return msg.ID
	}
	return MailEntryID(customer, msg.Thread.MessageID)
}

// MailEntryID is the id of the entry of customerID's mail with Message-ID
// messageID (without the angle brackets), whichever mailboxes it reached.
func MailEntryID(customerID, messageID string) string {
	return ids.Derived("m_", customerID, "<"+messageID+">")
}

// addMailboxTo adds msg's mailbox to the Mailboxes of entry id (a no-op
// when listed already, or when msg names none).
func (r *Router) addMailboxTo(ctx context.Context, id string, msg connectors.Message) error {
	if msg.Thread == nil || msg.Thread.Mailbox == "" {
		return nil
	}
	mb := msg.Thread.Mailbox
	_, err := r.st.UpdateEntry(ctx, id, func(x *store.Entry) error {
		if hasMailbox(x.Fields, mb) {
			return nil
		}
		x.Fields = addMailbox(x.Fields, mb)
		x.UpdatedAt = r.opts.Clock().UTC()
		return nil
	})
	if err != nil {
		return fmt.Errorf("add mailbox to entry %s: %w", id, err)
	}
	return nil
}

func hasMailbox(fs []connectors.Field, mb string) bool {
	for _, f := range fs {
		if f.Name == MailboxesField {
			for _, x := range strings.Split(f.Value, ", ") {
				if x == mb {
					return true
				}
			}
		}
	}
	return false
}

func addMailbox(fs []connectors.Field, mb string) []connectors.Field {
	out := append([]connectors.Field(nil), fs...)
	for i, f := range out {
		if f.Name == MailboxesField {
			out[i].Value = f.Value + ", " + mb
			return out
		}
	}
	return append(out, connectors.Field{Name: MailboxesField, Value: mb})
}

// ThreadedByField names, on an entry, the weaker threading step that put
// it in its conversation (token, Thread-Index, subject), so an agent sees
// why a mail without thread headers joined.
const ThreadedByField = "Threaded by"

func threadedBy(step string, t *connectors.ThreadHints) string {
	switch step {
	case ThreadToken:
		return "the conversation's reference [#" + t.Token + "] in the subject"
	case ThreadIndex:
		return "Outlook's Thread-Index"
	case ThreadSubject:
		return fmt.Sprintf("the same subject from the same customer within %s (email.thread_window)", t.Window)
	}
	return ""
}
