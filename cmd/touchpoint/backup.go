package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/sqlite"
)

// runBackup is "touchpoint backup": it asks a running server for a backup
// of its embedded store (POST /api/v1/backup) and writes it to --out, read
// through as it arrives: a backup cut short or damaged on the way fails the
// command and leaves no file.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", stderr, "--out FILE")
	c := clientFlags(fs)
	out := fs.String("out", "", `the file to write the backup to (a tar file; replaced whole if it exists), or "-" for stdout`)
	flags := fs.Usage
	fs.Usage = func() {
		flags()
		fmt.Fprint(stderr, backupHelp)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("backup: unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		fs.Usage()
		return errors.New("backup: give --out FILE (or --out - for stdout)")
	}

	// The file is written beside its final name and renamed over it once
	// the whole backup is in it and synced: a failed backup never
	// replaces a good one.
	var w io.Writer = stdout
	var tmp *os.File
	if *out != "-" {
		var err error
		if tmp, err = os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".partial-"); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		defer func() {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		w = tmp
	}
	started := time.Now()
	// No limit on the whole (a large store takes minutes), but one on a
	// stall: a server that sends nothing for backupStall is given up on.
	ctx, stalled := context.WithCancelCause(ctx)
	defer stalled(nil)
	stall := time.AfterFunc(backupStall, func() {
		stalled(fmt.Errorf("the server sent nothing for %s", backupStall))
	})
	defer stall.Stop()
	body, err := c.openBackup(ctx)
	if err != nil {
		return fmt.Errorf("backup: %w", backupErr(ctx, err))
	}
	defer body.Close()
	body = &progressReader{r: body, progress: func() { stall.Reset(backupStall) }}
	counted := &countWriter{w: w}
	m, err := sqlite.ReadBackup(io.TeeReader(body, counted), "")
	if err != nil {
		return fmt.Errorf("backup: %w", backupErr(ctx, err))
	}
	// The tar's end is read; what follows it (its padding) is kept too.
	if _, err := io.Copy(counted, body); err != nil {
		return fmt.Errorf("backup: %w", backupErr(ctx, err))
	}
	if tmp != nil {
		if err := tmp.Sync(); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if err := tmp.Close(); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if err := os.Rename(tmp.Name(), *out); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		tmp = nil
	}
	took := time.Since(started)
	fmt.Fprintf(stderr, "wrote %s: %s in %s (%.0f MB/s); database of %d pages, touches through id %d, migration %s, taken %s\n",
		outName(*out), megabytes(counted.n), took.Round(time.Millisecond), float64(counted.n)/1e6/max(took.Seconds(), 1e-3),
		m.Pages, m.TouchesThrough, m.Migration, m.CreatedAt.Format(time.RFC3339))
	return nil
}

const backupHelp = `
Asks a running server (--server) for a backup of its embedded store, taken while it serves, and
writes it to --out: a tar file holding a manifest, the SQLite database (with every click the
server had acknowledged when the backup began) and SHA256SUMS. The backup is checked as it
arrives (every file against SHA256SUMS, and the tar's end); a backup that fails leaves no file
(with --out -, what was written before the failure has gone to stdout: check the exit status), and
one from a server that sends nothing for 5 minutes fails.
Restore it with "touchpoint restore --from FILE --data-dir DIR". A server on PostgreSQL
(serve --db) is backed up with pg_dump instead. See docs/backup.md.
`

// backupStall is how long the backup command waits for the server's next
// bytes before it gives up (the server drains its click journal before the
// first; a stall is a server or a network that has stopped).
var backupStall = 5 * time.Minute

// backupErr is err, or why ctx was cancelled when that is a stall.
func backupErr(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// progressReader calls progress after each read that returned bytes.
type progressReader struct {
	r        io.ReadCloser
	progress func()
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.progress()
	}
	return n, err
}

func (p *progressReader) Close() error { return p.r.Close() }

