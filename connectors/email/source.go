package email

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/switchboard-hub/switchboard/connectors"
)

// checkpoint is what is stored per folder under CheckpointKey: every mail
// with a UID up to LastUID (under UIDValidity) is durable in the hub.
type checkpoint struct {
	UIDValidity uint32 `json:"uidvalidity"`
	LastUID     uint32 `json:"last_uid"`
}

// CheckpointKey is the state key of a folder's checkpoint.
func CheckpointKey(channel, folder string) string { return "email:" + channel + ":" + folder }

// LeaseName is the lease a replica holds while it reads the mailbox.
func LeaseName(channel string) string { return "email:" + channel }

// LeaseSpec implements connectors.LeasedSource: one replica at a time
// reads the mailbox, under the lease "email:CHANNEL".
func (c *Channel) LeaseSpec() (string, time.Duration) { return LeaseName(c.name), c.set.LeaseTTL.D() }

// RunLeased implements connectors.LeasedSource: it reads every folder
// until ctx ends (stop, or the lease lost), reconnecting each with backoff
// after any error, and returns nil. Checkpoints are written under f.
func (c *Channel) RunLeased(ctx context.Context, sink connectors.Sink, f connectors.Lease) error {
	c.log.Info("email: reading mail", "token", f.Token(), "folders", len(c.set.IMAP.Folders))
	var folders sync.WaitGroup
	for _, folder := range c.set.IMAP.Folders {
		folders.Go(func() { c.folderLoop(ctx, sink, folder, f) })
	}
	folders.Wait()
	return nil
}

// folderLoop keeps one IMAP session on folder, reconnecting with
// exponential backoff: 250 ms after a session that had synced the folder
// and lived at least 5 s (the server went away after working: a restart is
// the common case, and it is usually back within a second), otherwise 1s
// doubling to 1m, so a server that drops every session soon is not hammered.
func (c *Channel) folderLoop(ctx context.Context, sink connectors.Sink, folder string, f connectors.Lease) {
	backoff := time.Second
	for ctx.Err() == nil {
		started := time.Now()
		synced, err := c.session(ctx, sink, folder, f)
		if ctx.Err() != nil {
			return
		}
		if synced && time.Since(started) >= quickAfter {
			backoff = quickReconnect
		}
		c.log.Warn("email: imap session ended; reconnecting", "folder", folder, "err", err, "in", backoff)
		_ = connectors.Sleep(ctx, backoff)
		backoff = min(max(backoff*2, time.Second), time.Minute)
	}
}

// quickReconnect is the first wait after a session that had worked for at
// least quickAfter.
const (
	quickReconnect = 250 * time.Millisecond
	quickAfter     = 5 * time.Second
)

// dial connects and logs in.
func (c *Channel) dial(opts *imapclient.Options) (*imapclient.Client, error) {
	s := c.set.IMAP
	if opts == nil {
		opts = &imapclient.Options{}
	}
	opts.Dialer = &net.Dialer{Timeout: 15 * time.Second}
	host, _, _ := net.SplitHostPort(s.Addr)
	opts.TLSConfig = s.tlsConfig(host)
	if s.InsecureSkipVerify {
		c.log.Warn("email: imap server certificate not verified (insecure_skip_verify)", "addr", s.Addr)
	}
	var cl *imapclient.Client
	var err error
	switch s.TLS {
	case TLSStart:
		cl, err = imapclient.DialStartTLS(s.Addr, opts)
	case TLSNone:
		cl, err = imapclient.DialInsecure(s.Addr, opts)
	default:
		cl, err = imapclient.DialTLS(s.Addr, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("imap: connect %s: %w", s.Addr, err)
	}
	if s.OAuth2TokenFile != "" {
		sc, err := oauth2Client(s.Conn, s.Username, s.Addr)
		if err == nil {
			err = authDetail(sc, cl.Authenticate(sc))
		}
		if err != nil {
			cl.Close()
			return nil, fmt.Errorf("imap: %s login as %s: %w", s.OAuth2Mechanism, s.Username, err)
		}
		return cl, nil
	}
	if err := cl.Login(s.Username, s.Password).Wait(); err != nil {
		cl.Close()
		return nil, fmt.Errorf("imap: login as %s: %w", s.Username, err)
	}
	return cl, nil
}

// session is one connection on one folder: sync, then IDLE (or sleep when
// the server has no IDLE) until new mail, the refresh interval, or an error.
func (c *Channel) session(ctx context.Context, sink connectors.Sink, folder string, f connectors.Lease) (synced bool, err error) {
	// The handler runs on the client's reader goroutine and must not block
	// (PEERS.md): it only nudges a buffered channel.
	wake := make(chan struct{}, 1)
	nudge := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	cl, err := c.dial(&imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				nudge()
			}
		},
	}})
	if err != nil {
		return false, err
	}
	defer cl.Close()
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	defer stop()

	sel, err := cl.Select(folder, nil).Wait()
	if err != nil {
		return synced, fmt.Errorf("imap: select %q: %w", folder, err)
	}
	idle := (cl.Caps().Has(imap.CapIdle) || cl.Caps().Has(imap.CapIMAP4rev2)) && !c.set.IMAP.DisableIdle
	for {
		if err := c.sync(ctx, cl, sink, folder, sel, f); err != nil {
			return synced, err
		}
		synced = true
		if !idle {
			select {
			case <-ctx.Done():
				return synced, ctx.Err()
			case <-cl.Closed():
				return synced, errors.New("imap: connection closed")
			case <-time.After(c.set.IMAP.PollInterval.D()):
			}
			continue
		}
		// Mail that arrived during the sync may have been announced (or,
		// on some servers, only queued) before IDLE starts: a NOOP collects
		// it, and the sync runs again instead of idling on it.
		if err := cl.Noop().Wait(); err != nil {
			return synced, fmt.Errorf("imap: noop: %w", err)
		}
		select {
		case <-wake:
			continue
		default:
		}
		cmd, err := cl.Idle()
		if err != nil {
			return synced, fmt.Errorf("imap: idle: %w", err)
		}
		t := time.NewTimer(c.set.IMAP.IdleRefresh.D())
		select {
		case <-wake:
		case <-t.C:
		case <-ctx.Done():
		case <-cl.Closed():
		}
		t.Stop()
		_ = cmd.Close()
		if err := cmd.Wait(); err != nil {
			if ctx.Err() != nil {
				return synced, ctx.Err()
			}
			return synced, fmt.Errorf("imap: idle: %w", err)
		}
		if ctx.Err() != nil {
			return synced, ctx.Err()
		}
	}
}

