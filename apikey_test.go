package touchpoint_test

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
)

func TestKeyHash(t *testing.T) {
	const key = "Dk7QmZ2xWb9PLr4sTa1Vh3"
	h := touchpoint.HashKey(key)
	// The hash is SHA-256 of the key's bytes (a published vector checks
	// the function itself: SHA-256 of "abc").
	if got := touchpoint.HashKey("abc"); hex.EncodeToString(got[:]) != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashKey(abc) = %x", got)
	}
	if !h.Matches(key) {
		t.Fatal("a key does not match its hash")
	}
	for _, other := range []string{"", key[:21], key + " ", strings.ToLower(key), "Dk7QmZ2xWb9PLr4sTa1Vh4"} {
		if h.Matches(other) {
			t.Errorf("%q matches the hash of %q", other, key)
		}
	}
	var zero touchpoint.KeyHash
	if !zero.IsZero() || h.IsZero() || zero.Matches("") || zero.Matches(key) {
		t.Fatal("a zero hash (no key) must match nothing")
	}
	if got := touchpoint.KeyLast4(key); got != "1Vh3" {
		t.Fatalf("KeyLast4 = %q, want 1Vh3", got)
	}
	if got := touchpoint.KeyLast4("abcd"); got != "" {
		t.Fatalf("KeyLast4 of a 4-character key = %q: it would show it all", got)
	}
}

func TestNewKey(t *testing.T) {
	var a touchpoint.App
	if err := a.NewKey(touchpoint.DevKey); err != nil {
		t.Fatal(err)
	}
	if err := a.NewKey(touchpoint.APIToken); err != nil {
		t.Fatal(err)
	}
	if len(a.DevKey) != touchpoint.DevKeyLength || len(a.APIToken) != touchpoint.APITokenLength ||
		a.DevKeyHash != sha256.Sum256([]byte(a.DevKey)) || a.APITokenHash != sha256.Sum256([]byte(a.APIToken)) ||
		a.DevKeyLast4 != a.DevKey[18:] || a.APITokenLast4 != a.APIToken[36:] {
		t.Fatalf("app keys %+v", a)
	}
	// The hashes never leave in JSON; the keys only when set.
	b, _ := json.Marshal(a)
	if s := string(b); strings.Contains(s, "hash") || !strings.Contains(s, `"dev_key":"`+a.DevKey+`"`) {
		t.Fatalf("app JSON %s", s)
	}
	a.DevKey, a.APIToken = "", ""
	b, _ = json.Marshal(a)
	if s := string(b); strings.Contains(s, `"dev_key":`) || strings.Contains(s, `"api_token":`) || !strings.Contains(s, `"dev_key_last4":"`+a.DevKeyLast4+`"`) {
		t.Fatalf("app JSON without keys %s", s)
	}
	before := a
	for _, k := range []touchpoint.KeyKind{"", touchpoint.APIKey, touchpoint.SecretKey, "Dev_Key"} {
		if err := a.NewKey(k); touchpoint.ErrorCode(err) != touchpoint.EINVALID {
			t.Errorf("App.NewKey(%q) = %v, want invalid", k, err)
		}
	}
	if a.DevKeyHash != before.DevKeyHash || a.APITokenHash != before.APITokenHash {
		t.Fatal("a refused NewKey changed the app's keys")
	}

	var p touchpoint.Project
	if err := p.NewKey(touchpoint.APIKey); err != nil {
		t.Fatal(err)
	}
	if err := p.NewKey(touchpoint.SecretKey); err != nil {
		t.Fatal(err)
	}
	if len(p.APIKey) != 32 || p.APIKey == p.SecretKey || !p.APIKeyHash.Matches(p.APIKey) || !p.SecretKeyHash.Matches(p.SecretKey) ||
		p.APIKeyLast4 != p.APIKey[28:] || p.SecretKeyLast4 != p.SecretKey[28:] {
		t.Fatalf("project keys %+v", p)
	}
	for _, k := range []touchpoint.KeyKind{"", touchpoint.DevKey, touchpoint.APIToken} {
		if err := p.NewKey(k); touchpoint.ErrorCode(err) != touchpoint.EINVALID {
			t.Errorf("Project.NewKey(%q) = %v, want invalid", k, err)
		}
	}
}

// BenchmarkDevKeyMatches is what the SDK and S2S APIs pay per request to
// check a dev key: one SHA-256 of the presented key and a constant-time
// compare with the stored hash.
func BenchmarkDevKeyMatches(b *testing.B) {
	var a touchpoint.App
	a.NewKey(touchpoint.DevKey)
	key := a.DevKey
	b.ReportAllocs()
	for b.Loop() {
		if !a.DevKeyHash.Matches(key) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkDevKeyPlaintextCompare is what the check cost when the key was
// kept in plaintext: a constant-time compare of the keys.
func BenchmarkDevKeyPlaintextCompare(b *testing.B) {
	var a touchpoint.App
	a.NewKey(touchpoint.DevKey)
	stored, key := []byte(a.DevKey), a.DevKey
	b.ReportAllocs()
	for b.Loop() {
		if subtle.ConstantTimeCompare([]byte(key), stored) != 1 {
			b.Fatal("no match")
		}
	}
}