// outName names --out in messages.
func outName(out string) string {
	if out == "-" {
		return "stdout"
	}
	return out
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// countWriter counts what it writes.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// openBackup sends POST /api/v1/backup and returns the answer's body, the
// backup; an answer other than 2xx is an error carrying the server's
// message, as Client.send's are.
func (c *Client) openBackup(ctx context.Context) (io.ReadCloser, error) {
	// No time limit: a backup of a large store takes minutes (the server
	// ends one whose client stops reading).
	client := &http.Client{Transport: c.HTTP.Transport}
	resp, err := c.open(ctx, client, "POST", "/api/v1/backup", nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// runRestore is "touchpoint restore": it writes a backup (touchpoint
// backup) as the store of a data dir, for a server to start on, after
// checking it; or, with --check, only checks it.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("restore", stderr, "--from FILE --data-dir DIR [--force] | --from FILE --check")
	from := fs.String("from", "", `the backup file (touchpoint backup --out), or "-" for stdin`)
	dataDir := fs.String("data-dir", "", "the data dir to restore into (default: $TOUCHPOINT_DATA_DIR, else data); no server may be running on it")
	force := fs.Bool("force", false, "replace the store the data dir holds (its files are moved into a replaced-<time> directory in it, not deleted)")
	check := fs.Bool("check", false, "only check the backup (in a temporary directory, $TMPDIR): its checksums, SQLite's integrity check, and that this version can read it")
	flags := fs.Usage
	fs.Usage = func() {
		flags()
		fmt.Fprint(stderr, restoreHelp)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("restore: unexpected argument %q", fs.Arg(0))
	}
	if *from == "" {
		fs.Usage()
		return errors.New("restore: give --from FILE (a backup made by touchpoint backup), or --from - for stdin")
	}
	var r io.Reader = os.Stdin
	name := "stdin"
	if *from != "-" {
		f, err := os.Open(*from)
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		defer f.Close()
		r, name = f, *from
	}
	started := time.Now()
	if *check {
		if *dataDir != "" || *force {
			return errors.New("restore: --check writes nothing: give it no --data-dir or --force")
		}
		tmp, err := os.MkdirTemp("", "touchpoint-check-")
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		defer os.RemoveAll(tmp)
		m, err := sqlite.ReadBackup(r, tmp)
		if err == nil {
			err = sqlite.VerifyBackup(ctx, tmp, name)
		}
		if err != nil {
			return fmt.Errorf("restore: %s: %w", name, restoreError(err))
		}
		fmt.Fprintf(stdout, "%s is a good backup: %s\n", name, describeBackup(m))
		fmt.Fprintf(stderr, "checked in %s\n", time.Since(started).Round(time.Millisecond))
		return nil
	}
	// The default is where serve keeps its store.
	if *dataDir == "" {
		*dataDir = os.Getenv(EnvName("data-dir"))
	}
	if *dataDir == "" {
		*dataDir = DefaultServeConfig().DataDir
	}
	res, err := sqlite.Restore(ctx, r, *dataDir, name, *force, time.Now())
	if err != nil {
		return fmt.Errorf("restore: %w", restoreError(err))
	}
	if res.Replaced != "" {
		fmt.Fprintf(stderr, "moved the store that was in %s to %s: delete it once the restored server checks out\n", *dataDir, res.Replaced)
	}
	fmt.Fprintf(stdout, "restored %s into %s: %s\n", name, *dataDir, describeBackup(res.Manifest))
	fmt.Fprintf(stderr, "restored in %s; start the server with: touchpoint serve --data-dir %s\n", time.Since(started).Round(time.Millisecond), *dataDir)
	if _, err := os.Stat(filepath.Join(*dataDir, tokenFile)); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(stderr, "the backup holds no admin token: the server makes a new one on its first start (or give it --admin-token)")
	}
	return nil
}

const restoreHelp = `
Writes a backup made by "touchpoint backup" as the store of --data-dir, for "touchpoint serve
--data-dir DIR" to start on. First it checks the backup (every file against its SHA256SUMS, SQLite's
integrity check, and that this version knows every migration the database has: a backup from a
newer version is refused), then renames its files into place, the database last. It refuses a
data dir a running server holds, and one that holds a store already unless --force is given; then
that store's files are moved to a replaced-<time> directory in the data dir, not deleted.
--check only checks the backup, writing it to a temporary directory ($TMPDIR) that is removed after.
`

// describeBackup is a backup's manifest in a line.
func describeBackup(m *touchpoint.BackupManifest) string {
	s := fmt.Sprintf("taken %s, database of %s, touches through id %d, migration %s",
		m.CreatedAt.Format(time.RFC3339), megabytes(m.Bytes()), m.TouchesThrough, m.Migration)
	if len(m.Files) > 0 {
		s += ", with " + strings.Join(m.Files, ", ")
	}
	return s
}

// restoreError says what to do about a backup from a newer version.
func restoreError(err error) error {
	var newer *touchpoint.NewerDatabaseError
	if errors.As(err, &newer) {
		return fmt.Errorf("the backup %s was made by a newer version of touchpoint (its database has migration %s, which this version does not know): "+
			"restore it with that version or newer; nothing was changed", newer.Database, newer.Migration)
	}
	return err
}
