package router

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Figure names: the counters kept per channel, phase and day (issue 16).
const (
	FigMessagesIn       = "messages_in"
	FigDuplicates       = "duplicates"
	FigRefused          = "refused"
	FigDeadLetters      = "dead_letters"
	FigMatchedVerified  = "matched.verified"
	FigMatchedClaimed   = "matched.claimed"
	FigNewCustomers     = "new_customers"
	FigMergeSuggestions = "merge_suggestions"
	FigConversations    = "conversations"
	FigOptOuts          = "opt_outs"
	// FigWouldRoute + TEAM: conversations opened in shadow, by the team
	// they would have gone to ("-" when none).
	FigWouldRoute = "would_route."
	// FigOutbound + sent|delivered|failed: replies by their final status.
	FigOutbound = "outbound."
	// FigFirstResponse / FigResolution + ":" + seconds: one sample each
	// (seconds rounded to 3 significant digits beyond 999, so a year's
	// samples stay a few thousand keys).
	FigFirstResponse = timeline.FigureFirstResponse
	FigResolution    = store.FigureResolution
	// Reach, all time (store.FiguresAllTime): customers seen only here,
	// and FigOverlap + CHANNEL: customers seen here and there.
	FigOnlyHere = "reach.only_here"
	FigOverlap  = "reach.overlap."
)

// figures counts what the hub does into the store's Figures. Counting is
// best effort beside the work it counts: it runs after the step it counts
// succeeded (a message is counted once its entry was created, never on a
// redelivery, which finds the entry), and a failure to count is logged,
// never fails the step. A crash between the step and its count loses that
// one count; nothing is ever counted twice.
type figures struct {
	st    store.Store
	dir   *directory.Directory
	clock store.Clock
	log   *slog.Logger
	off   bool
	// batch, while a Router runs, sums counts in memory between flushes
	// (figureBatch); nil or empty: every count is written at once.
	batch *atomic.Pointer[figureBatch]
	// seen remembers recent SeenOn answers (seenCache); nil: none.
	seen *seenCache
}

// figureFlushEvery is how often a running router writes the counts it
// summed. Writing them per message cost a third of Redis ingest
// throughput (two more round trips a message; docs/PERFORMANCE.md); summed,
// they are a few writes a second. A crash loses at most this long of
// counts (the messages themselves are safe and are not recounted).
const figureFlushEvery = 250 * time.Millisecond

type cellKey struct{ channel, phase, day string }

type pendingCell struct {
	counts  map[string]int64
	senders map[string]struct{}
}

// figureBatch is counts summed per cell since the last flush, and first
// sightings of new customers to record (SeenOn).
type figureBatch struct {
	mu    sync.Mutex
	cells map[cellKey]*pendingCell
	seen  [][2]string // customer, channel
	// failed are writes whose outcome is unknown (an error): retried as
	// they were, with their write id (store.FigureAdd.ID), so one that
	// did apply counts once.
	failed []store.FigureAdd
}

func (b *figureBatch) markSeen(customer, channel string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seen = append(b.seen, [2]string{customer, channel})
}

// running is the batch of a running router, or nil.
func (f figures) running() *figureBatch {
	if f.batch == nil || f.seen == nil {
		return nil
	}
	return f.batch.Load()
}

func newFigureBatch() *figureBatch { return &figureBatch{cells: map[cellKey]*pendingCell{}} }

func (b *figureBatch) add(k cellKey, counts map[string]int64, senders ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.cells[k]
	if c == nil {
		c = &pendingCell{counts: map[string]int64{}, senders: map[string]struct{}{}}
		b.cells[k] = c
	}
	for n, v := range counts {
		c.counts[n] += v
	}
	for _, x := range senders {
		if x != "" {
			c.senders[x] = struct{}{}
		}
	}
}

