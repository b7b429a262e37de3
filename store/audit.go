package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// AuditQuery selects audit records (GET /api/v1/audit, `switchboard audit`).
// Empty fields select everything.
type AuditQuery struct {
	Actor string
	// Action matches exactly, or as a prefix up to a dot: "conversation"
	// selects "conversation.assign" and "conversation.status".
	Action string
	// Customer matches a record's Customer or Target.
	Customer string
	// From (inclusive) and To (exclusive) bound At; zero: unbounded.
	From, To time.Time
	// Cursor continues after the last record of a previous page (its Next).
	Cursor string
	// Limit caps the page (default 50, at most MaxAuditPage).
	Limit int
}

// ErrAuditFailed wraps the error of an audit record that could not be
// written before its action: the action was not done (the API answers 503
// audit_unavailable; the caller may retry).
var ErrAuditFailed = errors.New("audit record could not be written")

// ErrBadAuditCursor is QueryAudit's answer to a cursor it did not issue.
var ErrBadAuditCursor = errors.New("invalid audit cursor")

// MaxAuditPage is the largest page QueryAudit returns.
const MaxAuditPage = 500

// AuditScanBudget bounds the records one QueryAudit call reads: a filter
// that matches little returns a short (even empty) page with a Next to
// follow, rather than reading the whole log in one call.
const AuditScanBudget = 5000

// AuditPage is one page of audit records, newest first. Next is the cursor
// of the following page; empty when there is none.
type AuditPage struct {
	Records []AuditRecord `json:"records"`
	Next    string        `json:"next,omitempty"`
}

// PageLimit is the query's limit with its default and cap applied.
func (q AuditQuery) PageLimit() int {
	switch {
	case q.Limit <= 0:
		return 50
	case q.Limit > MaxAuditPage:
		return MaxAuditPage
	}
	return q.Limit
}

// Match reports whether r is selected by q (the cursor aside).
func (q AuditQuery) Match(r AuditRecord) bool {
	if q.Actor != "" && r.Actor != q.Actor {
		return false
	}
	if q.Action != "" && r.Action != q.Action && !strings.HasPrefix(r.Action, q.Action+".") {
		return false
	}
	if q.Customer != "" && r.Customer != q.Customer && r.Target != q.Customer {
		return false
	}
	if !q.From.IsZero() && r.At.Before(q.From) {
		return false
	}
	if !q.To.IsZero() && !r.At.Before(q.To) {
		return false
	}
	return true
}

// AuditID derives the id of an action's audit record from what identifies
// the attempt (actor, action, target, and a request's idempotency key or
// the record's version before the change): a retried attempt gets the same
// id, and AppendAudit writes it once.
func AuditID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "au_" + hex.EncodeToString(h.Sum(nil)[:16])
}

type auditKeyCtx struct{}

// WithAuditKey carries a request's idempotency key (the Idempotency-Key
// header) to the services that audit an action, for AuditKey.
func WithAuditKey(ctx context.Context, key string) context.Context {
	if key == "" {
		return ctx
	}
	return context.WithValue(ctx, auditKeyCtx{}, key)
}

// AuditKey is the idempotency key WithAuditKey carried ("" when none).
func AuditKey(ctx context.Context) string {
	k, _ := ctx.Value(auditKeyCtx{}).(string)
	return k
}

// RunAuditSweeps calls sweep every interval until ctx ends, each time with
// the time from which to look at audit records: first the last ten
// minutes, then a minute before the previous sweep began (an audit record
// is written just before its change, on a clock that may run a little
// apart). A failed sweep is reported to failed and repeated from the same
// time. The pending-event sweepers of timeline, identity and inbox run on
// it; every replica may, as their sweeps are idempotent.
func RunAuditSweeps(ctx context.Context, clock Clock, interval time.Duration, sweep func(ctx context.Context, from time.Time) error, failed func(error)) {
	from := clock().Add(-10 * time.Minute)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := clock()
		if err := sweep(ctx, from); err != nil {
			failed(err)
			continue
		}
		from = start.Add(-time.Minute)
	}
}
