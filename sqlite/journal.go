package sqlite

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
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
	buf  []byte
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
// fn, cuts off a record torn by a crash at the end of the last segment, and
// opens a new segment for appending.
func openJournal(dir string, sync bool, fn func(payload []byte) error) (*journal, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	seqs, err := segments(dir)
	if err != nil {
		return nil, err
	}
	for i, seq := range seqs {
		if err := replaySegment(filepath.Join(dir, segmentName(seq)), i == len(seqs)-1, fn); err != nil {
			return nil, err
		}
	}
	j := &journal{dir: dir, sync: sync}
	next := uint64(1)
	if len(seqs) > 0 {
		next = seqs[len(seqs)-1] + 1
	}
	if err := j.open(next); err != nil {
		return nil, err
	}
	return j, nil
}

func replaySegment(path string, last bool, fn func(payload []byte) error) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var off int64
	var hdr [journalHeader]byte
	for {
		_, err := io.ReadFull(r, hdr[:])
		if err == io.EOF {
			return nil
		}
		var payload []byte
		if err == nil {
			payload = make([]byte, binary.LittleEndian.Uint32(hdr[:4]))
			_, err = io.ReadFull(r, payload)
		}
		if err == nil && crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
			err = errors.New("checksum mismatch")
		}
		if err != nil {
			if !last {
				return fmt.Errorf("journal %s is damaged at offset %d: %v", path, off, err)
			}
			// A record torn by a crash: it was never acknowledged.
			return f.Truncate(off)
		}
		if err := fn(payload); err != nil {
			return err
		}
		off += journalHeader + int64(len(payload))
	}
}

func (j *journal) open(seq uint64) error {
	f, err := os.OpenFile(filepath.Join(j.dir, segmentName(seq)), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	j.f, j.seq = f, seq
	return nil
}

// append writes one record. When it returns nil the record is durable.
func (j *journal) append(payload []byte) error {
	j.buf = append(j.buf[:0], 0, 0, 0, 0, 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(j.buf[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(j.buf[4:], crc32.Checksum(payload, crcTable))
	j.buf = append(j.buf, payload...)
	if _, err := j.f.Write(j.buf); err != nil {
		return err
	}
	if j.sync {
		return j.f.Sync()
	}
	return nil
}

// rotate closes the segment being written and starts the next; it returns
// the number of the closed one.
func (j *journal) rotate() (uint64, error) {
	old := j.seq
	if err := j.f.Close(); err != nil {
		return 0, err
	}
	return old, j.open(old + 1)
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
