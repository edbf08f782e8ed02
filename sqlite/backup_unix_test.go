//go:build unix

package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint/internal/testenv"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
)

// A restore run as root into the data dir of a server that runs as
// another user (a systemd DynamicUser, a container's) leaves files that
// user owns, so the server can open them.
func TestRestoreAsRootKeepsTheDataDirsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skip(t, "restoring as root into another user's data dir needs root (as CI runs)")
	}
	ctx := context.Background()
	db := MustOpen(t, filepath.Join(t.TempDir(), "touchpoint.db"), func() time.Time { return storetest.Start })
	var buf bytes.Buffer
	if _, err := db.Backup(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	os.Mkdir(dir, 0o700)
	const uid, gid = 65532, 65532
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Restore(ctx, &buf, dir, "backup.tar", false, storetest.Start); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"touchpoint.db", "touchpoint.db.lock"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st := info.Sys().(*syscall.Stat_t); st.Uid != uid || st.Gid != gid || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: owner %d:%d, mode %v; want %d:%d, 0600", name, st.Uid, st.Gid, info.Mode().Perm(), uid, gid)
		}
	}
}
