package touchpoint

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// LookupKey names one way a touch can be found again: by a device id, an IP,
// the network's click id or its referrer. It is a 64-bit FNV-1a hash of the
// app, the kind of key and the normalised value, so stores can index every
// kind of key in one compact index. Hashes can collide: callers compare the
// touches they get back with what they looked for.
type LookupKey int64

// Kinds of lookup key.
const (
	keyDevice  = 'd'
	keyIP      = 'i'
	keyClickID = 'c'
	keyRef     = 'r'
)

func lookupKey(app string, kind byte, value string) LookupKey {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(app); i++ {
		h = (h ^ uint64(app[i])) * prime
	}
	h = (h ^ 0) * prime
	h = (h ^ uint64(kind)) * prime
	for i := 0; i < len(value); i++ {
		h = (h ^ uint64(value[i])) * prime
	}
	return LookupKey(h)
}

// IPKey is the key of touches from an IP address (written in its canonical form).
func IPKey(app, ip string) LookupKey { return lookupKey(app, keyIP, ip) }

// ClickIDKey is the key of touches with the network's click id.
func ClickIDKey(app, clickID string) LookupKey { return lookupKey(app, keyClickID, clickID) }

// RefKey is the key of touches with a partner referrer (af_ref).
func RefKey(app, ref string) LookupKey { return lookupKey(app, keyRef, ref) }

// hashedDeviceKey is the key of a device id given as lower-case hex of its
// sha1 or md5.
func hashedDeviceKey(app, hexHash string) LookupKey {
	return lookupKey(app, keyDevice, hexHash)
}

