//go:build !unix

package sqlite

// ownLike does nothing where files have no Unix owners.
func ownLike(dir string, paths ...string) error { return nil }