func (c *Channel) loadCheckpoint(ctx context.Context, key string) (checkpoint, bool, error) {
	b, err := c.st.Get(ctx, key)
	if errors.Is(err, connectors.ErrNoState) {
		return checkpoint{}, false, nil
	}
	if err != nil {
		return checkpoint{}, false, fmt.Errorf("email: read checkpoint: %w", err)
	}
	var cp checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		// A checkpoint we cannot read is treated like a UIDVALIDITY
		// change: a full resync, which creates no duplicates.
		c.log.Warn("email: unreadable checkpoint; resyncing the folder", "key", key)
		return checkpoint{}, true, nil
	}
	return cp, true, nil
}

// saveCheckpoint stores cp fenced by the mailbox lease: the state renews
// the lease first, so a replica that lost the mailbox writes nothing.
func (c *Channel) saveCheckpoint(ctx context.Context, key string, cp checkpoint, f connectors.Lease) error {
	b, _ := json.Marshal(cp)
	if err := c.st.Put(ctx, f, key, b); err != nil {
		return fmt.Errorf("email: write checkpoint: %w", err)
	}
	return nil
}

// sync fetches every mail of the selected folder that the checkpoint does
// not cover yet.
func (c *Channel) sync(ctx context.Context, cl *imapclient.Client, sink connectors.Sink, folder string, sel *imap.SelectData, f connectors.Lease) error {
	key := CheckpointKey(c.name, folder)
	cp, found, err := c.loadCheckpoint(ctx, key)
	if err != nil {
		return err
	}
	if !found || cp.UIDValidity != sel.UIDValidity {
		since := c.set.IMAP.since
		if found {
			// Old UIDs mean nothing now: read the folder again from the
			// start. Provider ids do not contain UIDs, so mail already in
			// the hub maps to the same entries: no duplicates.
			c.log.Warn("email: UIDVALIDITY changed; resyncing folder", "folder", folder, "old", cp.UIDValidity, "new", sel.UIDValidity)
		} else if since.IsZero() {
			// First run without backfill: only mail arriving from now on.
			cp = checkpoint{UIDValidity: sel.UIDValidity, LastUID: uint32(sel.UIDNext) - 1}
			if sel.UIDNext == 0 {
				cp.LastUID = 0
			}
			return c.saveCheckpoint(ctx, key, cp, f)
		}
		criteria := &imap.SearchCriteria{}
		if !since.IsZero() {
			criteria.Since = since
		}
		data, err := cl.UIDSearch(criteria, nil).Wait()
		if err != nil {
			return fmt.Errorf("imap: search %q: %w", folder, err)
		}
		cp = checkpoint{UIDValidity: sel.UIDValidity}
		if err := c.fetch(ctx, cl, sink, folder, data.AllUIDs(), &cp, f); err != nil {
			return err
		}
		if next := uint32(sel.UIDNext); next > 0 && next-1 > cp.LastUID {
			cp.LastUID = next - 1
		}
		if err := c.saveCheckpoint(ctx, key, cp, f); err != nil {
			return err
		}
	}
	var set imap.UIDSet
	set.AddRange(imap.UID(cp.LastUID+1), 0)
	data, err := cl.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
	if err != nil {
		return fmt.Errorf("imap: search %q: %w", folder, err)
	}
	return c.fetch(ctx, cl, sink, folder, data.AllUIDs(), &cp, f)
}

