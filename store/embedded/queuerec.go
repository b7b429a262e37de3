package embedded

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Queue items are stored in a small binary record, not JSON: the payload
// (itself JSON) went through base64 in a JSON record, and every hand-out
// decoded and re-encoded the whole record to add one to the attempt count.
// Now a hand-out copies the bytes and rewrites the four of the count.
//
//	[0]      recBinary (a JSON record, written before, starts with '{')
//	[1:5]    attempts, uint32 big-endian
//	[5:13]   enqueued at, Unix nanoseconds, int64 big-endian
//	[13:17]  length n of the last error, uint32 big-endian
//	[17:17+n] last error
//	[17+n:]  payload
//
// Records written by an older version (JSON) are read as before and
// rewritten in this form when next changed.

const (
	recBinary    = 0x01
	recHeaderLen = 17
)

// encodeQueueRecord appends the binary form of rec to dst.
func encodeQueueRecord(dst []byte, rec queueRecord) []byte {
	dst = append(dst, recBinary)
	dst = binary.BigEndian.AppendUint32(dst, uint32(rec.Attempts))
	dst = binary.BigEndian.AppendUint64(dst, uint64(rec.EnqueuedAt.UnixNano()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(rec.LastError)))
	dst = append(dst, rec.LastError...)
	return append(dst, rec.Payload...)
}

// decodeQueueRecord reads a record in either form. The payload is copied:
// v belongs to the transaction.
func decodeQueueRecord(k, v []byte) (queueRecord, error) {
	if len(v) == 0 || v[0] != recBinary {
		var rec queueRecord
		err := jsonDecode(k, v, &rec)
		return rec, err
	}
	n, ok := binaryErrLen(v)
	if !ok {
		return queueRecord{}, fmt.Errorf("embedded: decode queue item %x: truncated record", k)
	}
	return queueRecord{
		Attempts:   int(binary.BigEndian.Uint32(v[1:5])),
		EnqueuedAt: time.Unix(0, int64(binary.BigEndian.Uint64(v[5:13]))).UTC(),
		LastError:  string(v[recHeaderLen : recHeaderLen+n]),
		Payload:    append([]byte(nil), v[recHeaderLen+n:]...),
	}, nil
}

func binaryErrLen(v []byte) (int, bool) {
	if len(v) < recHeaderLen {
		return 0, false
	}
	n := int(binary.BigEndian.Uint32(v[13:17]))
	return n, n <= len(v)-recHeaderLen
}

// handOutRecord returns the record v with one more attempt, as a new slice
// (a binary record is copied and its count rewritten; an old JSON one is
// converted), and the delivery's payload and attempts and enqueue time.
func handOutRecord(k, v []byte) (nv, payload []byte, attempts int, enqueuedAt time.Time, err error) {
	if len(v) > 0 && v[0] == recBinary {
		n, ok := binaryErrLen(v)
		if !ok {
			return nil, nil, 0, time.Time{}, fmt.Errorf("embedded: decode queue item %x: truncated record", k)
		}
		nv = append(make([]byte, 0, len(v)), v...)
		attempts = int(binary.BigEndian.Uint32(nv[1:5])) + 1
		binary.BigEndian.PutUint32(nv[1:5], uint32(attempts))
		enqueuedAt = time.Unix(0, int64(binary.BigEndian.Uint64(nv[5:13]))).UTC()
		return nv, nv[recHeaderLen+n:], attempts, enqueuedAt, nil
	}
	rec, err := decodeQueueRecord(k, v)
	if err != nil {
		return nil, nil, 0, time.Time{}, err
	}
	rec.Attempts++
	return encodeQueueRecord(nil, rec), rec.Payload, rec.Attempts, rec.EnqueuedAt, nil
}
