package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// NewUID returns an RFC 9562 version 7 UUID (a millisecond timestamp, then 74 random bits),
// what a backend gives a task created without a UID. Time-ordered rather than wholly random
// (version 4) so that records keyed by uid (a task's runs) cluster by creation time: a
// B+tree store then writes the runs of the tasks in flight into a few leaves at its end
// instead of one random leaf each.
func NewUID() string {
	var b [16]byte
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails (it panics on a broken kernel RNG)
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(time.Now().UnixMilli()))
	copy(b[0:6], ms[2:8])
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
