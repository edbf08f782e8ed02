package touchpoint

import (
	"strconv"
	"time"
)

// Times that clients send (an event's time, a launch's, a Play referrer's
// click and install timestamps, a test clock) are believed only inside a
// sane range. Device clocks are wrong surprisingly often: a phone whose
// clock was reset says 1970, and a bad one says the year 30000, which
// nothing downstream can handle (JSON and RFC 3339 stop at year 9999).
//
//   - Before EarliestTime (2000-01-01 UTC) is refused: no app measured here
//     existed then, so the time is a broken clock, and guessing a time
//     would misplace the data silently.
//   - After LatestTime (the end of year 9999) is refused outright.
//   - In between, each input decides what "in the future" means; events
//     ahead of the server's clock by more than MaxClockSkew are taken at the
//     time they were received (ClampFuture), as Amplitude takes an event
//     that has no time.
var (
	EarliestTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	LatestTime   = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)
)

// MaxClockSkew is how far ahead of the server's clock an event's time may
// be and still be believed (a device clock running a little fast, or a
// server's running a little slow).
const MaxClockSkew = time.Hour

// CheckTime returns an EINVALID error naming field when t is outside
// [EarliestTime, LatestTime]. The zero time (none sent) passes.
func CheckTime(field string, t time.Time) error {
	switch {
	case t.IsZero():
		return nil
	case t.Before(EarliestTime):
		return Errorf(EINVALID, "%s %s is before %s: the sending device's clock is wrong", field, formatTime(t), EarliestTime.Format(time.DateOnly))
	case t.After(LatestTime):
		return Errorf(EINVALID, "%s is after the year 9999: the sending device's clock is wrong", field)
	}
	return nil
}

// CheckMillis is CheckTime for Unix milliseconds.
func CheckMillis(field string, ms int64) error {
	if ms < EarliestTime.UnixMilli() || ms > LatestTime.UnixMilli() {
		return CheckTime(field, time.UnixMilli(ms))
	}
	return nil
}

// ClampFuture returns t, or received when t is more than MaxClockSkew after
// received.
func ClampFuture(t, received time.Time) time.Time {
	if t.After(received.Add(MaxClockSkew)) {
		return received
	}
	return t
}

// formatTime writes t as RFC 3339 when it can be, else as Unix seconds.
func formatTime(t time.Time) string {
	if y := t.Year(); y < 0 || y > 9999 {
		return strconv.FormatInt(t.Unix(), 10) + " (Unix seconds)"
	}
	return t.UTC().Format(time.RFC3339)
}

// StoredTime reads a time a store kept as Unix milliseconds. One past
// the year 9999 (stored before client times were checked, see CheckTime)
// reads as the end of 9999: no answer that holds it could be written as
// JSON otherwise.
func StoredTime(ms int64) time.Time {
	return time.UnixMilli(min(ms, LatestTime.UnixMilli())).UTC()
}
