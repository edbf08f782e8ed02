package sqlite

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzJournalReplay opens a journal whose one segment holds random bytes,
// reading its records as the store does (each must be a group). It never
// panics, and either refuses with errDamaged, changing nothing, or reads
// the intact records from the start and cuts the segment after them,
// where what it cut holds no intact record (a torn tail: never
// acknowledged). Opening it again then reads the same records and leaves
// the segment as it is.
func FuzzJournalReplay(f *testing.F) {
	f.Fuzz(func(t *testing.T, segment []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, segmentName(1))
		if err := os.WriteFile(path, segment, 0o600); err != nil {
			t.Fatal(err)
		}
		records, err := fuzzOpen(dir)
		after, rerr := os.ReadFile(path)
		if rerr != nil {
			t.Fatal(rerr)
		}
		if err != nil {
			if !errors.Is(err, errDamaged) {
				t.Fatalf("refused without errDamaged: %v", err)
			}
			if !bytes.Equal(after, segment) {
				t.Fatalf("a refused journal was changed: %d bytes, was %d", len(after), len(segment))
			}
			return
		}
		if !bytes.HasPrefix(segment, after) {
			t.Fatalf("the segment was rewritten, not cut: %q, was %q", after, segment)
		}
		// What is left is exactly the records read, in order.
		want := [][]byte{}
		for rest := after; len(rest) > 0; {
			p, n, ok := readRecord(rest)
			if !ok {
				t.Fatalf("what is left holds damage at offset %d", len(after)-len(rest))
			}
			want = append(want, p)
			rest = rest[n:]
		}
		if !reflect.DeepEqual(records, want) {
			t.Fatalf("read %d records, the segment left holds %d", len(records), len(want))
		}
		for _, p := range records {
			if _, err := decodeGroup(p); err != nil {
				t.Fatalf("read a record that is no group: %v", err)
			}
		}
		// What was cut holds no intact record.
		tail := segment[len(after):]
		for i := 1; i+journalHeader <= len(tail); i++ {
			if p, _, ok := readRecord(tail[i:]); ok {
				if _, err := decodeGroup(p); err == nil {
					t.Fatalf("cut an intact record at offset %d", len(after)+i)
				}
			}
		}

		again, err := fuzzOpen(dir)
		if err != nil {
			t.Fatalf("opening again: %v", err)
		}
		if !reflect.DeepEqual(again, records) {
			t.Fatalf("opening again read %d records, the first time %d", len(again), len(records))
		}
		if b, _ := os.ReadFile(path); !bytes.Equal(b, after) {
			t.Fatalf("opening again changed the segment")
		}
	})
}

// fuzzOpen opens the journal in dir as the store does and returns the
// payloads it read.
func fuzzOpen(dir string) ([][]byte, error) {
	records := [][]byte{}
	j, err := openJournal(dir, false, func(p []byte) error {
		_, err := decodeGroup(p)
		records = append(records, bytes.Clone(p))
		return err
	})
	if err != nil {
		return nil, err
	}
	return records, j.close()
}
