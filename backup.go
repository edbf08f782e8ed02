package touchpoint

import (
	"context"
	"io"
	"time"
)

// BackupStore is a store that backs itself up while it serves: the
// embedded one (package sqlite says what a backup holds). PostgreSQL is
// backed up with its own tools.
type BackupStore interface {
	// Backup writes a backup to w holding everything acknowledged before
	// it was called, and returns its manifest. An error after something
	// was written leaves w with a backup cut short, not to be kept.
	Backup(ctx context.Context, w io.Writer) (*BackupManifest, error)
}

// BackupManifest describes a backup: the manifest file that begins it.
type BackupManifest struct {
	Format int `json:"format"`
	// CreatedAt is when the snapshot was taken (the store's clock).
	CreatedAt time.Time `json:"created_at"`
	// Migration is the newest schema migration the database has: a
	// version of touchpoint that does not know it cannot restore it.
	Migration string `json:"migration"`
	// TouchesThrough is the id of the last touch (click or impression)
	// recorded when the backup began: it and every touch before it are in
	// the database.
	TouchesThrough int64 `json:"touches_through"`
	// PageSize and Pages are the database's: its size is their product.
	PageSize int64 `json:"page_size"`
	Pages    int64 `json:"pages"`
	// Files are the other files of the data dir it carries (those of
	// sqlite.BackupFiles there when it was taken).
	Files []string `json:"files"`
}

// Bytes is the size of the database in the backup.
func (m *BackupManifest) Bytes() int64 { return m.PageSize * m.Pages }
