package mail

import "github.com/acme/accounts/internal/parse"

// Message is one mail with a plain-text part and an optional HTML alternative.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// ExtractCode returns the first 6-digit code that stands alone on a line of a
// plain-text body, or "" when there is none (parse.CodeInText).
func ExtractCode(text string) string { return parse.CodeInText(text) }
