package analytics

import "unicode/utf8"

// InvalidAPIKey is the answer to an upload whose api_key belongs to no
// project: 400 "Invalid API key: <key>", as Amplitude writes it. The
// official SDKs recognise a bad key by this text and drop the events
// instead of sending them again: the Go and Python SDKs by the prefix
// "Invalid API key:" (colon included; on anything else the Go SDK resends
// at once, without end), the TypeScript SDKs by the prefix "Invalid API
// key", Kotlin by the words "invalid api key" in any case. A missing or
// empty api_key is answered as a missing field instead (missing_field
// "api_key"), which the Go, Python and TypeScript SDKs drop as well; the
// Kotlin, Swift, Go, Python and TypeScript SDKs refuse to send without a
// key in the first place.
//
// The key is echoed cut to MaxEchoedKey characters: project keys are 32
// characters, and an answer need not repeat a megabyte of garbage.
func InvalidAPIKey(key string) *Rejection {
	if utf8.RuneCountInString(key) > MaxEchoedKey {
		key = truncate(key, MaxEchoedKey) + "…"
	}
	return &Rejection{Code: 400, Error: ErrInvalidAPIKey + ": " + key}
}

// MaxEchoedKey bounds the key InvalidAPIKey repeats.
const MaxEchoedKey = 64