// fetch delivers the mails with the given UIDs in batches and advances
// the checkpoint after each batch whose every mail the hub accepted.
func (c *Channel) fetch(ctx context.Context, cl *imapclient.Client, sink connectors.Sink, folder string, uids []imap.UID, cp *checkpoint, f connectors.Lease) error {
	// "UID n:*" always matches the highest UID, even when it is below n.
	uids = slices.DeleteFunc(slices.Clone(uids), func(u imap.UID) bool { return uint32(u) <= cp.LastUID })
	slices.Sort(uids)
	limit := c.set.Limits.MaxMessageBytes
	key := CheckpointKey(c.name, folder)
	for len(uids) > 0 {
		n := min(len(uids), c.set.IMAP.BatchSize)
		batch := uids[:n]
		uids = uids[n:]
		cmd := cl.Fetch(imap.UIDSetNum(batch...), &imap.FetchOptions{
			UID: true, RFC822Size: true, InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: limit}}},
		})
		// Mails are parsed and delivered by a few workers while the FETCH
		// response streams in: Deliver waits for durability (an fsync or a
		// Redis round trip), and concurrent deliveries share it. The
		// semaphore bounds the mails held in memory.
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			done     []imap.UID
			firstErr error
			sem      = make(chan struct{}, deliverWorkers)
		)
		failed := func() error {
			mu.Lock()
			defer mu.Unlock()
			return firstErr
		}
		for failed() == nil {
			msg := cmd.Next()
			if msg == nil {
				break
			}
			var uid imap.UID
			var size int64
			var internal time.Time
			var raw []byte
			var readErr error
			for {
				item := msg.Next()
				if item == nil {
					break
				}
				switch it := item.(type) {
				case imapclient.FetchItemDataUID:
					uid = it.UID
				case imapclient.FetchItemDataRFC822Size:
					size = it.Size
				case imapclient.FetchItemDataInternalDate:
					internal = it.Time
				case imapclient.FetchItemDataBodySection:
					if it.Literal != nil {
						raw, readErr = io.ReadAll(io.LimitReader(it.Literal, limit+1))
					}
				}
			}
			if readErr != nil {
				mu.Lock()
				firstErr = fmt.Errorf("imap: read uid %d: %w", uid, readErr)
				mu.Unlock()
				break
			}
			if uid == 0 || raw == nil || !slices.Contains(batch, uid) {
				continue // a flag update, not one of ours
			}
			truncated := size > limit || int64(len(raw)) > limit
			if int64(len(raw)) > limit {
				raw = raw[:limit]
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				err := c.deliver(ctx, sink, folder, raw, truncated, internal)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("email: deliver uid %d of %q: %w", uid, folder, err)
					}
					return
				}
				done = append(done, uid)
			}()
		}
		wg.Wait()
		if err := failed(); err != nil {
			cmd.Close()
			return err
		}
		if err := cmd.Close(); err != nil {
			return fmt.Errorf("imap: fetch %q: %w", folder, err)
		}
		// Every UID of the batch was delivered, or is gone (expunged
		// between search and fetch): the checkpoint may pass them all.
		cp.LastUID = max(cp.LastUID, uint32(batch[len(batch)-1]))
		if err := c.saveCheckpoint(ctx, key, *cp, f); err != nil {
			return err
		}
		c.afterFetch(cl, folder, done)
	}
	return nil
}

// afterFetch applies mark_seen and move_to to mail the hub now holds.
// Failures are logged, not retried: the mail is already on a timeline.
func (c *Channel) afterFetch(cl *imapclient.Client, folder string, uids []imap.UID) {
	if len(uids) == 0 {
		return
	}
	set := imap.UIDSetNum(uids...)
	if c.set.IMAP.MarkSeen {
		if err := cl.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
			c.log.Warn("email: could not mark mail seen", "folder", folder, "err", err)
		}
	}
	if to := c.set.IMAP.MoveTo; to != "" {
		if _, err := cl.Move(set, to).Wait(); err != nil {
			c.log.Warn("email: could not move mail", "folder", folder, "to", to, "err", err)
		}
	}
}

// deliverWorkers is how many mails of one batch are parsed and delivered
// at once.
const deliverWorkers = 8

var imapSelectReadOnly = imap.SelectOptions{ReadOnly: true}
