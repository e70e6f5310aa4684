package parse

import (
	"strings"
	"testing"
	"unicode"
)

func TestEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		" Ann@Example.COM ": "ann@example.com",
		"\tbob@x.uz\n":      "bob@x.uz",
		"":                  "",
	} {
		if got := Email(in); got != want {
			t.Errorf("Email(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCodeInText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Your code:\n\n123456\n\nIt expires in 10 minutes.": "123456",
		"  654321 \r\n":         "654321",
		"1234567\n12345\n":      "",
		"code 123456 inline":    "",
		"١٢٣٤٥٦\n":              "",
		"first\n000000\n111111": "000000",
	} {
		if got := CodeInText(in); got != want {
			t.Errorf("CodeInText(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzEmail: normalising twice changes nothing, and a normalised email has
// no surrounding space and nothing left to lower-case, so two spellings of
// one address can never become two accounts.
func FuzzEmail(f *testing.F) {
	for _, s := range []string{" Ann@Example.COM ", "İ@example.com", "ǅ@x.uz", "a\u00a0@b.c ", "", "ẞ@x.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Email(s)
		if Email(e) != e {
			t.Fatalf("Email(%q) = %q, but Email(%q) = %q", s, e, e, Email(e))
		}
		if strings.TrimSpace(e) != e || strings.ToLower(e) != e {
			t.Fatalf("Email(%q) = %q is not normalised", s, e)
		}
		if strings.TrimFunc(e, unicode.IsSpace) != e {
			t.Fatalf("Email(%q) = %q keeps a space", s, e)
		}
	})
}

// FuzzCodeInText: the code read from a mail is either nothing or six ASCII
// digits standing alone on one of the text's lines.
func FuzzCodeInText(f *testing.F) {
	for _, s := range []string{"Your code:\n\n123456\n", "123456", "  654321 \r\n", "1234567\n", "١٢٣٤٥٦\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		code := CodeInText(text)
		if code == "" {
			return
		}
		if !IsCode(code) {
			t.Fatalf("extracted %q, not six digits", code)
		}
		for line := range strings.Lines(text) {
			if strings.TrimSpace(line) == code {
				return
			}
		}
		t.Fatalf("%q is on no line of its own in %q", code, text)
	})
}
