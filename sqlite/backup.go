package sqlite

import (
	"archive/tar"
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// A backup of a running store is one tar stream:
//
//	touchpoint-backup.json  the manifest (BackupManifest), first
//	touchpoint.db           the database, page by page, as one snapshot
//	<BackupFiles>           the files beside it that the data needs
//	SHA256SUMS              the SHA-256 of each file above but the manifest, as sha256sum writes them
//
// then tar's end-of-archive marker, so a cut stream is told from a whole
// one. Before the snapshot is taken, every click the journal acknowledged
// until the backup began is loaded into the database, so the database
// alone holds them: the file restores with no journal. The database is
// read from SQLite's own pages (the sqlite_dbpage table) in one read
// transaction: the snapshot of its last commit, written as it is read,
// with no copy on disk and nothing held in memory but a page at a time.
// Writers go on meanwhile (a read transaction does not block them); the
// WAL grows by what they write until the backup ends, as no checkpoint
// can reset it past a reader.

const (
	// BackupManifestName, BackupDatabaseName and BackupSumsName are the
	// names of the manifest, the database and the checksums in a backup.
	BackupManifestName = "touchpoint-backup.json"
	BackupDatabaseName = "touchpoint.db"
	BackupSumsName     = "SHA256SUMS"
	// backupFormat is the manifest's format: a restore refuses a backup
	// of a format it does not know.
	backupFormat = 1
)

// The store is a touchpoint.BackupStore.
var _ touchpoint.BackupStore = (*DB)(nil)

const ()

// BackupFiles are the files of the data dir, beside the database, that a
// backup carries and a restore puts back: what the data cannot be read
// without (a key that secrets in the database are encrypted with, when
// the store has one). The admin token is not among them: it is the key to
// the server's API, not data, and a restored server makes a new one on
// its first start, or takes --admin-token.
var BackupFiles = []string{}

// Backup writes a backup of the open store to w, taken while it serves:
// every touch recorded before Backup was called is loaded from the journal
// into the database, then the database is written from a snapshot of its
// last commit, which holds everything committed (acknowledged) before
// then. It returns the backup's manifest. An error after something was
// written leaves w with a backup that is cut short (no end-of-archive
// marker): the caller must not keep it.
func (db *DB) Backup(ctx context.Context, w io.Writer) (*touchpoint.BackupManifest, error) {
	db.writeMu.Lock()
	closed, through := db.journal == nil, db.lastID
	db.writeMu.Unlock()
	if closed {
		return nil, errClosed
	}
	if err := db.loadThrough(ctx, through); err != nil {
		return nil, fmt.Errorf("sqlite: backup: loading the journal's touches: %w", db.classify(err))
	}

	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	m := &touchpoint.BackupManifest{Format: backupFormat, CreatedAt: db.now(), TouchesThrough: through, Files: []string{}}
	if err := tx.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&m.PageSize); err != nil {
		return nil, err
	}
	// The snapshot begins with the transaction's first read of the
	// database: this one. The pages read below are its pages.
	if err := tx.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&m.Pages); err != nil {
		return nil, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(name), '') FROM migrations`).Scan(&m.Migration); err != nil {
		return nil, err
	}
	m.Migration = shortMigration(m.Migration)
	dir := filepath.Dir(db.Path)
	var files [][]byte
	for _, name := range BackupFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("sqlite: backup: %w", err)
		}
		m.Files = append(m.Files, name)
		files = append(files, b)
	}

	tw := tar.NewWriter(w)
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	manifest = append(manifest, '\n')
	if err := writeTarFile(tw, BackupManifestName, m.CreatedAt, manifest); err != nil {
		return m, err
	}
	var sums strings.Builder
	h := sha256.New()
	if err := tw.WriteHeader(tarHeader(BackupDatabaseName, m.CreatedAt, m.Bytes())); err != nil {
		return m, err
	}
	if err := db.writePages(ctx, tx, io.MultiWriter(tw, h), m.Pages); err != nil {
		return m, err
	}
	fmt.Fprintf(&sums, "%x  %s\n", h.Sum(nil), BackupDatabaseName)
	for i, name := range m.Files {
		if err := writeTarFile(tw, name, m.CreatedAt, files[i]); err != nil {
			return m, err
		}
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(files[i]), name)
	}
	if err := writeTarFile(tw, BackupSumsName, m.CreatedAt, []byte(sums.String())); err != nil {
		return m, err
	}
	return m, tw.Close()
}

// writePages writes the database's pages 1 to pages, in order, as the
// transaction tx sees them.
func (db *DB) writePages(ctx context.Context, tx *sql.Tx, w io.Writer, pages int64) error {
	// sqlite_dbpage yields the pages in page-number order (it consumes
	// the ORDER BY: no sort).
	rows, err := tx.QueryContext(ctx, `SELECT pgno, data FROM sqlite_dbpage ORDER BY pgno`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var n int64
	var data sql.RawBytes
	for rows.Next() {
		var pgno int64
		if err := rows.Scan(&pgno, &data); err != nil {
			return err
		}
		if n++; pgno != n {
			return fmt.Errorf("sqlite: backup: page %d came where page %d was expected", pgno, n)
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != pages {
		return fmt.Errorf("sqlite: backup: %d pages read, the database has %d", n, pages)
	}
	return nil
}

// loadThrough loads the journal's touches into the touch log until the
// touch with id through is loaded. Clicks recorded meanwhile may be loaded
// too.
func (db *DB) loadThrough(ctx context.Context, through int64) error {
	for {
		loaded, err := readMeta(ctx, db.read, loadedKey)
		if err != nil {
			return err
		}
		if loaded >= through {
			return nil
		}
		if n, _ := db.touchTail.size(); n == 0 {
			// Nothing waits: every touch recorded is loaded, through the
			// last id (a store whose touches were all purged never moved
			// its mark).
			return nil
		}
		if err := db.loadRound(ctx); err != nil {
			return err
		}
	}
}

func tarHeader(name string, at time.Time, size int64) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: int64(fileMode), ModTime: at.UTC().Truncate(time.Second)}
}

func writeTarFile(tw *tar.Writer, name string, at time.Time, b []byte) error {
	if err := tw.WriteHeader(tarHeader(name, at, int64(len(b)))); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

// shortMigration is a migration's name as errors and docs/backup.md give it:
// without the path and the extension the migrations table keeps.
func shortMigration(path string) string {
	return strings.TrimSuffix(strings.TrimPrefix(path, "migrations/"), ".sql")
}

// ReadBackup reads a backup from r as far as its end: each file is
// checked against SHA256SUMS, and a backup cut short, or with a file this
// version does not know, is an error. When dir is not empty the files are
// written there (the database as BackupDatabaseName), each 0600 and
// synced; otherwise they are only read. It does not look into the
// database: VerifyBackup does.
func ReadBackup(r io.Reader, dir string) (*touchpoint.BackupManifest, error) {
	tr := tar.NewReader(r)
	notBackup := errors.New("this is not a touchpoint backup (a tar file that begins with " + BackupManifestName + ")")
	hdr, err := tr.Next()
	if err != nil || hdr.Name != BackupManifestName || hdr.Size > 1<<20 {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, tar.ErrHeader) {
			return nil, fmt.Errorf("%w: %w", notBackup, err)
		}
		return nil, notBackup
	}
	var m touchpoint.BackupManifest
	b, err := io.ReadAll(tr)
	if err != nil {
		return nil, cutShort(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: its manifest does not parse: %v", notBackup, err)
	}
	if m.Format != backupFormat {
		return nil, fmt.Errorf("the backup is of format %d, which this version of touchpoint does not read (it reads format %d): restore it with the version that made it, or newer", m.Format, backupFormat)
	}
	want := map[string]bool{BackupDatabaseName: true}
	for _, name := range m.Files {
		if !slices.Contains(BackupFiles, name) {
			return nil, fmt.Errorf("the backup holds a file %q this version of touchpoint does not know: restore it with the version that made it, or newer", name)
		}
		want[name] = true
	}
	got := map[string]string{} // name → its SHA-256, hex
	var sums []byte
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, cutShort(err)
		}
		switch {
		case hdr.Name == BackupSumsName:
			if sums, err = io.ReadAll(io.LimitReader(tr, 1<<20)); err != nil {
				return nil, cutShort(err)
			}
			continue
		case !want[hdr.Name] || got[hdr.Name] != "" || hdr.Typeflag != tar.TypeReg:
			return nil, fmt.Errorf("the backup holds an unexpected entry %q", hdr.Name)
		case hdr.Name == BackupDatabaseName && hdr.Size != m.Bytes():
			return nil, fmt.Errorf("the backup's database is %d bytes, its manifest says %d", hdr.Size, m.Bytes())
		}
		sum, err := copyEntry(tr, dir, hdr.Name)
		if err != nil {
			return nil, err
		}
		got[hdr.Name] = sum
	}
	if sums == nil {
		return nil, cutShort(errors.New("no " + BackupSumsName))
	}
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if ok {
			listed[name] = sum
		}
	}
	for name := range want {
		switch {
		case got[name] == "":
			return nil, fmt.Errorf("the backup has no %s", name)
		case listed[name] != got[name]:
			return nil, fmt.Errorf("the backup is damaged: the SHA-256 of %s is %s, %s says %s", name, got[name], BackupSumsName, cmp.Or(listed[name], "nothing"))
		}
	}
	return &m, nil
}

// cutShort is the error of a backup that ends before its end.
func cutShort(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("the backup is cut short (the file ends before the backup does): it is incomplete, take another")
	}
	return fmt.Errorf("reading the backup: %w", err)
}

// copyEntry reads one file of the backup, writing it as dir/name when dir
// is not empty, and returns its SHA-256 in hex.
func copyEntry(r io.Reader, dir, name string) (string, error) {
	h := sha256.New()
	if dir == "" {
		if _, err := io.Copy(h, r); err != nil {
			return "", cutShort(err)
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return "", err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	if _, err := io.Copy(io.MultiWriter(bw, h), r); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return "", cutShort(err)
		}
		return "", err
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), f.Close()
}

// knownMigrations are the short names of the migrations this version
// embeds.
func knownMigrations() ([]string, error) {
	paths, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = shortMigration(p)
	}
	return names, nil
}

// VerifyBackup checks a database read out of a backup (ReadBackup, into
// dir): SQLite's integrity check passes, and this version knows every
// migration it has (a database from a newer version is refused with a
// *touchpoint.NewerDatabaseError naming the backup as from). It changes
// nothing in the file and leaves no other file beside it.
func VerifyBackup(ctx context.Context, dir, from string) error {
	path := filepath.Join(dir, BackupDatabaseName)
	// Read-only, and immutable: SQLite neither locks the file nor makes a
	// WAL or shared-memory file beside it.
	conn, err := sql.Open("sqlite", fileURI(path, "mode=ro&immutable=1"))
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	rows, err := conn.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("the backup's database cannot be read: %w", err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("the backup's database cannot be read: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("the backup's database fails SQLite's integrity check: %s", strings.Join(problems[:min(len(problems), 5)], "; "))
	}
	var applied []string
	rows, err = conn.QueryContext(ctx, `SELECT name FROM migrations`)
	if err != nil {
		return fmt.Errorf("the backup's database is not a touchpoint database: %w", err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		applied = append(applied, shortMigration(name))
	}
	if err := rows.Close(); err != nil {
		return err
	}
	known, err := knownMigrations()
	if err != nil {
		return err
	}
	return touchpoint.CheckMigrations(from, applied, known)
}

// storeFiles are the names, in a data dir, of what a store is made of: a
// restore refuses to write over them unless forced, and moves them aside
// when forced.
func storeFiles() []string {
	return append([]string{BackupDatabaseName, BackupDatabaseName + "-wal", BackupDatabaseName + "-shm", BackupDatabaseName + ".journal"}, BackupFiles...)
}

// RestoreResult is what Restore did.
type RestoreResult struct {
	Manifest *touchpoint.BackupManifest
	// Replaced is where the store that was in the data dir was moved
	// (Force), or "" when there was none.
	Replaced string
}

// Restore writes the backup read from r as the store of dataDir (as serve
// names its files), for a server to start on. It refuses a data dir a
// running server holds (ErrInUse), and one that holds a store already
// unless force is set; then that store's files are moved into a directory
// beside them (RestoreResult.Replaced), not deleted. The backup is read
// into a directory in dataDir and checked (ReadBackup, VerifyBackup)
// before anything in dataDir changes; then its files are renamed into
// place, the database last. from names the backup in errors. now names
// the directory of a replaced store.
func Restore(ctx context.Context, r io.Reader, dataDir, from string, force bool, now time.Time) (*RestoreResult, error) {
	if err := os.MkdirAll(dataDir, dirMode); err != nil {
		return nil, err
	}
	lockPath := filepath.Join(dataDir, BackupDatabaseName+".lock")
	lock, err := lockFile(lockPath)
	if err != nil {
		return nil, fmt.Errorf("%w: stop the server that runs on %s before restoring into it", err, dataDir)
	}
	defer lock.Close()
	if err := ownLike(dataDir, lockPath); err != nil {
		return nil, err
	}
	var existing []string
	for _, name := range storeFiles() {
		if _, err := os.Lstat(filepath.Join(dataDir, name)); err == nil {
			existing = append(existing, name)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if len(existing) > 0 && !force {
		return nil, fmt.Errorf("%s holds a store already (%s): give --force to replace it (its files are moved aside, not deleted), or restore into an empty directory",
			dataDir, strings.Join(existing, ", "))
	}

	// A restore killed part way left its directory: the lock says no
	// other restore is using it.
	if stale, err := filepath.Glob(filepath.Join(dataDir, ".restore-*")); err == nil {
		for _, d := range stale {
			os.RemoveAll(d)
		}
	}
	tmp, err := os.MkdirTemp(dataDir, ".restore-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	m, err := ReadBackup(r, tmp)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := VerifyBackup(ctx, tmp, from); err != nil {
		return nil, err
	}

	res := &RestoreResult{Manifest: m}
	if len(existing) > 0 {
		res.Replaced = filepath.Join(dataDir, "replaced-"+now.UTC().Format("20060102T150405Z"))
		if err := os.Mkdir(res.Replaced, dirMode); err != nil {
			return nil, fmt.Errorf("moving the store in %s aside: %w", dataDir, err)
		}
	}
	// From here on an error says where the store that was there went.
	if err := res.place(dataDir, tmp, existing, m.Files); err != nil {
		if res.Replaced != "" {
			err = fmt.Errorf("%w (the store that was in %s is in %s)", err, dataDir, res.Replaced)
		}
		return nil, err
	}
	return res, nil
}

// place moves the existing store files into res.Replaced, then the
// restored ones (files, then the database) from tmp into dataDir.
func (res *RestoreResult) place(dataDir, tmp string, existing, files []string) error {
	if res.Replaced != "" {
		if err := ownLike(dataDir, res.Replaced); err != nil {
			return err
		}
		for _, name := range existing {
			if err := os.Rename(filepath.Join(dataDir, name), filepath.Join(res.Replaced, name)); err != nil {
				return fmt.Errorf("moving the store in %s aside: %w", dataDir, err)
			}
		}
		if err := syncDir(res.Replaced); err != nil {
			return err
		}
	}
	// The database last: until it is there, no server starts on a
	// half-restored store (and a second restore sees the files already
	// moved, and asks for --force).
	for _, name := range append(slices.Clone(files), BackupDatabaseName) {
		if err := ownLike(dataDir, filepath.Join(tmp, name)); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dataDir, name)); err != nil {
			return err
		}
	}
	return syncDir(dataDir)
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
