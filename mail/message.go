package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
)

// Message is one mail with a plain-text part and an optional HTML alternative.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// codeLength is the number of digits of a one-time code.
const codeLength = 6

//go:embed templates/code.txt.tmpl templates/code.html.tmpl
var templateFS embed.FS

// codeCopy is the wording that differs between the code purposes.
type codeCopy struct {
	Subject string
	Heading string
	Intro   string
	Ignore  string
}

// copyFor returns the wording of a purpose; a switch rather than a map keeps
// the package free of mutable globals.
func copyFor(purpose string) (codeCopy, bool) {
	const ignore = "If you did not ask for this code, you can ignore this email."
	switch purpose {
	case "register":
		return codeCopy{
			Subject: "Your verification code",
			Heading: "Verify your email address",
			Intro:   "Enter this code to confirm your email address and finish creating your account:",
			Ignore:  ignore + " No account will be created.",
		}, true
	case "login":
		return codeCopy{
			Subject: "Your sign-in code",
			Heading: "Finish signing in",
			Intro:   "Enter this code to finish signing in to your account:",
			Ignore:  ignore + " Someone may have typed your password: consider changing it.",
		}, true
	case "password":
		return codeCopy{
			Subject: "Your password reset code",
			Heading: "Reset your password",
			Intro:   "Enter this code to choose a new password for your account:",
			Ignore:  ignore + " Your password stays unchanged.",
		}, true
	case "admin_login":
		return codeCopy{
			Subject: "Your admin sign-in code",
			Heading: "Finish signing in as an administrator",
			Intro:   "Enter this code to finish signing in to the admin area:",
			Ignore:  ignore + " Someone may have typed your admin password: change it now.",
		}, true
	default:
		return codeCopy{}, false
	}
}

// codeData is what the code templates render.
type codeData struct {
	codeCopy
	Code   string
	Expiry string
}

// CodeMessage renders the mail that carries a one-time code for purpose
// ("register", "login", "password" or "admin_login"). In the plain-text part the
// code stands alone on its own line, so people and tests can pick it out; ttl is
// shown in whole minutes.
func CodeMessage(purpose, to, code string, ttl time.Duration) (Message, error) {
	cc, ok := copyFor(purpose)
	if !ok {
		return Message{}, fmt.Errorf("mail: unknown code purpose %q", purpose)
	}
	// Anything but the bare digits could break the "alone on its line" promise.
	if !isCode(code) {
		return Message{}, fmt.Errorf("mail: a code must be %d decimal digits", codeLength)
	}
	if ttl <= 0 {
		return Message{}, fmt.Errorf("mail: code lifetime must be positive, got %s", ttl)
	}
	data := codeData{codeCopy: cc, Code: code, Expiry: minutes(ttl)}

	// Parsing per call keeps the package free of globals; code mails are rare
	// and rate limited, so the few microseconds do not matter.
	txt, err := texttemplate.ParseFS(templateFS, "templates/code.txt.tmpl")
	if err != nil {
		return Message{}, fmt.Errorf("mail: parse text template: %w", err)
	}
	html, err := htmltemplate.ParseFS(templateFS, "templates/code.html.tmpl")
	if err != nil {
		return Message{}, fmt.Errorf("mail: parse HTML template: %w", err)
	}
	var tb, hb bytes.Buffer
	if err := txt.Execute(&tb, data); err != nil {
		return Message{}, fmt.Errorf("mail: render text part: %w", err)
	}
	if err := html.Execute(&hb, data); err != nil {
		return Message{}, fmt.Errorf("mail: render HTML part: %w", err)
	}
	return Message{To: to, Subject: cc.Subject, Text: tb.String(), HTML: hb.String()}, nil
}

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

// minutes renders ttl as whole minutes, rounded down so the mail never promises
// more time than the code has (at least "1 minute").
func minutes(ttl time.Duration) string {
	n := int64(ttl / time.Minute)
	if n <= 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", n)
}
