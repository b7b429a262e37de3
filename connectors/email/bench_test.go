package email

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/switchboard-hub/switchboard/connectors"
)

// BenchmarkBackfill measures a first-run backfill of a mailbox on the local
// Dovecot into timelines: from the connector's start until every mail is a
// timeline entry (IMAP fetch, MIME parsing, ingest queue, router workers,
// embedded store). SWITCHBOARD_BENCH_MAILS sets the mailbox size (default
// 2000). Run: go test -run '^$' -bench Backfill -benchtime 1x ./connectors/email/
func BenchmarkBackfill(b *testing.B) {
	d := testDovecot(b)
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("SWITCHBOARD_BENCH_MAILS")); err == nil && v > 0 {
		n = v
	}
	const senders = 50
	user := newUser()
	body := strings.Repeat("The parcel arrived damaged and the tracking page shows nothing. ", 30)
	start := time.Now()
	const chunk = 200
	for i := 0; i < n; i += chunk {
		var mails [][]byte
		for j := i; j < min(n, i+chunk); j++ {
			var m bytes.Buffer
			fmt.Fprintf(&m, "From: Customer %d <bench%d@customer.example>\r\nTo: support@hub.example\r\nSubject: Case %d\r\nDate: %s\r\nMessage-ID: <bench-%d-%s>\r\n",
				j%senders, j%senders, j, time.Now().UTC().Format(time.RFC1123Z), j, user)
			if j%4 == 0 {
				fmt.Fprintf(&m, "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s %d\r\n--B\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>%s %d</p>\r\n--B--\r\n", body, j, body, j)
			} else {
				fmt.Fprintf(&m, "Content-Type: text/plain; charset=utf-8\r\n\r\n%s %d\r\n\r\nOn Mon, 2 Feb 2026, Support wrote:\r\n> earlier text\r\n", body, j)
			}
			mails = append(mails, m.Bytes())
		}
		d.deliver(b, user, mails...)
	}
	b.Logf("filled a mailbox with %d mails in %s", n, time.Since(start).Round(time.Millisecond))

	// Baseline in the same run: the bare IMAP fetch of every full mail
	// (one UID FETCH 1:* BODY.PEEK[] read to the end), nothing else.
	raw := func() float64 {
		c := d.client(b, user)
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		var uids imap.UIDSet
		uids.AddRange(1, 0)
		cmd := c.Fetch(uids, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
		got := 0
		for m := cmd.Next(); m != nil; m = cmd.Next() {
			for item := m.Next(); item != nil; item = m.Next() {
				if bs, ok := item.(imapclient.FetchItemDataBodySection); ok {
					if _, err := io.Copy(io.Discard, bs.Literal); err != nil {
						b.Fatal(err)
					}
					got++
				}
			}
		}
		if err := cmd.Close(); err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("baseline fetched %d of %d mails", got, n)
		}
		return float64(n) / time.Since(t0).Seconds()
	}()
	b.Logf("baseline: bare IMAP fetch of all %d mails at %.0f mails/s", n, raw)

	for b.Loop() {
		h := newHub(b)
		c := h.channel(b, "bench", d.settings(user, map[string]any{"backfill_since": "2000-01-01"}))
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ctx, cancel := context.WithCancel(context.Background())
		t0 := time.Now()
		done := make(chan struct{})
		go func() { defer close(done); _ = leasedRun(c).Run(ctx, h.in) }()
		customers := map[string]string{}
		var peakHeap uint64
		var fetched time.Duration
		for {
			if fetched == 0 {
				if cp, err := h.st.GetCheckpoint(ctx, CheckpointKey(testChannel, "INBOX")); err == nil && strings.Contains(string(cp), fmt.Sprintf(`"last_uid":%d`, n)) {
					fetched = time.Since(t0)
				}
			}
			total := 0
			for s := 0; s < senders; s++ {
				addr := fmt.Sprintf("bench%d@customer.example", s)
				id := customers[addr]
				if id == "" {
					bd, err := h.st.LookupIdentity(ctx, connectors.Email, addr)
					if err != nil {
						continue
					}
					id, customers[addr] = bd.CustomerID, bd.CustomerID
				}
				k, _ := h.st.CountEntries(ctx, id)
				total += k
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
			if total >= n {
				break
			}
			if time.Since(t0) > 10*time.Minute {
				b.Fatalf("only %d of %d mails after 10 minutes", total, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		el := time.Since(t0)
		cancel()
		<-done
		b.ReportMetric(float64(n)/el.Seconds(), "mails/s")
		b.ReportMetric(float64(n)/el.Seconds()/raw, "ratio-to-bare-fetch")
		b.ReportMetric(float64(peakHeap)/(1<<20), "MB-peak-heap")
		b.ReportMetric(float64(vmHWM())/(1<<10), "MB-peak-rss")
		b.Logf("connector: every mail durable in the ingest queue after %s (%.0f mails/s)", fetched.Round(time.Millisecond), float64(n)/fetched.Seconds())
		b.Logf("%d mails into timelines in %s (%.0f mails/s); peak heap in use %.1f MB, process peak RSS %.1f MB",
			n, el.Round(time.Millisecond), float64(n)/el.Seconds(), float64(peakHeap)/(1<<20), float64(vmHWM())/(1<<10))
	}
}

// vmHWM is the process's peak resident set size in KiB (Linux).
func vmHWM() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
	}
	return 0
}