// flush writes what was summed; a cell that fails to write is kept for
// the next flush.
func (b *figureBatch) flush(ctx context.Context, st store.Store, log *slog.Logger) {
	b.mu.Lock()
	cells, seen, failed := b.cells, b.seen, b.failed
	b.cells, b.seen, b.failed = map[cellKey]*pendingCell{}, nil, nil
	b.mu.Unlock()
	// Concurrent calls: the embedded store commits them together.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, p := range seen {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, _, err := st.SeenOn(ctx, p[0], p[1]); err != nil {
				log.Warn("figures: first sighting not written; kept for the next flush", "channel", p[1], "err", err)
				b.markSeen(p[0], p[1])
			}
		}()
	}
	wg.Wait()
	for k, c := range cells {
		f := store.FigureAdd{Channel: k.channel, Phase: k.phase, Day: k.day, Counts: c.counts, ID: store.NewWriteID()}
		for x := range c.senders {
			f.Senders = append(f.Senders, x)
		}
		failed = append(failed, f)
	}
	for _, f := range failed {
		if err := st.AddFigures(ctx, f); err != nil {
			log.Warn("figures not written; kept for the next flush", "channel", f.Channel, "err", err)
			b.mu.Lock()
			b.failed = append(b.failed, f)
			b.mu.Unlock()
		}
	}
}

// runFigures sums the router's counts in memory while ctx lasts, writing
// them every figureFlushEvery and once more at the end.
func (f figures) run(ctx context.Context) {
	if f.off || f.batch == nil {
		return
	}
	b := newFigureBatch()
	f.batch.Store(b)
	t := time.NewTicker(figureFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.flush(ctx, f.st, f.log)
		case <-ctx.Done():
			f.batch.Store(nil)
			end, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			b.flush(end, f.st, f.log)
			cancel()
			return
		}
	}
}

// seenCache remembers SeenOn answers for a while: most messages come from
// customers already seen on their channel, and the store need not be asked
// again. Its answers may be up to seenFor old (a customer who just
// appeared on another channel may count as known here only after that).
type seenCache struct {
	m sync.Map // customer\x00channel → seenEntry
	n atomic.Int64
}

type seenEntry struct {
	others []string
	at     time.Time
}

const seenFor = 30 * time.Second

func (c *seenCache) get(customer, channel string) ([]string, bool) {
	v, ok := c.m.Load(customer + "\x00" + channel)
	if !ok {
		return nil, false
	}
	e := v.(seenEntry)
	if time.Since(e.at) > seenFor {
		return nil, false
	}
	return e.others, true
}

func (c *seenCache) put(customer, channel string, others []string) {
	if c.n.Add(1) > 100_000 {
		c.m.Clear()
		c.n.Store(0)
	}
	c.m.Store(customer+"\x00"+channel, seenEntry{others: others, at: time.Now()})
}

func (f figures) phase(channel string) string {
	if ch, ok := f.dir.Get(channel); ok {
		return ch.Phase
	}
	return store.PhaseLive
}

func (f figures) add(ctx context.Context, channel string, counts map[string]int64, sender string) {
	if f.off || f.st == nil || channel == "" {
		return
	}
	if f.batch != nil {
		if b := f.batch.Load(); b != nil {
			b.add(cellKey{channel, f.phase(channel), store.FigureDay(f.clock())}, counts, sender)
			return
		}
	}
	err := f.st.AddFigures(ctx, store.FigureAdd{Channel: channel, Phase: f.phase(channel),
		Day: store.FigureDay(f.clock()), Counts: counts, Sender: sender})
	if err != nil {
		f.log.Warn("figures not counted", "channel", channel, "err", err)
	}
}

// one counts a single figure.
func (f figures) one(ctx context.Context, channel, name string) {
	f.add(ctx, channel, map[string]int64{name: 1}, "")
}

// sample counts one first-response or resolution time.
func (f figures) sample(ctx context.Context, channel, name string, d time.Duration) {
	f.one(ctx, channel, store.FigureSample(name, d))
}

// outboundFigure is the figure of a reply's status ("" for none).
func outboundFigure(status string) string {
	switch status {
	case connectors.StatusSent, connectors.StatusDelivered:
		return FigOutbound + status
	case connectors.StatusFailed, connectors.StatusUndelivered:
		return FigOutbound + connectors.StatusFailed
	}
	return ""
}

// outbound moves one reply from the figure of its previous status to its
// new one: the outbound figures count replies by their latest status.
func (f figures) outbound(ctx context.Context, channel, prev, cur string) {
	from, to := outboundFigure(prev), outboundFigure(cur)
	if from == to {
		return
	}
	c := map[string]int64{}
	if from != "" {
		c[from] = -1
	}
	if to != "" {
		c[to] = 1
	}
	f.add(ctx, channel, c, "")
}

// match is how a message's customer relates to the customers the hub knew.
type match struct {
	verified, claimed, newCustomer bool
	suggestions                    int
}

