package touchpoint

import (
	"crypto/sha256"
	"crypto/subtle"
)

// KeyHash is the SHA-256 of a key this server verifies: an app's dev key
// and API token, a project's API key and secret key. Stores keep only the
// hash (and the key's last four characters, to tell keys apart): the key
// itself is shown once, when it is made.
//
// SHA-256, not bcrypt or argon2: those are slow on purpose, to make
// guessing a low-entropy password from its hash costly. Our keys are
// random, 128 bits or more, so guessing one from its hash is out of reach
// whatever the hash costs; a slow hash would only make every SDK call and
// upload pay tens of milliseconds of CPU, and, being salted, could not be
// looked up (an upload names its project by its API key alone).
type KeyHash [sha256.Size]byte

// HashKey returns the hash of key.
func HashKey(key string) KeyHash { return sha256.Sum256([]byte(key)) }

// Matches reports whether key is the key of h, comparing the hashes in
// constant time. A zero hash (no key) matches nothing.
func (h KeyHash) Matches(key string) bool {
	if h.IsZero() {
		return false
	}
	k := HashKey(key)
	return subtle.ConstantTimeCompare(h[:], k[:]) == 1
}

// IsZero reports whether h is no hash at all.
func (h KeyHash) IsZero() bool { return h == KeyHash{} }

// KeyLast4 returns the last four characters of a key, what is shown of a
// stored key so that one can tell which key a client holds (16 to 24 of
// 128 or more random bits: what remains is still out of reach).
func KeyLast4(key string) string {
	if len(key) <= 4 {
		return ""
	}
	return key[len(key)-4:]
}

// KeyKind names one key of an app (dev_key, api_token) or of a project
// (api_key, secret_key), as rotation asks for it.
type KeyKind string

// Kinds of key.
const (
	DevKey    KeyKind = "dev_key"    // an app's: the SDK API and the S2S events API
	APIToken  KeyKind = "api_token"  // an app's: the Audiences API
	APIKey    KeyKind = "api_key"    // a project's: ingestion
	SecretKey KeyKind = "secret_key" // a project's: Amplitude's Basic-auth APIs, with the API key
)

// Lengths of generated app keys: random letters and digits (RandomString),
// 131 and 238 bits.
const (
	DevKeyLength   = 22
	APITokenLength = 40
)

// NewKey gives the app a fresh key of this kind: the key itself in DevKey
// or APIToken, for the one answer that shows it, and what the store keeps,
// its hash and last four characters. EINVALID for a kind apps do not have.
func (a *App) NewKey(kind KeyKind) error {
	switch kind {
	case DevKey:
		k := RandomString(DevKeyLength)
		a.DevKey, a.DevKeyHash, a.DevKeyLast4 = k, HashKey(k), KeyLast4(k)
	case APIToken:
		k := RandomString(APITokenLength)
		a.APIToken, a.APITokenHash, a.APITokenLast4 = k, HashKey(k), KeyLast4(k)
	default:
		return Errorf(EINVALID, "key %q: an app's keys are dev_key and api_token", kind)
	}
	return nil
}

// NewKey gives the project a fresh key of this kind (NewAPIKey): the key
// itself in APIKey or SecretKey, for the one answer that shows it, and
// what the store keeps, its hash and last four characters. EINVALID for a
// kind projects do not have.
func (p *Project) NewKey(kind KeyKind) error {
	k := NewAPIKey()
	switch kind {
	case APIKey:
		p.APIKey, p.APIKeyHash, p.APIKeyLast4 = k, HashKey(k), KeyLast4(k)
	case SecretKey:
		p.SecretKey, p.SecretKeyHash, p.SecretKeyLast4 = k, HashKey(k), KeyLast4(k)
	default:
		return Errorf(EINVALID, "key %q: a project's keys are api_key and secret_key", kind)
	}
	return nil
}
