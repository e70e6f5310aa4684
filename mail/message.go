package mail

import "strings"

// Message is one mail with a plain-text part and an optional HTML alternative.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// codeLength is the number of digits of a one-time code.
const codeLength = 6

// ExtractCode returns the first 6-digit code that stands alone on a line of a
// plain-text body, or "" when there is none. Surrounding spaces and a CR are
// tolerated because transports may re-wrap lines.
func ExtractCode(text string) string {
	for line := range strings.Lines(text) {
		if s := strings.TrimSpace(line); isCode(s) {
			return s
		}
	}
	return ""
}

func isCode(s string) bool {
	if len(s) != codeLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