// matchOf classifies one resolved message from identity.Resolution (which
// identity decided the customer, whether it was created, which suggestions
// the message raised). Each message is at most one of:
//   - claimed: a claimed identity belonged to someone else (a merge
//     suggestion was raised), or the message joined a customer known on
//     another channel because a claim index entry decided it;
//   - new customer: the customer was created for this message;
//   - verified: it joined a customer known on another channel (others)
//     because a verified identity was already bound to it;
//   - none of these: a customer this channel alone knows wrote again.
//
// A Resolution that says neither which identity decided nor that the
// customer was created (an older resolver, a replayed message) falls back
// to the message itself: its customer id tells whether it was created for
// it, a verified identity on it tells verified from claimed.
func matchOf(msg connectors.Message, res identity.Resolution, others []string) match {
	m := match{suggestions: res.Suggestions}
	switch {
	case res.Suggestions > 0 || res.SuggestionRaised:
		m.claimed = true
	case res.Created || createdFor(res.Customer, msg):
		m.newCustomer = true
	case len(others) == 0:
	case res.MatchedVerified:
		m.verified = true
	case res.MatchedClaimed:
		m.claimed = true
	case slices.ContainsFunc(msg.Identities, func(i connectors.Identity) bool { return i.Verified }):
		m.verified = true
	default:
		m.claimed = true
	}
	return m
}

// createdFor reports whether customer is the one identity creates for msg
// (identity.newCustomerIDFor: "c_", the time it was received, then a hash
// of the message id). The time is not compared: a redelivered copy of msg
// has another and may be the one whose customer was created.
func createdFor(customer string, msg connectors.Message) bool {
	return len(customer) == 2+12+10 && strings.HasPrefix(customer, "c_") && customer[14:] == ids.Derived("", msg.ID)[:10]
}

// message counts one message that was just put on a timeline.
func (f figures) message(ctx context.Context, msg connectors.Message, res identity.Resolution, ch directory.Channel, team string, opened bool) {
	if f.off {
		return
	}
	var first bool
	var err error
	others, cached := []string(nil), false
	if f.seen != nil {
		others, cached = f.seen.get(res.Customer, msg.Channel)
	}
	if b := f.running(); !cached && b != nil && createdFor(res.Customer, msg) {
		// A customer created for this message was seen nowhere before:
		// its first sighting is recorded with the next flush, not now.
		first, others = true, nil
		b.markSeen(res.Customer, msg.Channel)
		f.seen.put(res.Customer, msg.Channel, nil)
	} else if !cached {
		first, others, err = f.st.SeenOn(ctx, res.Customer, msg.Channel)
		if err != nil {
			f.log.Warn("figures: reach not counted", "channel", msg.Channel, "err", err)
		} else if f.seen != nil {
			f.seen.put(res.Customer, msg.Channel, others)
		}
	}
	m := matchOf(msg, res, others)
	c := map[string]int64{FigMessagesIn: 1}
	if m.verified {
		c[FigMatchedVerified] = 1
	}
	if m.claimed {
		c[FigMatchedClaimed] = 1
	}
	if m.newCustomer {
		c[FigNewCustomers] = 1
	}
	if m.suggestions > 0 {
		c[FigMergeSuggestions] = int64(m.suggestions)
	}
	if opened {
		c[FigConversations] = 1
		if ch.Phase == store.PhaseShadow {
			if team == "" {
				team = "-"
			}
			c[FigWouldRoute+team] = 1
		}
	}
	if msg.Consent != nil && !msg.Consent.Granted {
		c[FigOptOuts] = 1
	}
	sender := ""
	if len(msg.Identities) > 0 {
		sender = msg.Identities[0].Key()
	}
	f.add(ctx, msg.Channel, c, sender)
	if err != nil || !first {
		return
	}
	// Reach: the customer is new to this channel.
	reach := map[string]int64{}
	if len(others) == 0 {
		reach[FigOnlyHere] = 1
	}
	for _, o := range others {
		reach[FigOverlap+o] = 1
		back := map[string]int64{FigOverlap + msg.Channel: 1}
		if len(others) == 1 {
			back[FigOnlyHere] = -1 // it was seen only there until now
		}
		f.reach(ctx, o, back)
	}
	f.reach(ctx, msg.Channel, reach)
}

func (f figures) reach(ctx context.Context, channel string, counts map[string]int64) {
	if len(counts) == 0 {
		return
	}
	if f.batch != nil {
		if b := f.batch.Load(); b != nil {
			b.add(cellKey{channel: channel, day: store.FiguresAllTime}, counts)
			return
		}
	}
	if err := f.st.AddFigures(ctx, store.FigureAdd{Channel: channel, Day: store.FiguresAllTime, Counts: counts}); err != nil {
		f.log.Warn("figures: reach not counted", "channel", channel, "err", err)
	}
}

