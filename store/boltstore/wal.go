package boltstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// The write-ahead log (RATIONALE.md "The log"). A write is durable once the record of its
// batch, the keys and values the batch put and deleted, is in the log and fdatasync'd: one
// sync of a few KiB written in place in a preallocated file, where a bbolt commit syncs
// twice and rewrites each touched B+tree's path. The bbolt file catches up at checkpoints:
// one commit of everything logged since the last one (Options.CheckpointInterval,
// LogBytes), which also records the last record it holds. Open applies the records after
// that again; a record cut short by a crash fails its checksum and was never acknowledged.
//
// The file: a header (magic, format version, the store file's id, so that a log is never
// applied to another file), then records, each
//
//	length u32 | crc32c(lsn, payload) u32 | lsn u64 | payload
//
// with consecutive LSNs. After a checkpoint the records start again after the header (in
// place: no truncation, no metadata to sync); what is left of older records beyond the
// new ones has smaller LSNs, or fails its checksum, and ends the scan.
//
// A payload is a sequence of entries, each
//
//	op u8 (1 put, 2 delete) | bucket name (u8 length, bytes) | key (uvarint length, bytes) | value (put: uvarint length, bytes)
//
// naming buckets rather than numbering them, so that a log left by a crash is applied to
// the file before a newer build migrates it.
type wal struct {
	f      *os.File
	path   string
	noSync bool
	max    int64  // the file's capacity (Options.LogBytes)
	off    int64  // where the next record goes
	filled int64  // how much of the file is allocated and zeroed: records are written inside it
	lsn    uint64 // the last record's
	buf    []byte // a record being written
}

const (
	logMagic      = "solti-boltstore-log\x00"
	logVersion    = 1
	logIDLen      = 16
	logHeaderSize = 64 // magic, version u32, the store's id, room to spare
	logRecordHead = 16 // length u32, crc u32, lsn u64
	logFirstFill  = 64 << 10
	logMaxFill    = 1 << 20

	logPut    = 1
	logDelete = 2
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// errLogFull: the record does not fit in what is left of the log; a checkpoint makes its
// batch durable instead.
var errLogFull = errors.New("the log is full")

// logPath is the log of the store file at path.
func logPath(path string) string { return path + "-log" }

// logHeader is the header of the log of the store whose id is id.
func logHeader(id []byte) []byte {
	h := make([]byte, logHeaderSize)
	copy(h, logMagic)
	binary.BigEndian.PutUint32(h[len(logMagic):], logVersion)
	copy(h[len(logMagic)+4:], id)
	return h
}

// readLog returns the payloads the log at path holds after the checkpoint at applied, in
// order, and the last one's LSN (applied when there are none). A missing log holds none;
// a log of another store file (another id), of an unknown format, or that begins after
// applied+1 is an error: its writes would be lost or applied to the wrong file.
func readLog(path string, id []byte, applied uint64) (payloads [][]byte, last uint64, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, applied, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("boltstore: reading the log: %w", err)
	}
	if len(data) == 0 {
		return nil, applied, nil // created, not yet written: a crash before its header
	}
	if len(data) < logHeaderSize || !bytes.Equal(data[:len(logMagic)], []byte(logMagic)) {
		return nil, 0, fmt.Errorf("boltstore: %s is not a boltstore log (bad header)", path)
	}
	if v := binary.BigEndian.Uint32(data[len(logMagic):]); v != logVersion {
		return nil, 0, fmt.Errorf("boltstore: %s has log format %d, this build reads %d", path, v, logVersion)
	}
	last = applied
	for off := logHeaderSize; ; {
		p, lsn, n := nextRecord(data[off:])
		if n == 0 || lsn <= last {
			return payloads, last, nil // the end: zeros, a torn record or an older one
		}
		if !bytes.Equal(data[len(logMagic)+4:len(logMagic)+4+logIDLen], id) {
			return nil, 0, fmt.Errorf("boltstore: %s holds writes of another store file (its id differs): "+
				"move it aside, or put back the store file it belongs to", path)
		}
		if lsn != last+1 {
			return nil, 0, fmt.Errorf("boltstore: %s begins at record %d but the store file's last checkpoint holds %d: "+
				"the file was replaced by an older copy; remove the log to use that copy as it is", path, lsn, applied)
		}
		payloads = append(payloads, p)
		last = lsn
		off += n
	}
}

// nextRecord parses the record at the start of b: its payload, LSN and size; n is 0 when
// b does not start with a whole record whose checksum holds.
func nextRecord(b []byte) (payload []byte, lsn uint64, n int) {
	if len(b) < logRecordHead {
		return nil, 0, 0
	}
	size := binary.BigEndian.Uint32(b)
	if uint64(size) > uint64(len(b)-logRecordHead) {
		return nil, 0, 0
	}
	end := logRecordHead + int(size)
	if crc32.Checksum(b[8:end], crc32c) != binary.BigEndian.Uint32(b[4:]) {
		return nil, 0, 0
	}
	return b[logRecordHead:end], binary.BigEndian.Uint64(b[8:]), end
}

