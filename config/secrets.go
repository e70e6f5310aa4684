package config

import "strings"

// knownSecret reports whether s is a JWT_SECRET value that has been
// published with this project (examples, compose defaults, documentation).
// A deployment that copied one of them signs tokens anyone can forge.
// TestEveryJWTSecretInTheRepositoryIsRefused fails when a file of the
// repository holds a value that production would still accept, so this list
// cannot fall behind the files.
func knownSecret(s string) bool {
	switch strings.TrimSpace(s) {
	case
		// The compose default before it became required; it lives on in
		// copies of old compose files.
		"change-me-change-me-change-me-change-me-change-me-0123456789",
		// .env.example's placeholder, for a .env copied and not filled in.
		"replace-with-the-output-of-openssl-rand-base64-48":
		return true
	}
	return false
}

// distinctBytes counts the different byte values in s: a long key made of
// few symbols (32 times "a") is long without being hard to guess.
func distinctBytes(s string) int {
	var seen [256]bool
	n := 0
	for i := 0; i < len(s); i++ {
		if !seen[s[i]] {
			seen[s[i]] = true
			n++
		}
	}
	return n
}