func sha1Hex(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// rawDeviceKey is hashedDeviceKey(app, sha1Hex(lower(raw))), without
// allocating for the usual lower-case ids.
func rawDeviceKey(app, raw string) LookupKey {
	var lower [128]byte
	b := lower[:0]
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	sum := sha1.Sum(b)
	var hx [40]byte
	hex.Encode(hx[:], sum[:])
	return lookupKey(app, keyDevice, string(hx[:]))
}

func md5Hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// Keys returns the lookup keys of a touch. A device id sent raw is indexed
// under the sha1 of its lower-case form; one sent only hashed, under each
// hash as sent (lower-cased hex).
func (t *Touch) Keys() []LookupKey {
	keys := make([]LookupKey, 0, 4)
	for _, id := range t.Device {
		switch {
		case id.Raw != "":
			keys = append(keys, rawDeviceKey(t.App, id.Raw))
		default:
			if id.SHA1 != "" {
				keys = append(keys, hashedDeviceKey(t.App, strings.ToLower(id.SHA1)))
			}
			if id.MD5 != "" {
				keys = append(keys, hashedDeviceKey(t.App, strings.ToLower(id.MD5)))
			}
		}
	}
	if t.IP != "" {
		keys = append(keys, IPKey(t.App, t.IP))
	}
	if t.Params.ClickID != "" {
		keys = append(keys, ClickIDKey(t.App, t.Params.ClickID))
	}
	if t.Params.Ref != "" {
		keys = append(keys, RefKey(t.App, t.Params.Ref))
	}
	return keys
}

// DeviceKeys returns every key under which a touch carrying the device id
// value may be indexed: the value may be raw (in any letter case; the
// network may have hashed it upper- or lower-case) or already a sha1 or md5
// hex.
func DeviceKeys(app, value string) []LookupKey {
	v := strings.TrimSpace(value)
	if v == "" {
		return nil
	}
	var hashes []string
	if IsHex(v) && (len(v) == 40 || len(v) == 32) {
		hashes = append(hashes, strings.ToLower(v))
	}
	for _, form := range []string{strings.ToLower(v), strings.ToUpper(v), v} {
		hashes = append(hashes, sha1Hex(form), md5Hex(form))
	}
	keys := make([]LookupKey, 0, len(hashes))
	seen := make(map[string]bool, len(hashes))
	for _, h := range hashes {
		if !seen[h] {
			seen[h] = true
			keys = append(keys, hashedDeviceKey(app, h))
		}
	}
	return keys
}

// HasDeviceID reports whether any device id of the touch is value, raw or
// in a hashed form (compared as DeviceKeys describes).
func (t *Touch) HasDeviceID(value string) bool {
	m := NewIDMatcher(value)
	return m.Matches(t)
}

// IDMatcher finds a device id in touches: it holds the value's hashes,
// computed once, for matching many touches.
type IDMatcher struct {
	value  string
	hashes map[string]bool // lower-case hex sha1 and md5 of the value's forms
	isHash bool            // the value is itself a sha1 or md5 hex
}

// NewIDMatcher returns a matcher of value.
func NewIDMatcher(value string) IDMatcher {
	v := strings.TrimSpace(value)
	m := IDMatcher{value: v, hashes: make(map[string]bool, 6)}
	if v == "" {
		return m
	}
	for _, form := range []string{strings.ToLower(v), strings.ToUpper(v), v} {
		m.hashes[sha1Hex(form)] = true
		m.hashes[md5Hex(form)] = true
	}
	m.isHash = IsHex(v) && (len(v) == 40 || len(v) == 32)
	return m
}

// Matches reports whether any device id of the touch is the matcher's
// value, raw or hashed.
func (m *IDMatcher) Matches(t *Touch) bool {
	if m.value == "" {
		return false
	}
	for _, id := range t.Device {
		if id.IsZero() {
			continue
		}
		if id.Raw != "" {
			if strings.EqualFold(id.Raw, m.value) {
				return true
			}
			// The value may be a hash of this raw id.
			if m.isHash {
				v := strings.ToLower(m.value)
				for _, form := range []string{id.Raw, strings.ToLower(id.Raw)} {
					if sha1Hex(form) == v || md5Hex(form) == v {
						return true
					}
				}
			}
		}
		for _, h := range []string{id.SHA1, id.MD5} {
			if h == "" {
				continue
			}
			h = strings.ToLower(h)
			if m.hashes[h] || m.isHash && h == strings.ToLower(m.value) {
				return true
			}
		}
	}
	return false
}

// IsHex reports whether s is a non-empty string of hex digits.
func IsHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// keyIdentity is the kind of key devices are found by (not touches).
const keyIdentity = 'u'

// IdentityKey is the key a device is found by from one of its ids: the id
// type and the lower-cased raw id.
func IdentityKey(app string, typ DeviceIDType, raw string) LookupKey {
	var b [160]byte
	v := append(b[:0], DeviceIDParams[typ]...)
	v = append(v, '=')
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		v = append(v, c)
	}
	return lookupKey(app, keyIdentity, string(v))
}

// keyCustomer is the kind of key devices are found by from their
// customer user id.
const keyCustomer = 'm'

// CustomerUserKey is the key a device is found by from the customer user
// id the app set on it (compared case-sensitively, as the app set it).
func CustomerUserKey(app, customerUserID string) LookupKey {
	return lookupKey(app, keyCustomer, customerUserID)
}

// IdentityKeys returns the keys of a device's ids (IdentityIDTypes).
func IdentityKeys(app string, ids DeviceIDs) []LookupKey {
	var keys []LookupKey
	for _, typ := range IdentityIDTypes {
		if raw := ids[typ].Raw; raw != "" {
			keys = append(keys, IdentityKey(app, typ, raw))
		}
	}
	return keys
}

// SameDevice reports whether two sets of raw ids share one of the
// IdentityIDTypes (case-insensitively).
func SameDevice(a, b DeviceIDs) bool {
	for _, typ := range IdentityIDTypes {
		if a[typ].Raw != "" && strings.EqualFold(a[typ].Raw, b[typ].Raw) {
			return true
		}
	}
	return false
}
