package httpapi

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// backupStall is how long a backup waits for its client to take more of
// it: a client that stops reading ends the backup (which holds a read
// snapshot, and so the WAL, until it ends).
const backupStall = time.Minute

// backups runs one backup at a time, and ends the one under way when the
// server shuts down, rather than keep the shutdown waiting on it.
type backups struct {
	mu      sync.Mutex
	running bool
	abort   func() // ends the backup under way
	once    sync.Once
}

func (s *Server) registerBackupRoutes(mux *http.ServeMux) {
	b := &backups{}
	s.handleAdmin(mux, "POST /api/v1/backup", func(w http.ResponseWriter, r *http.Request) { s.handleBackup(w, r, b) })
}

// POST /api/v1/backup: a backup of the embedded store, taken while it
// serves, streamed as a tar file (package sqlite says what is in it).
// Everything acknowledged before the request came is in it. PostgreSQL is
// backed up with its own tools.
func (s *Server) handleBackup(w http.ResponseWriter, r *http.Request, b *backups) {
	store, ok := s.Store.(touchpoint.BackupStore)
	if !ok {
		writeError(w, r, touchpoint.Errorf(touchpoint.EINVALID,
			"this server keeps its data in PostgreSQL (serve --db), which POST /api/v1/backup does not back up: "+
				"back the database up with pg_dump (pg_dump --format=custom), or with PostgreSQL's continuous archiving "+
				"for point-in-time recovery; see docs/backup.md"))
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	rc := http.NewResponseController(w)
	b.mu.Lock()
	if b.running {
		b.mu.Unlock()
		writeError(w, r, touchpoint.Errorf(touchpoint.ECONFLICT, "a backup is being taken already: wait for it to finish, then retry"))
		return
	}
	// Ending it: no more pages are read, and a write waiting on a slow
	// client fails at once.
	b.running, b.abort = true, func() {
		cancel()
		rc.SetWriteDeadline(time.Now())
	}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.running, b.abort = false, nil
		b.mu.Unlock()
	}()
	if s.http != nil {
		b.once.Do(func() {
			s.http.RegisterOnShutdown(func() {
				b.mu.Lock()
				if b.abort != nil {
					b.abort()
				}
				b.mu.Unlock()
			})
		})
	}

	// The server's write timeout is for answers of a few kilobytes; a
	// backup of gigabytes takes minutes. Each of its writes gets a
	// deadline instead: it must go through within backupStall. The body
	// is sent from a buffer: an error before its first megabyte is still
	// answered as an error.
	out := &backupWriter{w: w, rc: rc, ctx: ctx}
	sent := &headerFirst{w: out, header: func() {
		w.Header().Set("Content-Type", "application/x-tar")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Disposition", `attachment; filename="touchpoint-backup-`+s.Store.Now().UTC().Format("20060102T150405Z")+`.tar"`)
		w.WriteHeader(http.StatusOK)
	}}
	bw := bufio.NewWriterSize(sent, 1<<20)
	started := time.Now()
	m, err := store.Backup(ctx, bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		if !sent.done {
			// Nothing was sent: the error is the answer (a full disk is
			// EUNAVAILABLE, 503).
			if ctx.Err() != nil && touchpoint.ErrorCode(err) == touchpoint.EINTERNAL {
				err = touchpoint.Errorf(touchpoint.EUNAVAILABLE, "the backup was stopped: the server is shutting down, or the client went away")
			}
			writeError(w, r, err)
			return
		}
		// Part of it went out: the client must not take it for a whole
		// backup. Aborting the connection leaves it without the tar's
		// end (and a chunked answer without its last chunk).
		if ctx.Err() != nil {
			s.Logger.Warn("backup ended part way: the server is shutting down, or the client went away", "sent_bytes", out.n)
		} else {
			s.Logger.Error("backup failed part way", "err", err, "sent_bytes", out.n)
		}
		panic(http.ErrAbortHandler)
	}
	took := time.Since(started)
	s.Logger.Info("backup taken", "bytes", out.n, "pages", m.Pages, "touches_through", m.TouchesThrough,
		"took", took.Round(time.Millisecond), "mb_per_s", int64(float64(out.n)/1e6/max(took.Seconds(), 1e-3)))
}

// headerFirst writes the answer's header just before the first byte of
// the body: until then, an error can still be answered as an error.
type headerFirst struct {
	w      io.Writer
	header func()
	done   bool
}

func (h *headerFirst) Write(p []byte) (int, error) {
	if !h.done {
		h.done = true
		h.header()
	}
	return h.w.Write(p)
}

// backupWriter writes to the answer, each write within backupStall,
// until ctx ends.
type backupWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	ctx context.Context
	n   int64
}

func (b *backupWriter) Write(p []byte) (int, error) {
	// Not every ResponseWriter has deadlines (httptest's recorder): then
	// the server's own timeout stands.
	if err := b.rc.SetWriteDeadline(time.Now().Add(backupStall)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return 0, err
	}
	// After the deadline is set: an abort from now on moves it back.
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := b.w.Write(p)
	b.n += int64(n)
	return n, err
}
