package mail

import (
	"strings"
	"testing"
	"time"
)

func TestCodeMessageEveryPurpose(t *testing.T) {
	t.Parallel()
	subjects := map[string]string{
		"register":    "Your verification code",
		"login":       "Your sign-in code",
		"password":    "Your password reset code",
		"admin_login": "Your admin sign-in code",
	}
	for purpose, subject := range subjects {
		t.Run(purpose, func(t *testing.T) {
			t.Parallel()
			const code = "042917"
			msg, err := CodeMessage(purpose, "ann@example.com", code, 10*time.Minute)
			if err != nil {
				t.Fatalf("CodeMessage: %v", err)
			}
			if msg.To != "ann@example.com" || msg.Subject != subject {
				t.Fatalf("to/subject = %q/%q, want ann@example.com/%q", msg.To, msg.Subject, subject)
			}

			alone := 0
			for _, line := range strings.Split(msg.Text, "\n") {
				switch {
				case line == code:
					alone++
				case strings.Contains(line, code):
					t.Errorf("code shares a line with other text: %q", line)
				}
			}
			if alone != 1 {
				t.Errorf("code stands alone on %d lines, want 1:\n%s", alone, msg.Text)
			}
			if got := ExtractCode(msg.Text); got != code {
				t.Errorf("ExtractCode = %q, want %q", got, code)
			}
			if !strings.Contains(msg.Text, "10 minutes") {
				t.Errorf("text does not show the lifetime:\n%s", msg.Text)
			}

			for _, want := range []string{"<html", code, "10 minutes", subject} {
				if !strings.Contains(msg.HTML, want) {
					t.Errorf("HTML part lacks %q", want)
				}
			}
		})
	}
}

func TestCodeMessageRejectsBadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, purpose, code string
		ttl                 time.Duration
	}{
		{"unknown purpose", "newsletter", "123456", time.Minute},
		{"empty purpose", "", "123456", time.Minute},
		{"short code", "login", "12345", time.Minute},
		{"long code", "login", "1234567", time.Minute},
		{"letters", "login", "12a456", time.Minute},
		{"newline", "login", "123\n456", time.Minute},
		{"zero ttl", "login", "123456", 0},
		{"negative ttl", "login", "123456", -time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := CodeMessage(tc.purpose, "ann@example.com", tc.code, tc.ttl); err == nil {
				t.Fatal("CodeMessage succeeded, want an error")
			}
		})
	}
}

func TestMinutes(t *testing.T) {
	t.Parallel()
	cases := map[time.Duration]string{
		10 * time.Minute:               "10 minutes",
		time.Minute:                    "1 minute",
		30 * time.Second:               "1 minute",
		90 * time.Second:               "1 minute",
		2*time.Minute + 59*time.Second: "2 minutes",
		time.Hour:                      "60 minutes",
	}
	for ttl, want := range cases {
		if got := minutes(ttl); got != want {
			t.Errorf("minutes(%s) = %q, want %q", ttl, got, want)
		}
	}
}

func TestExtractCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, text, want string
	}{
		{"alone", "Hello\n\n123456\n\nBye", "123456"},
		{"crlf", "Hello\r\n\r\n654321\r\nBye\r\n", "654321"},
		{"padded", "Hello\n   000111  \n", "000111"},
		{"last line without newline", "Your code:\n987654", "987654"},
		{"first of two", "111111\n222222\n", "111111"},
		{"inline only", "Your code is 123456 today", ""},
		{"too short", "12345\n", ""},
		{"too long", "1234567\n", ""},
		{"not digits", "12345a\n", ""},
		{"empty", "", ""},
	}
	for _, tc := range cases {
		if got := ExtractCode(tc.text); got != tc.want {
			t.Errorf("%s: ExtractCode = %q, want %q", tc.name, got, tc.want)
		}
	}
}
