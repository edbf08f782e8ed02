package sqlite

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
)

// The store's files are its owner's alone: the database and everything
// beside it (WAL, shared memory, lock, journal segments, the space probe)
// are 0600, the journal directory 0700. They hold click-signing secrets
// and the credentials the server sends elsewhere, which must stay
// readable by the server.
const (
	fileMode fs.FileMode = 0o600
	dirMode  fs.FileMode = 0o700
)

// secureFiles runs before SQLite opens the database. It creates the
// database file 0600 when there is none, because SQLite gives the WAL and
// shared-memory files it creates the mode of the database file (whatever
// the umask; it sets the mode itself), so they are 0600 too. A umask set
// around the open would be the process's, and change the mode of files
// other goroutines create meanwhile; a chmod after the open would leave
// the files readable until then, and SQLite deletes and creates the WAL
// again over the store's life. Files an older version left with looser
// modes are tightened, and each is logged.
func (db *DB) secureFiles() error {
	if runtime.GOOS == "windows" {
		return nil // no Unix modes to set
	}
	f, err := os.OpenFile(db.Path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	dir := db.Path + ".journal"
	for _, p := range []string{db.Path, db.Path + "-wal", db.Path + "-shm", db.Path + ".lock", dir} {
		if err := db.tighten(p); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := db.tighten(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// othersBits are the group's and others' permissions, which TightenMode
// takes away.
const othersBits fs.FileMode = 0o077

func (db *DB) tighten(path string) error { return TightenMode(path, "store", db.Logger) }

// TightenMode takes the group's and others' permissions from the file or
// directory at path (the owner's stay as they are) and logs the change as
// one to a what file ("store", "data-dir"). A missing path, or a symbolic
// link, is left alone; one not ours to change is logged, and left.
func TightenMode(path, what string, logger *slog.Logger) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 || fi.Mode().Perm()&othersBits == 0 {
		return nil
	}
	if err := os.Chmod(path, fi.Mode().Perm()&^othersBits); err != nil {
		// Not ours to change (another owner): say so, and go on.
		logger.Error("could not tighten the mode of a "+what+" file: it is open to other users", "path", path,
			"mode", fi.Mode().Perm().String(), "err", err)
		return nil
	}
	logger.Warn("tightened the mode of a "+what+" file: it was open to other users", "path", path,
		"was", fi.Mode().Perm().String(), "now", (fi.Mode().Perm() &^ othersBits).String())
	return nil
}
