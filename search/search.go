package search

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// Doc is one indexed timeline entry (a customer's message, an agent's
// reply or note) with what is known of its customer when it was written:
// a customer is found through the documents that carry their name and
// identities, so erasing or expiring a customer's entries takes the
// customer out of the index with them.
type Doc struct {
	ID             string                `json:"id"`
	CustomerID     string                `json:"customer_id"`
	ConversationID string                `json:"conversation_id,omitempty"`
	Channel        string                `json:"channel"`
	Kind           string                `json:"kind,omitempty"`
	Direction      string                `json:"direction,omitempty"`
	At             time.Time             `json:"at"`
	Subject        string                `json:"subject,omitempty"`
	Text           string                `json:"text,omitempty"`
	Name           string                `json:"name,omitempty"`
	Identities     []connectors.Identity `json:"identities,omitempty"`
}

// Index is what a backend keeps: documents under their terms. Every
// method is safe for concurrent use (and, for a shared backend, from
// every replica); Put and the removals are idempotent.
type Index interface {
	// Put indexes d (replacing an earlier version under the same ID).
	Put(ctx context.Context, d Doc) error
	// Remove takes the documents ids of customerID out of the index.
	Remove(ctx context.Context, customerID string, ids ...string) error
	// RemoveConversation takes every document of a conversation out.
	RemoveConversation(ctx context.Context, customerID, conversationID string) error
	// Candidates returns up to limit documents carrying every one of
	// terms with At in [from, to) (zero: unbounded), newest first.
	Candidates(ctx context.Context, terms []string, from, to time.Time, limit int) ([]Doc, error)
}

// Later is an Index that can take a document without waiting for it to
// be written (search/redis: a group commit that waits a few milliseconds
// for more documents). wait returns once d is written or has failed; a
// Candidates or removal in the same process writes what is queued first.
type Later interface {
	PutLater(d Doc) (wait func(context.Context) error, err error)
}

// DocOf is the document of entry e in conversation c, with its
// customer's name and identities when it came from them.
func DocOf(e store.Entry) Doc {
	d := Doc{ID: e.ID, CustomerID: e.CustomerID, ConversationID: e.ConversationID, Channel: e.Channel, Kind: e.Kind,
		Direction: string(e.Direction), At: e.OccurredAt, Subject: e.Subject, Text: e.Text}
	if d.At.IsZero() {
		d.At = e.CreatedAt
	}
	if e.Direction == connectors.Inbound {
		d.Name = e.SenderName
		if e.Sender != nil {
			d.Identities = []connectors.Identity{*e.Sender}
		}
	}
	return d
}

// Query is one search.
type Query struct {
	Text     string
	Channel  string
	Status   string
	Team     string
	Assignee string
	From, To time.Time
	Limit    int
	Cursor   string
	// Allow says whether a hit in conversation c may be shown (the
	// caller's visibility); nil allows everything.
	Allow func(c store.Conversation) bool
}

// Segment is a piece of a snippet; Match marks a matched word. The UI
// sets each piece as text (never as HTML), so nothing in a message can
// inject markup.
type Segment struct {
	Text  string `json:"text"`
	Match bool   `json:"match,omitempty"`
}

// Hit is one ranked message.
type Hit struct {
	ID             string    `json:"id"`
	CustomerID     string    `json:"customer_id"`
	CustomerName   string    `json:"customer_name,omitempty"`
	ConversationID string    `json:"conversation_id,omitempty"`
	Channel        string    `json:"channel"`
	Direction      string    `json:"direction,omitempty"`
	At             time.Time `json:"at"`
	Status         string    `json:"status,omitempty"`
	Team           string    `json:"team,omitempty"`
	Assignee       string    `json:"assignee,omitempty"`
	Subject        []Segment `json:"subject,omitempty"`
	Snippet        []Segment `json:"snippet"`
	Matched        []string  `json:"matched"`
	Score          float64   `json:"score"`
}

// CustomerHit is a customer whose name or identities matched.
type CustomerHit struct {
	ID         string                `json:"id"`
	Name       string                `json:"name,omitempty"`
	Identities []connectors.Identity `json:"identities,omitempty"`
	Matched    []string              `json:"matched"`
}

// Result is one page of a search.
type Result struct {
	Customers []CustomerHit `json:"customers"`
	Hits      []Hit         `json:"hits"`
	// Next is the cursor of the next page ("" when this is the last).
	Next string `json:"next"`
}

// ErrQuery: the query cannot be run (empty, or a bad cursor).
var ErrQuery = errors.New("invalid search query")

// Conversations reads the current state of a hit's conversation (status,
// team, assignee and audience change after indexing, so they are checked
// when searching, not stored in the index).
type Conversations interface {
	GetConversation(ctx context.Context, id string) (store.Conversation, error)
}

// Searcher ranks what an Index finds.
type Searcher struct {
	Index         Index
	Conversations Conversations
	// Region reads phone numbers written without a country code;
	// Regions overrides it for a query filtered to a channel
	// (channels[].default_region).
	Region  string
	Regions map[string]string
	// Window is how many of the newest matching documents are ranked
	// (0 = 500): the index returns matches newest first, and relevance
	// orders that window.
	Window int
	Clock  store.Clock
}

