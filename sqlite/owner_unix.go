//go:build unix

package sqlite

import (
	"os"
	"syscall"
)

// ownLike gives paths the owner and group of dir when this process runs as
// root and dir is another user's: a restore run as root into the data dir
// of a server that runs as its own user (a systemd DynamicUser, a
// container's) writes files that user can open. Otherwise it does
// nothing.
func ownLike(dir string, paths ...string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 && st.Gid == 0 {
		return nil
	}
	for _, p := range paths {
		if err := os.Lchown(p, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return nil
}
