package redis

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/switchboard-hub/switchboard/store"
)

// ---- consent history: hash {c:ID}:consent-log, logField → JSON ----

// consentLogField orders a decision by time and makes a repeated record
// of the same decision land on the same field.
func consentLogField(c store.Consent) string {
	return nanos(c.At) + "|" + consentField(c) + "|" + strconv.FormatBool(c.Granted) + "|" + c.Source
}

func (s *Store) ConsentHistory(ctx context.Context, customerID string) (_ []store.Consent, err error) {
	defer opErr(&err, "consent history of customer", customerID)
	all, err := s.c.HGetAll(ctx, s.k.consentLog(customerID)).Result()
	if err != nil {
		return nil, err
	}
	fields := make([]string, 0, len(all))
	for f := range all {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	out := make([]store.Consent, 0, len(fields))
	for _, f := range fields {
		var c store.Consent
		if err := unmarshal(all[f], &c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// ---- self-service: {selfservice}:links and {selfservice}:erasure ----

func (s *Store) PutAccessLink(ctx context.Context, l store.AccessLink) (err error) {
	defer opErr(&err, "put access link", l.ID)
	return s.c.HSet(ctx, s.k.accessLinks(), l.ID, marshal(l)).Err()
}

func (s *Store) GetAccessLink(ctx context.Context, id string) (_ store.AccessLink, err error) {
	defer opErr(&err, "get access link", id)
	return hashRecord[store.AccessLink](ctx, s, s.k.accessLinks(), id)
}

func (s *Store) PutErasureRequest(ctx context.Context, r store.ErasureRequest) (err error) {
	defer opErr(&err, "put erasure request", r.ID)
	if r.RequestedAt.IsZero() {
		r.RequestedAt = s.now()
	}
	return s.c.HSetNX(ctx, s.k.erasureRequests(), r.ID, marshal(r)).Err()
}

func (s *Store) GetErasureRequest(ctx context.Context, id string) (_ store.ErasureRequest, err error) {
	defer opErr(&err, "get erasure request", id)
	return hashRecord[store.ErasureRequest](ctx, s, s.k.erasureRequests(), id)
}

func (s *Store) UpdateErasureRequest(ctx context.Context, id string, fn func(*store.ErasureRequest) error) (_ store.ErasureRequest, err error) {
	defer opErr(&err, "update erasure request", id)
	var out store.ErasureRequest
	err = s.update(ctx, fieldAt(s.k.erasureRequests(), id), func(old string) (string, error) {
		var r store.ErasureRequest
		if err := unmarshal(old, &r); err != nil {
			return "", err
		}
		if err := fn(&r); err != nil {
			return "", callerError{err}
		}
		r.ID = id
		out = r
		return marshal(r), nil
	})
	if err != nil {
		return store.ErasureRequest{}, err
	}
	return out, nil
}

func (s *Store) ListErasureRequests(ctx context.Context, status string, limit int) (_ []store.ErasureRequest, err error) {
	defer opErr(&err, "list erasure requests")
	if limit <= 0 {
		limit = 100
	}
	all, err := hashValues[store.ErasureRequest](ctx, s, s.k.erasureRequests())
	if err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(all, func(r store.ErasureRequest) bool { return status != "" && r.Status != status })
	sortErasureRequests(out)
	return out[:min(limit, len(out))], nil
}

// sortErasureRequests orders newest first, then by id.
func sortErasureRequests(rs []store.ErasureRequest) {
	sort.Slice(rs, func(i, j int) bool {
		if !rs[i].RequestedAt.Equal(rs[j].RequestedAt) {
			return rs[i].RequestedAt.After(rs[j].RequestedAt)
		}
		return strings.Compare(rs[i].ID, rs[j].ID) < 0
	})
}