// createLog starts the log at path afresh for the store with id, whose last record is lsn:
// a new file with its header, synced, is renamed over the old log (a crash leaves one or the
// other whole: the old one's records are all in the file by now, and end its scan).
func createLog(path string, id []byte, lsn uint64, max int64, noSync bool) (*wal, error) {
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("boltstore: creating the log: %w", err)
	}
	fail := func(what string, err error) (*wal, error) {
		_ = f.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("boltstore: %s the log: %w", what, err)
	}
	if _, err := f.WriteAt(logHeader(id), 0); err != nil {
		return fail("writing", err)
	}
	if !noSync {
		if err := f.Sync(); err != nil {
			return fail("syncing", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail("renaming", err)
	}
	if !noSync {
		if err := syncDir(filepath.Dir(path)); err != nil {
			return fail("syncing the directory of", err)
		}
	}
	return &wal{f: f, path: path, noSync: noSync, max: max, off: logHeaderSize, filled: logHeaderSize, lsn: lsn}, nil
}

// append writes payload as the next record and syncs it (errLogFull when it does not fit).
func (l *wal) append(payload []byte) error {
	n := int64(logRecordHead + len(payload))
	if l.off+n > l.max || len(payload) > 1<<31 {
		return errLogFull
	}
	if err := l.fill(l.off + n); err != nil {
		return err
	}
	b := append(l.buf[:0], make([]byte, logRecordHead)...)
	b = append(b, payload...)
	binary.BigEndian.PutUint32(b, uint32(len(payload)))
	binary.BigEndian.PutUint64(b[8:], l.lsn+1)
	binary.BigEndian.PutUint32(b[4:], crc32.Checksum(b[8:], crc32c))
	l.buf = b
	if _, err := l.f.WriteAt(b, l.off); err != nil {
		return fmt.Errorf("boltstore: writing the log: %w", err)
	}
	if !l.noSync {
		if err := fdatasync(l.f); err != nil {
			return fmt.Errorf("boltstore: syncing the log: %w", err)
		}
	}
	l.off += n
	l.lsn++
	return nil
}

// fill zero-fills the file ahead of the writes, in chunks, up to at least end: a record
// written inside allocated blocks is synced without the file's metadata.
func (l *wal) fill(end int64) error {
	if end <= l.filled {
		return nil
	}
	grow := min(max(l.filled, logFirstFill), logMaxFill)
	to := min(max(end, l.filled+grow), l.max)
	if _, err := l.f.WriteAt(make([]byte, to-l.filled), l.filled); err != nil {
		return fmt.Errorf("boltstore: growing the log: %w", err)
	}
	l.filled = to
	return nil // synced with the record that follows
}

// reset starts the records again after the header: a checkpoint holds them all.
func (l *wal) reset() { l.off = logHeaderSize }

// payloads reads back the records written since the last reset (to rebuild the live
// transaction after a failed write).
func (l *wal) payloads() ([][]byte, error) {
	data := make([]byte, l.off-logHeaderSize)
	if _, err := l.f.ReadAt(data, logHeaderSize); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("boltstore: reading the log back: %w", err)
	}
	var out [][]byte
	for len(data) > 0 {
		p, _, n := nextRecord(data)
		if n == 0 {
			return nil, fmt.Errorf("boltstore: %s: a record written since the last checkpoint does not read back", l.path)
		}
		out = append(out, p)
		data = data[n:]
	}
	return out, nil
}

// close closes the file; remove (after a final checkpoint) removes it too, so that a
// log found at open is always one a crash left.
func (l *wal) close(remove bool) error {
	err := l.f.Close()
	if remove {
		if rerr := os.Remove(l.path); err == nil {
			err = rerr
		}
	}
	return err
}

// appendEntry appends one put (val non-nil) or delete to a payload.
func appendEntry(dst []byte, op byte, bucket, key, val []byte) []byte {
	dst = append(dst, op, byte(len(bucket)))
	dst = append(dst, bucket...)
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	if op == logPut {
		dst = binary.AppendUvarint(dst, uint64(len(val)))
		dst = append(dst, val...)
	}
	return dst
}

// replay applies a payload's entries in tx; the payload must outlive tx (bbolt keeps the
// slices it is given until the commit).
func replay(tx *bolt.Tx, p []byte) error {
	for len(p) > 0 {
		op := p[0]
		if op != logPut && op != logDelete || len(p) < 2 || len(p) < 2+int(p[1]) {
			return errors.New("a log entry is malformed")
		}
		name := p[2 : 2+int(p[1])]
		p = p[2+int(p[1]):]
		key, rest, ok := lenPrefixed(p)
		if !ok {
			return errors.New("a log entry's key is malformed")
		}
		b := tx.Bucket(name)
		if b == nil {
			return fmt.Errorf("a log entry names bucket %q, which the file does not have", name)
		}
		if op == logDelete {
			if err := b.Delete(key); err != nil {
				return err
			}
			p = rest
			continue
		}
		val, rest, ok := lenPrefixed(rest)
		if !ok {
			return errors.New("a log entry's value is malformed")
		}
		if err := b.Put(key, val); err != nil {
			return err
		}
		p = rest
	}
	return nil
}

// lenPrefixed splits a uvarint-length-prefixed field off b.
func lenPrefixed(b []byte) (field, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	return b[k : k+int(n)], b[k+int(n):], true
}