// ---- reading: the readiness report -------------------------------------

// Percentiles of a time figure, in seconds.
type Percentiles struct {
	P50 int64 `json:"p50"`
	P90 int64 `json:"p90"`
}

// Matched is the matching figures.
type Matched struct {
	Verified int64 `json:"verified"`
	Claimed  int64 `json:"claimed"`
}

// Reach is a channel's reach (all time).
type Reach struct {
	OnlyHere int64            `json:"only_here"`
	Overlap  map[string]int64 `json:"overlap"`
}

// OutboundFigures are replies by status.
type OutboundFigures struct {
	Sent      int64 `json:"sent"`
	Delivered int64 `json:"delivered"`
	Failed    int64 `json:"failed"`
}

// DailyFigure is one day of the daily series.
type DailyFigure struct {
	Day        string  `json:"day"`
	MessagesIn int64   `json:"messages_in"`
	MatchRate  float64 `json:"match_rate"`
}

// Criteria as the report shows them (durations in seconds).
type Criteria struct {
	MinDays           int     `json:"min_days"`
	MinMessages       int64   `json:"min_messages"`
	MinMatchRate      float64 `json:"min_match_rate"`
	MaxFailureRate    float64 `json:"max_failure_rate"`
	MaxDeadLetters    int64   `json:"max_dead_letters"`
	MaxFirstResponseS int64   `json:"max_first_response_s"`
}

// Verdicts.
const (
	VerdictReady    = "ready"
	VerdictNotReady = "not_ready"
)

// Readiness is GET /api/v1/channels/{name}/readiness.
type Readiness struct {
	Channel          string           `json:"channel"`
	Phase            string           `json:"phase"`
	PhaseSince       *time.Time       `json:"phase_since"`
	From             time.Time        `json:"from"`
	To               time.Time        `json:"to"`
	MessagesIn       int64            `json:"messages_in"`
	Senders          int64            `json:"senders"`
	Duplicates       int64            `json:"duplicates"`
	Refused          int64            `json:"refused"`
	DeadLetters      int64            `json:"dead_letters"`
	Matched          Matched          `json:"matched"`
	NewCustomers     int64            `json:"new_customers"`
	MergeSuggestions int64            `json:"merge_suggestions"`
	MatchRate        float64          `json:"match_rate"`
	Reach            Reach            `json:"reach"`
	WouldRoute       map[string]int64 `json:"would_route"`
	Outbound         OutboundFigures  `json:"outbound"`
	OptOuts          int64            `json:"opt_outs"`
	FirstResponse    *Percentiles     `json:"first_response_s"`
	Resolution       *Percentiles     `json:"resolution_s"`
	Daily            []DailyFigure    `json:"daily"`
	Criteria         Criteria         `json:"criteria"`
	Verdict          string           `json:"verdict"`
	Reasons          []string         `json:"reasons"`

	conversations int64
}

// ReadinessQuery selects the period of a report; zero From: since the
// current phase began (only that phase's figures); zero To: now.
type ReadinessQuery struct {
	From, To time.Time
}

// maxReportDays bounds a report's period (and its daily series).
const maxReportDays = 3660

