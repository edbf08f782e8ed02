package touchpoint

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error codes. Every error a client can cause carries one of these; the HTTP
// layer maps them to status codes in one table (StatusOf).
const (
	EINVALID      = "invalid"      // the request is malformed or a value is out of range
	ENOTFOUND     = "not_found"    // the named thing does not exist
	ECONFLICT     = "conflict"     // the thing exists already, or the change clashes with state
	EUNAUTHORIZED = "unauthorized" // missing or wrong credentials
	ETOOMANY      = "too_many"     // a quota was reached (for example active signing secrets)
	EUNAVAILABLE  = "unavailable"  // the store cannot write now (its disk is full, it is closing): retry later
	EINTERNAL     = "internal"     // a bug
)

// Error is an error a client can understand and act on: a code and a message
// that says what to fix.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("touchpoint: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err when it is (or wraps) an *Error, and
// EINTERNAL for any other non-nil error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err when it is (or wraps) an *Error,
// and a generic message otherwise, so internal details never reach clients.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// statusOf maps error codes to HTTP status codes.
var statusOf = map[string]int{
	EINVALID:      400,
	ENOTFOUND:     404,
	ECONFLICT:     409,
	EUNAUTHORIZED: 401,
	ETOOMANY:      429,
	EUNAVAILABLE:  503,
	EINTERNAL:     500,
}

// StatusOf returns the HTTP status of an error code: what the API and the
// dashboard answer an error with. An unknown code is a 500.
func StatusOf(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return 500
}

// MaxNameLength bounds the name of an app, a project, a cohort or a
// destination, in characters.
const MaxNameLength = 200

// CheckName checks the name of something configured (an app, a project, a
// cohort, a destination): present, at most MaxNameLength characters of
// valid UTF-8, and no control characters (a name is one line; and
// PostgreSQL's text holds no NUL).
func CheckName(field, name string) error {
	switch {
	case name == "" || utf8.RuneCountInString(name) > MaxNameLength:
		return Errorf(EINVALID, "%s is required, up to %d characters", field, MaxNameLength)
	case !utf8.ValidString(name):
		return Errorf(EINVALID, "%s is not valid UTF-8", field)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return Errorf(EINVALID, "%s has a control character (a line break, a tab, NUL…): a name is one line of text", field)
	}
	return nil
}
