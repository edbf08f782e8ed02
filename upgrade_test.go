package touchpoint_test

import (
	"errors"
	"testing"

	"github.com/touchpointhq/touchpoint"
)

func TestCheckMigrations(t *testing.T) {
	known := []string{"2026-01-01-01-a", "2026-01-02-02-b", "2026-01-03-03-c"}
	for _, tc := range []struct {
		name    string
		applied []string
		want    string // the migration named, "" for no error
	}{
		{"fresh", nil, ""},
		{"older", known[:1], ""},
		{"same", known, ""},
		{"newer", append(known[:3:3], "2027-01-10-01-foo"), "2027-01-10-01-foo"},
		{"several newer, the newest named", []string{"2027-03-01-02-z", known[0], "2027-01-10-01-foo"}, "2027-03-01-02-z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := touchpoint.CheckMigrations("data/touchpoint.db", tc.applied, known)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			var newer *touchpoint.NewerDatabaseError
			if !errors.As(err, &newer) || newer.Migration != tc.want || newer.Database != "data/touchpoint.db" {
				t.Fatalf("err = %#v, want a NewerDatabaseError naming %s", err, tc.want)
			}
			want := "the database at data/touchpoint.db was written by a newer version of touchpoint (it has migration " + tc.want +
				", which this version does not know); run that version or newer"
			if err.Error() != want {
				t.Errorf("err = %q\nwant %q", err, want)
			}
		})
	}
}