// ChannelReadiness reads a channel's figures for q and judges them against
// the channel's criteria. It reads O(days) cells, never a timeline.
func ChannelReadiness(ctx context.Context, st store.Store, ch directory.Channel, now time.Time, q ReadinessQuery) (Readiness, error) {
	rep := Readiness{Channel: ch.Name, Phase: ch.Phase, WouldRoute: map[string]int64{},
		Reach: Reach{Overlap: map[string]int64{}}, Daily: []DailyFigure{}, Reasons: []string{}}
	// One listing of the channel's cells (names only) serves both the
	// phase's start and the period.
	now = now.UTC()
	toDay := store.FigureDay(now)
	if !q.To.IsZero() {
		toDay = store.FigureDay(q.To)
	}
	all, err := st.FigureCells(ctx, ch.Name, "0000-00-00", toDay)
	if err != nil {
		return rep, err
	}
	since := ch.UpdatedAt
	if since.IsZero() {
		since = firstDayIn(all, ch.Phase)
	}
	if !since.IsZero() {
		s := since.UTC()
		rep.PhaseSince = &s
	}
	onlyPhase := q.From.IsZero()
	rep.From, rep.To = q.From.UTC(), q.To.UTC()
	if rep.To.IsZero() {
		rep.To = now
	}
	if onlyPhase {
		rep.From = since.UTC()
		if since.IsZero() {
			rep.From = rep.To // nothing counted in this phase yet
		}
	}
	if rep.From.After(rep.To) {
		return rep, fmt.Errorf("%w: from is after to", connectors.ErrInvalid)
	}
	if rep.To.Sub(rep.From) > maxReportDays*24*time.Hour {
		if !onlyPhase {
			return rep, fmt.Errorf("%w: a period of at most %d days", connectors.ErrInvalid, maxReportDays)
		}
		rep.From = rep.To.Add(-maxReportDays * 24 * time.Hour)
	}
	fromDay := store.FigureDay(rep.From)
	toDay = store.FigureDay(rep.To)
	var used []store.FigureDayPhase
	for _, c := range all {
		if c.Day >= fromDay && c.Day <= toDay && (!onlyPhase || c.Phase == ch.Phase) {
			used = append(used, c)
		}
	}
	sum, each, err := st.SumFigures(ctx, ch.Name, used, []string{FigMessagesIn, FigMatchedVerified, FigMatchedClaimed})
	if err != nil {
		return rep, err
	}
	daily := map[string]*[2]int64{} // messages_in, matched
	for i, c := range used {
		d := daily[c.Day]
		if d == nil {
			d = &[2]int64{}
			daily[c.Day] = d
		}
		d[0] += each[i][FigMessagesIn]
		d[1] += each[i][FigMatchedVerified] + each[i][FigMatchedClaimed]
	}
	first, resol := map[int64]int64{}, map[int64]int64{}
	for n, v := range sum {
		switch {
		case n == FigMessagesIn:
			rep.MessagesIn += v
		case n == FigDuplicates:
			rep.Duplicates += v
		case n == FigRefused:
			rep.Refused += v
		case n == FigDeadLetters:
			rep.DeadLetters += v
		case n == FigMatchedVerified:
			rep.Matched.Verified += v
		case n == FigMatchedClaimed:
			rep.Matched.Claimed += v
		case n == FigNewCustomers:
			rep.NewCustomers += v
		case n == FigMergeSuggestions:
			rep.MergeSuggestions += v
		case n == FigConversations:
			rep.conversations += v
		case n == FigOptOuts:
			rep.OptOuts += v
		case strings.HasPrefix(n, FigWouldRoute):
			rep.WouldRoute[n[len(FigWouldRoute):]] += v
		case n == FigOutbound+connectors.StatusSent:
			rep.Outbound.Sent += v
		case n == FigOutbound+connectors.StatusDelivered:
			rep.Outbound.Delivered += v
		case n == FigOutbound+connectors.StatusFailed:
			rep.Outbound.Failed += v
		case strings.HasPrefix(n, FigFirstResponse+":"):
			if s, err := strconv.ParseInt(n[len(FigFirstResponse)+1:], 10, 64); err == nil {
				first[s] += v
			}
		case strings.HasPrefix(n, FigResolution+":"):
			if s, err := strconv.ParseInt(n[len(FigResolution)+1:], 10, 64); err == nil {
				resol[s] += v
			}
		}
	}
	rep.MatchRate = rate(rep.Matched.Verified+rep.Matched.Claimed, rep.MessagesIn)
	rep.FirstResponse, rep.Resolution = percentiles(first), percentiles(resol)
	if rep.Senders, err = st.CountSenders(ctx, ch.Name, used); err != nil {
		return rep, err
	}
	reach, err := st.ReadFigures(ctx, ch.Name, store.FiguresAllTime, store.FiguresAllTime)
	if err != nil {
		return rep, err
	}
	for _, c := range reach {
		for n, v := range c.Counts {
			switch {
			case n == FigOnlyHere:
				rep.Reach.OnlyHere += v
			case strings.HasPrefix(n, FigOverlap):
				rep.Reach.Overlap[n[len(FigOverlap):]] += v
			}
		}
	}
	for day := rep.From.Truncate(24 * time.Hour); store.FigureDay(day) <= toDay; day = day.Add(24 * time.Hour) {
		k := store.FigureDay(day)
		df := DailyFigure{Day: k}
		if d := daily[k]; d != nil {
			df.MessagesIn, df.MatchRate = d[0], rate(d[1], d[0])
		}
		rep.Daily = append(rep.Daily, df)
	}
	rep.judge(ch, onlyPhase)
	return rep, nil
}

