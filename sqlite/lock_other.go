//go:build !unix

package sqlite

import "os"

// lockFile opens path; where flock is missing, nothing stops a second
// process from opening the store.
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
}
