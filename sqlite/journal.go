package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The journal is where a touch first becomes durable. RecordTouches appends
// each group commit to it as one record, with one write(2): that is the
// commit. A write that has returned is in the kernel's page cache and
// survives a crash of the process; with Synchronous "full" the journal is
// also fsynced, so it survives a crash of the machine. The loader then
// moves touches into SQLite in large transactions (load.go) and deletes the
// journal segments it has loaded. On start, records above the loaded
// high-water mark are read back.
//
// A segment is a file of records:
//
//	uint32 LE payload length | uint32 LE CRC-32C of the payload | payload
//
// and a payload is a group: uvarint first id, uvarint count, then per touch
// uvarint app seq, uvarint length and the touch's stored form
// (touchpoint.Touch.AppendBinary). Ids in a group are consecutive.

var crcTable = crc32.MakeTable(crc32.Castagnoli)

const journalHeader = 8

type journal struct {
	dir  string
	sync bool
	f    *os.File // the segment being written
	seq  uint64   // its number
	off  int64    // the length of its intact records
	// broken: a failed append could not be cut off again; the next
	// append starts a new segment.
	broken bool
	buf    []byte
	// write writes b to f (a seam: tests make it fail as a full disk
	// does, part way).
	write func(f *os.File, b []byte) (int, error)
}

func segmentName(seq uint64) string { return fmt.Sprintf("touches-%016x.journal", seq) }

// segments lists the journal's segment numbers in order.
func segments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, e := range entries {
		var seq uint64
		if _, err := fmt.Sscanf(e.Name(), "touches-%016x.journal", &seq); err == nil && strings.HasSuffix(e.Name(), ".journal") {
			seqs = append(seqs, seq)
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return seqs, nil
}

// openJournal reads every record of the journal in dir, oldest first, into
// fn, and opens a new segment for appending. A segment may end in a torn
// record: a crash, or a write the disk had no room for, cut it short. That
// record was never acknowledged (an append is acknowledged only when its
// write returned), so the segment ends before it, and is cut there. But a
// damaged record with good records after it is no torn tail: those records
// were acknowledged, and the journal refuses to open rather than drop them
// (errDamaged says where).
func openJournal(dir string, sync bool, fn func(payload []byte) error) (*journal, error) {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, err
	}
	seqs, err := segments(dir)
	if err != nil {
		return nil, err
	}
	for _, seq := range seqs {
		if err := replaySegment(filepath.Join(dir, segmentName(seq)), fn); err != nil {
			return nil, err
		}
	}
	j := &journal{dir: dir, sync: sync, write: (*os.File).Write}
	next := uint64(1)
	if len(seqs) > 0 {
		next = seqs[len(seqs)-1] + 1
	}
	if err := j.open(next); err != nil {
		return nil, err
	}
	return j, nil
}

// readRecord reads the record at the start of b: its payload and length,
// or ok false when b does not start with a whole, intact record.
func readRecord(b []byte) (payload []byte, n int, ok bool) {
	if len(b) < journalHeader {
		return nil, 0, false
	}
	l := uint64(binary.LittleEndian.Uint32(b[:4]))
	if l > uint64(len(b)-journalHeader) {
		return nil, 0, false
	}
	payload = b[journalHeader : journalHeader+int(l)]
	if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(b[4:8]) {
		return nil, 0, false
	}
	return payload, journalHeader + int(l), true
}

// intactRecord is readRecord, and the payload is a group: a record whose
// checksum holds over bytes the journal never writes (a zero-filled block
// is a record of length 0 with a good checksum) is damage too.
func intactRecord(b []byte) (payload []byte, n int, ok bool) {
	payload, n, ok = readRecord(b)
	if !ok || len(payload) == 0 {
		return nil, 0, false
	}
	if _, err := decodeGroup(payload); err != nil {
		return nil, 0, false
	}
	return payload, n, true
}

func replaySegment(path string, fn func(payload []byte) error) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	off := 0
	for off < len(b) {
		payload, n, ok := intactRecord(b[off:])
		if !ok {
			break
		}
		if err := fn(payload); err != nil {
			return err
		}
		off += n
	}
	if off == len(b) {
		return nil
	}
	// Damage at off: a torn tail unless an intact record follows it.
	for next := off + 1; next+journalHeader <= len(b); next++ {
		if _, _, ok := intactRecord(b[next:]); ok {
			return fmt.Errorf("%w: %s at offset %d, with intact records from offset %d on: "+
				"they were acknowledged, so the store will not start without them; move the file aside to start without them",
				errDamaged, path, off, next)
		}
	}
	// A torn tail: never acknowledged.
	return os.Truncate(path, int64(off))
}

// errDamaged is a journal damaged in its middle (see openJournal).
var errDamaged = errors.New("the touch journal is damaged")

func (j *journal) open(seq uint64) error {
	f, err := os.OpenFile(filepath.Join(j.dir, segmentName(seq)), os.O_WRONLY|os.O_CREATE|os.O_APPEND, fileMode)
	if err != nil {
		return err
	}
	j.f, j.seq, j.off = f, seq, 0
	return nil
}

// append writes one record. When it returns nil the record is durable.
// When it fails (the disk is full, say), the part of the record that was
// written is cut off again, so the segment never holds a torn record
// before acknowledged ones; when even that fails, the next append starts a
// new segment, and the torn record stays the tail of this one.
func (j *journal) append(payload []byte) error {
	if j.broken {
		if err := j.reopen(); err != nil {
			return err
		}
	}
	j.buf = append(j.buf[:0], 0, 0, 0, 0, 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(j.buf[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(j.buf[4:], crc32.Checksum(payload, crcTable))
	j.buf = append(j.buf, payload...)
	n, err := j.write(j.f, j.buf)
	if err == nil && j.sync {
		err = j.f.Sync()
	}
	if err != nil {
		if n > 0 || j.sync {
			if terr := j.f.Truncate(j.off); terr != nil {
				j.broken = true
			}
		}
		return err
	}
	j.off += int64(n)
	return nil
}

// reopen starts a new segment after one that may end in a torn record.
func (j *journal) reopen() error {
	old := j.f
	if err := j.open(j.seq + 1); err != nil {
		return err
	}
	old.Close()
	j.broken = false
	return nil
}

// rotate closes the segment being written and starts the next; it returns
// the number of the closed one. When the next cannot be opened (no room
// for it), the journal goes on writing the one it has.
func (j *journal) rotate() (uint64, error) {
	old, f := j.seq, j.f
	if err := j.open(old + 1); err != nil {
		return 0, err
	}
	j.broken = false
	return old, f.Close()
}

// remove deletes the segments numbered up to and including seq.
func (j *journal) remove(seq uint64) error {
	seqs, err := segments(j.dir)
	if err != nil {
		return err
	}
	for _, s := range seqs {
		if s <= seq && s != j.seq {
			if err := os.Remove(filepath.Join(j.dir, segmentName(s))); err != nil {
				return err
			}
		}
	}
	return nil
}

func (j *journal) close() error {
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}
