package touchpoint

import (
	"encoding/json"
	"strconv"
	"time"
)

// Window is a length of time such as a lookback window. It is written the way
// AppsFlyer links write it: a whole number of hours ("24h") or days ("7d").
// Minutes and other units are not accepted; months are written in days
// (24 months = "730d").
type Window time.Duration

// Common windows.
const (
	Hour Window = Window(time.Hour)
	Day  Window = 24 * Hour
)

// ParseWindow parses "24h" or "7d". Anything else is an error naming the
// accepted forms.
func ParseWindow(s string) (Window, error) {
	if len(s) < 2 {
		return 0, Errorf(EINVALID, "window %q: want a whole number of hours or days, like 24h or 7d", s)
	}
	unit := s[len(s)-1]
	n, err := strconv.ParseUint(s[:len(s)-1], 10, 32)
	if err != nil || n == 0 || s[0] == '+' {
		return 0, Errorf(EINVALID, "window %q: want a whole number of hours or days, like 24h or 7d", s)
	}
	switch unit {
	case 'h', 'H':
		if n <= maxWindowHours {
			return Window(n) * Hour, nil
		}
	case 'd', 'D':
		if n <= maxWindowHours/24 {
			return Window(n) * Day, nil
		}
	}
	if unit == 'h' || unit == 'H' || unit == 'd' || unit == 'D' {
		return 0, Errorf(EINVALID, "window %q is longer than any window can be (%d days): want a whole number of hours or days, like 24h or 7d", s, maxWindowHours/24)
	}
	return 0, Errorf(EINVALID, "window %q: want a whole number of hours or days, like 24h or 7d", s)
}

// maxWindowHours bounds every window that is parsed (about 11 years, far
// beyond the longest range, 24 months), so that no value can overflow.
const maxWindowHours = 100_000

// Duration returns w as a time.Duration.
func (w Window) Duration() time.Duration { return time.Duration(w) }

// String formats w as days when it is a whole number of days, else as hours.
func (w Window) String() string {
	if w%Day == 0 && w != 0 {
		return strconv.FormatInt(int64(w/Day), 10) + "d"
	}
	return strconv.FormatInt(int64(w/Hour), 10) + "h"
}

// Within checks that w lies in [min, max] and returns an EINVALID error that
// names the field and the range otherwise.
func (w Window) Within(field string, min, max Window) error {
	if w < min || w > max {
		return Errorf(EINVALID, "%s %s is out of range: it must be between %s and %s", field, w, min, max)
	}
	if w%Hour != 0 {
		return Errorf(EINVALID, "%s must be a whole number of hours", field)
	}
	return nil
}

// MarshalJSON writes w as its string form.
func (w Window) MarshalJSON() ([]byte, error) { return json.Marshal(w.String()) }

// UnmarshalJSON reads "7d", "24h", or a number of hours.
func (w *Window) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var hours uint32
		if err := json.Unmarshal(b, &hours); err != nil || hours > maxWindowHours {
			return Errorf(EINVALID, "window %s: want a string like \"24h\" or \"7d\"", b)
		}
		*w = Window(hours) * Hour
		return nil
	}
	v, err := ParseWindow(s)
	if err != nil {
		return err
	}
	*w = v
	return nil
}

// Hours is the window in whole hours, as stores keep it.
func (w Window) Hours() int64 { return int64(w / Hour) }

// HoursWindow is a window of h hours.
func HoursWindow(h int64) Window { return Window(h) * Hour }
