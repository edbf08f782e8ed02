package touchpoint

import "crypto/rand"

const alphanumeric = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// RandomString returns n random letters and digits from crypto/rand, for
// dev keys, secrets and ids (n=22 holds 130 bits).
func RandomString(n int) string {
	b := make([]byte, n)
	buf := make([]byte, n+n/2+8)
	i := 0
	for i < n {
		if _, err := rand.Read(buf); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		for _, c := range buf {
			// 248 = 4 × 62: reject the top values so every character is
			// equally likely.
			if c < 248 && i < n {
				b[i] = alphanumeric[c%62]
				i++
			}
		}
	}
	return string(b)
}
