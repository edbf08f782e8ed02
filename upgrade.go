package touchpoint

import "fmt"

// NewerDatabaseError is what a store's Open returns on a database written
// by a newer version of touchpoint: one that has applied a migration this
// version does not know. Such a schema may have changed in ways this
// version would misread or overwrite, so the store refuses it before
// changing anything. (Not an *Error: no client causes it, the operator
// does, and serve prints it as it is.)
type NewerDatabaseError struct {
	Database  string // the file, or the URL without its password
	Migration string // the newest migration this version does not know
}

// Error implements the error interface.
func (e *NewerDatabaseError) Error() string {
	return fmt.Sprintf("the database at %s was written by a newer version of touchpoint "+
		"(it has migration %s, which this version does not know); run that version or newer", e.Database, e.Migration)
}

// CheckMigrations returns a *NewerDatabaseError when applied (the
// migrations the database has) names one that known (those this version
// embeds) does not, and nil otherwise. It names the greatest such name:
// migrations are named to sort in the order they are applied, so a
// version that knows it knows the others too.
func CheckMigrations(database string, applied, known []string) error {
	have := make(map[string]bool, len(known))
	for _, name := range known {
		have[name] = true
	}
	newest := ""
	for _, name := range applied {
		if !have[name] && name > newest {
			newest = name
		}
	}
	if newest == "" {
		return nil
	}
	return &NewerDatabaseError{Database: database, Migration: newest}
}
