// Package parse holds the few text parsers every part of the server must
// agree on: the one normalisation of an email, and what a one-time code
// looks like, alone or in a mail. It depends on nothing of the server, so
// it is fuzzed on its own.
package parse

import "strings"

// CodeLength is the number of decimal digits of a one-time code.
const CodeLength = 6

// Email is the one normalisation of an email: trimmed and lower-cased, so
// " Ann@Example.COM " and "ann@example.com" are the same account.
func Email(s string) string { return strings.TrimSpace(strings.ToLower(strings.TrimSpace(s))) }

// IsCode reports whether s is a code: exactly CodeLength ASCII digits.
func IsCode(s string) bool {
	if len(s) != CodeLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CodeInText returns the first code that stands alone on a line of a
// plain-text body, or "" when there is none. Surrounding spaces and a CR are
// tolerated because transports may re-wrap lines.
func CodeInText(text string) string {
	for line := range strings.Lines(text) {
		if s := strings.TrimSpace(line); IsCode(s) {
			return s
		}
	}
	return ""
}