// Search runs q.
func (s *Searcher) Search(ctx context.Context, q Query) (Result, error) {
	res := Result{Customers: []CustomerHit{}, Hits: []Hit{}}
	region := s.Region
	if r := s.Regions[q.Channel]; q.Channel != "" && r != "" {
		region = r
	}
	p := Parse(q.Text, region)
	if len(p.Terms) == 0 {
		return res, fmt.Errorf("%w: nothing to search for", ErrQuery)
	}
	offset := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 0 {
			return res, fmt.Errorf("%w: bad cursor", ErrQuery)
		}
		offset = n
	}
	limit := q.Limit
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	window := s.Window
	if window <= 0 {
		window = 500
	}
	terms := p.Terms
	if q.Channel != "" {
		terms = append(append([]string(nil), terms...), ChannelTerm(q.Channel))
	}
	docs, err := s.Index.Candidates(ctx, terms, q.From, q.To, window)
	if err != nil {
		return res, fmt.Errorf("search: %w", err)
	}
	now := time.Now()
	if s.Clock != nil {
		now = s.Clock()
	}
	convs := map[string]*store.Conversation{}
	conv := func(id string) *store.Conversation {
		if c, ok := convs[id]; ok {
			return c
		}
		var cp *store.Conversation
		if s.Conversations != nil && id != "" {
			if c, err := s.Conversations.GetConversation(ctx, id); err == nil {
				cp = &c
			}
		}
		convs[id] = cp
		return cp
	}
	type ranked struct {
		Hit
		who bool
		doc Doc
	}
	var all []ranked
	for _, d := range docs {
		c := conv(d.ConversationID)
		if c == nil && d.ConversationID != "" {
			continue // gone (erased, expired) or unreadable
		}
		if c != nil {
			if q.Allow != nil && !q.Allow(*c) ||
				q.Status != "" && c.Status != q.Status || q.Team != "" && c.Team != q.Team || q.Assignee != "" && c.Assignee != q.Assignee {
				continue
			}
		} else if q.Status != "" || q.Team != "" || q.Assignee != "" || q.Allow != nil {
			continue
		}
		h := Hit{ID: d.ID, CustomerID: d.CustomerID, CustomerName: d.Name, ConversationID: d.ConversationID, Channel: d.Channel,
			Direction: d.Direction, At: d.At}
		if c != nil {
			h.Status, h.Team, h.Assignee = c.Status, c.Team, c.Assignee
		}
		score, matched, who := rank(d, p, now)
		h.Score, h.Matched = score, matched
		all = append(all, ranked{Hit: h, who: who, doc: d})
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Score != all[j].Score {
			return all[i].Score > all[j].Score
		}
		return all[i].At.After(all[j].At)
	})
	if offset == 0 {
		seen := map[string]bool{}
		for _, r := range all {
			if !r.who || seen[r.CustomerID] {
				continue
			}
			seen[r.CustomerID] = true
			res.Customers = append(res.Customers, CustomerHit{ID: r.CustomerID, Name: r.doc.Name, Identities: r.doc.Identities, Matched: r.Matched})
			if len(res.Customers) == 10 {
				break
			}
		}
	}
	if offset < len(all) {
		end := min(offset+limit, len(all))
		for _, r := range all[offset:end] {
			// Only the page's hits are highlighted: the window's others
			// are ranked and left.
			r.Subject = Highlight(r.doc.Subject, p.Words, 0)
			r.Snippet = Highlight(r.doc.Text, p.Words, 160)
			if r.Snippet == nil {
				r.Snippet = []Segment{}
			}
			res.Hits = append(res.Hits, r.Hit)
		}
		if end < len(all) {
			res.Next = strconv.Itoa(end)
		}
	}
	return res, nil
}

// rank scores d for p: each query word counts by where it occurs (the
// customer's name or identity over the subject over the text, more
// occurrences a little more), an exact identity term most, and a small
// decay with age breaks ties toward recent work. who says the match was
// on the customer (name or identity), which lists the customer.
func rank(d Doc, p Parsed, now time.Time) (score float64, matched []string, who bool) {
	var idw map[string]struct{}
	if len(d.Identities) > 0 {
		idw = map[string]struct{}{}
		for _, id := range d.Identities {
			identityTerms(id, idw)
		}
	}
	for _, t := range p.Terms {
		if strings.HasPrefix(t, prefixPhone) || strings.HasPrefix(t, prefixEmail) {
			if _, ok := idw[t]; ok {
				score += 8
				who = true
				matched = append(matched, t[strings.IndexByte(t, ':')+1:])
			}
		}
	}
	if len(p.Words) > 0 {
		name := countWords(d.Name, p.Words)
		subj := countWords(d.Subject, p.Words)
		text := countWords(d.Text, p.Words)
		for i, w := range p.Words {
			s := 0.0
			_, inID := idw[w]
			if name[i] > 0 || inID {
				s += 4
				who = true
			}
			if subj[i] > 0 {
				s += 2
			}
			if n := text[i]; n > 0 {
				s += 1 + math.Log(float64(n))
			}
			if s > 0 {
				matched = append(matched, w)
			}
			score += s
		}
	}
	age := now.Sub(d.At).Hours() / 24
	if age < 0 {
		age = 0
	}
	score += 1 / (1 + age/30)
	if matched == nil {
		matched = []string{}
	}
	return score, matched, who
}

// countWords counts each of ws in s.
func countWords(s string, ws []string) []int {
	out := make([]int, len(ws))
	if s == "" {
		return out
	}
	rawWords(s, func(w string, _, _ int) {
		for i, x := range ws {
			if strings.EqualFold(x, w) {
				out[i]++
			}
		}
	})
	return out
}
