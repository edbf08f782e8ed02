package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// group is a journal payload of n touches from id first on (what
// decodeGroup reads).
func group(first uint64, n int) []byte {
	b := binary.AppendUvarint(nil, first)
	b = binary.AppendUvarint(b, uint64(n))
	for i := range n {
		rec := fmt.Appendf(nil, "touch %d", first+uint64(i))
		b = binary.AppendUvarint(b, 1)
		b = binary.AppendUvarint(b, uint64(len(rec)))
		b = append(b, rec...)
	}
	return b
}

// replayed opens the journal in dir and returns the first ids of the
// groups it reads back.
func replayed(t *testing.T, dir string) ([]uint64, error) {
	t.Helper()
	var firsts []uint64
	j, err := openJournal(dir, false, func(p []byte) error {
		first, _ := binary.Uvarint(p)
		firsts = append(firsts, first)
		return nil
	})
	if err == nil {
		j.close()
	}
	return firsts, err
}

// fullAfter makes a journal's writes fail as a full disk does once limit
// bytes are written in all: the write that crosses it writes what fits.
func fullAfter(j *journal, limit int) {
	written := 0
	j.write = func(f *os.File, b []byte) (int, error) {
		room := max(limit-written, 0)
		if len(b) <= room {
			written += len(b)
			return f.Write(b)
		}
		n, _ := f.Write(b[:room])
		written += n
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
}

// A write the disk has no room for fails, and what it wrote of its record
// is cut off again: appends acknowledged after space returns are read back
// on the next start, and so are the ones before.
func TestJournalDiskFull(t *testing.T) {
	dir := t.TempDir()
	j, err := openJournal(dir, false, func([]byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	rec := group(1, 3)
	size := journalHeader + len(rec)
	fullAfter(j, 2*size+size/2) // room for two records and half of one
	var acked []uint64
	for first := uint64(1); first <= 30; first += 3 {
		if err := j.append(group(first, 3)); err == nil {
			acked = append(acked, first)
		} else if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("append: %v", err)
		}
		if first == 10 {
			// Space returns.
			j.write = (*os.File).Write
		}
	}
	if want := []uint64{1, 4, 13, 16, 19, 22, 25, 28}; !slices.Equal(acked, want) {
		t.Fatalf("acknowledged %v, want %v", acked, want)
	}
	j.close()
	got, err := replayed(t, dir)
	if err != nil {
		t.Fatalf("the journal does not open again: %v", err)
	}
	if !slices.Equal(got, acked) {
		t.Fatalf("read back %v, acknowledged %v", got, acked)
	}
}

// A segment whose torn record could not be cut off (the journal went on in
// a new segment) ends at the torn record; so does the last segment after a
// crash mid-write. Neither keeps the store from starting, and nothing
// acknowledged is lost.
func TestJournalTornTails(t *testing.T) {
	dir := t.TempDir()
	j, err := openJournal(dir, false, func([]byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, first := range []uint64{1, 2} {
		if err := j.append(group(first, 1)); err != nil {
			t.Fatal(err)
		}
	}
	// A torn record in the first segment, as if cutting it off failed.
	torn := append(binary.LittleEndian.AppendUint32(nil, 100), 1, 2, 3, 4, 5, 6)
	if _, err := j.f.Write(torn); err != nil {
		t.Fatal(err)
	}
	j.broken = true
	if err := j.append(group(3, 1)); err != nil {
		t.Fatal(err)
	}
	if j.seq != 2 {
		t.Fatalf("after a torn record the journal writes segment %d, want 2", j.seq)
	}
	// And a crash mid-write at the end of the second.
	if _, err := j.f.Write(torn[:7]); err != nil {
		t.Fatal(err)
	}
	j.close()
	got, err := replayed(t, dir)
	if err != nil {
		t.Fatalf("the journal does not open: %v", err)
	}
	if want := []uint64{1, 2, 3}; !slices.Equal(got, want) {
		t.Fatalf("read back %v, want %v", got, want)
	}
	// The tails were cut: the journal opens cleanly again.
	if got, err := replayed(t, dir); err != nil || !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("second opening: %v %v", got, err)
	}
}

// Damage in the middle of a segment, with intact records after it, is not
// a torn tail: those records were acknowledged, and the store refuses to
// start rather than drop them.
func TestJournalDamagedMiddle(t *testing.T) {
	dir := t.TempDir()
	j, err := openJournal(dir, false, func([]byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, first := range []uint64{1, 2, 3} {
		if err := j.append(group(first, 1)); err != nil {
			t.Fatal(err)
		}
	}
	j.close()
	path := filepath.Join(dir, segmentName(1))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[journalHeader+2] ^= 0xff // inside the first record's payload
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := replayed(t, dir); !errors.Is(err, errDamaged) {
		t.Fatalf("opening a journal damaged in the middle: %v, want errDamaged", err)
	}
	if after, _ := os.ReadFile(path); !slices.Equal(after, b) {
		t.Fatal("the damaged segment was changed")
	}
}
