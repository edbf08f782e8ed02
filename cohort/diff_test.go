package cohort_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/cohort"
)

// TestMembershipDiff: who entered and who left, lowest first.
func TestMembershipDiff(t *testing.T) {
	now := setOf(1, 200, 2, 3, 150, 199)
	entered, left := cohort.MembershipDiff([]int64{120, 3, 1, 199}, now)
	if !slices.Equal(entered, []int64{2, 150}) || !slices.Equal(left, []int64{1, 120}) {
		t.Errorf("entered %v left %v, want [2 150] and [1 120]", entered, left)
	}
	entered, left = cohort.MembershipDiff(nil, setOf(1, 0))
	if entered == nil || left == nil || len(entered)+len(left) != 0 {
		t.Errorf("nothing to nothing: entered %#v left %#v, want empty lists", entered, left)
	}
}

func devs(s string) []touchpoint.SyncDevice {
	var out []touchpoint.SyncDevice
	for _, f := range strings.Fields(s) {
		var d touchpoint.SyncDevice
		u, id, _ := strings.Cut(f, ":")
		fmt.Sscan(u, &d.User)
		d.ID = id
		out = append(out, d)
	}
	return out
}

func devList(ds []touchpoint.SyncDevice) string {
	var l []string
	for _, d := range ds {
		l = append(l, fmt.Sprintf("%d:%s", d.User, d.ID))
	}
	return strings.Join(l, " ")
}

// TestSyncDiff: members the audience lacks are added, what it holds for
// no member (left, or an identifier changed) removed, members with no
// identifier skipped; in any input order.
func TestSyncDiff(t *testing.T) {
	for _, c := range []struct {
		name, members, sent, add, remove string
		skipped                          int64
	}{
		{"first run", "1:a 2: 3:c", "", "1:a 3:c", "", 1},
		{"nothing new", "1:a 3:c", "1:a 3:c", "", "", 0},
		{"a member left", "3:c", "1:a 3:c", "", "1:a", 0},
		{"an identifier changed", "1:b 3:c", "1:a 3:c", "1:b", "1:a", 0},
		{"an identifier lost", "1: 3:c", "1:a 3:c", "", "1:a", 1},
		{"left after the last member", "1:a", "1:a 5:e 6:f", "", "5:e 6:f", 0},
		{"two held, one current", "2:y", "2:x 2:y 2:z", "", "2:x 2:z", 0},
		{"unsorted", "3:c 1:a", "4:d 1:a", "3:c", "4:d", 0},
	} {
		d := cohort.SyncDiff(devs(c.members), devs(c.sent))
		if devList(d.Add) != c.add || devList(d.Remove) != c.remove || d.Skipped != c.skipped {
			t.Errorf("%s: add [%s] remove [%s] skipped %d, want [%s] [%s] %d", c.name,
				devList(d.Add), devList(d.Remove), d.Skipped, c.add, c.remove, c.skipped)
		}
	}
}