// judge sets the verdict: one reason per unmet criterion, naming the
// figure and the bound.
func (rep *Readiness) judge(ch directory.Channel, onlyPhase bool) {
	cr := ch.Readiness.WithDefaults()
	rep.Criteria = Criteria{MinDays: cr.MinDays, MinMessages: cr.MinMessages, MinMatchRate: cr.MinMatchRate,
		MaxFailureRate: cr.MaxFailureRate, MaxDeadLetters: cr.MaxDeadLetters, MaxFirstResponseS: int64(cr.MaxFirstResponse / time.Second)}
	days := int(rep.To.Sub(rep.From) / (24 * time.Hour))
	if !onlyPhase || rep.PhaseSince != nil {
		if cr.MinDays > 0 && days < cr.MinDays {
			rep.Reasons = append(rep.Reasons, fmt.Sprintf("days in phase %d is below %d", days, cr.MinDays))
		}
	} else if cr.MinDays > 0 {
		rep.Reasons = append(rep.Reasons, fmt.Sprintf("days in phase 0 is below %d (no figures in this phase yet)", cr.MinDays))
	}
	if cr.MinMessages > 0 && rep.MessagesIn < cr.MinMessages {
		rep.Reasons = append(rep.Reasons, fmt.Sprintf("messages in %d is below %d", rep.MessagesIn, cr.MinMessages))
	}
	if cr.MinMatchRate > 0 && rep.MatchRate < cr.MinMatchRate {
		rep.Reasons = append(rep.Reasons, fmt.Sprintf("match rate %.2f is below %.2f", rep.MatchRate, cr.MinMatchRate))
	}
	if sent := rep.Outbound.Sent + rep.Outbound.Delivered + rep.Outbound.Failed; sent > 0 && cr.MaxFailureRate >= 0 {
		if fr := rate(rep.Outbound.Failed, sent); fr > cr.MaxFailureRate {
			rep.Reasons = append(rep.Reasons, fmt.Sprintf("failure rate %.2f is above %.2f", fr, cr.MaxFailureRate))
		}
	}
	if cr.MaxDeadLetters >= 0 && rep.DeadLetters > cr.MaxDeadLetters {
		rep.Reasons = append(rep.Reasons, fmt.Sprintf("dead letters %d is above %d", rep.DeadLetters, cr.MaxDeadLetters))
	}
	if ch.Phase == store.PhasePilot || ch.Phase == store.PhaseLive {
		if max := int64(cr.MaxFirstResponse / time.Second); max > 0 && rep.FirstResponse != nil && rep.FirstResponse.P90 > max {
			rep.Reasons = append(rep.Reasons, fmt.Sprintf("first response p90 %ds is above %ds", rep.FirstResponse.P90, max))
		}
	}
	rep.Verdict = VerdictReady
	if len(rep.Reasons) > 0 {
		rep.Verdict = VerdictNotReady
	}
}

// rate is n/of rounded to 4 decimals (0 when of is 0).
func rate(n, of int64) float64 {
	if of <= 0 {
		return 0
	}
	return math.Round(float64(n)/float64(of)*1e4) / 1e4
}

// percentiles are nearest-rank p50 and p90 of a histogram; nil when empty.
func percentiles(h map[int64]int64) *Percentiles {
	var n int64
	vals := make([]int64, 0, len(h))
	for v, c := range h {
		if c > 0 {
			vals = append(vals, v)
			n += c
		}
	}
	if n == 0 {
		return nil
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	at := func(p float64) int64 {
		rank := int64(math.Ceil(p * float64(n)))
		var seen int64
		for _, v := range vals {
			seen += h[v]
			if seen >= rank {
				return v
			}
		}
		return vals[len(vals)-1]
	}
	return &Percentiles{P50: at(0.5), P90: at(0.9)}
}

// firstDayIn is the first day of cells (ordered by day) counted in phase;
// zero when none was. A phase only ever set in the config began, as far as
// the figures know, on that day.
func firstDayIn(cells []store.FigureDayPhase, phase string) time.Time {
	for _, c := range cells {
		if c.Phase == phase {
			t, err := time.Parse(time.DateOnly, c.Day)
			if err == nil {
				return t
			}
		}
	}
	return time.Time{}
}
