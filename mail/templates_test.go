package mail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acme/accounts/i18n"
	"github.com/acme/accounts/models"
)

func testTemplates(t testing.TB) *Templates {
	t.Helper()
	cat, err := i18n.New("en")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := NewTemplates(cat, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func newTemplates(t *testing.T, appName, dir string) (*Templates, error) {
	t.Helper()
	cat, err := i18n.New("en")
	if err != nil {
		t.Fatal(err)
	}
	return NewTemplates(cat, appName, dir)
}

// leftovers are signs of a template or message that did not fill in.
var leftovers = []string{"<no value>", "{{", "}}", "mail.code.", "mail.notice.", "mail.footer", "mail.greeting", "time.for_", "time.in_"}

func checkFilled(t *testing.T, where, s string) {
	t.Helper()
	for _, bad := range leftovers {
		if strings.Contains(s, bad) {
			t.Errorf("%s contains %q:\n%s", where, bad, s)
		}
	}
}

// Every code mail, in every language: the product name in the subject and
// both parts, the code alone on one line of the text part, the lifetime in
// the language's own words.
func TestCodeMailsEveryPurposeEveryLanguage(t *testing.T) {
	t.Parallel()
	tpl, err := newTemplates(t, "Kassa Pro", "")
	if err != nil {
		t.Fatal(err)
	}
	expiry := map[string]string{"en": "10 minutes", "ru": "10 минут", "uz": "10 daqiqa"}
	for _, loc := range i18n.Locales() {
		for _, purpose := range models.CodePurposes() {
			const code = "042917"
			msg, err := tpl.Code(loc, purpose, "ann@example.com", code, 10*time.Minute)
			if err != nil {
				t.Fatalf("%s/%s: %v", loc, purpose, err)
			}
			where := loc + "/" + purpose
			if msg.To != "ann@example.com" || !strings.Contains(msg.Subject, "Kassa Pro") {
				t.Errorf("%s: to/subject = %q/%q", where, msg.To, msg.Subject)
			}
			alone := 0
			for _, line := range strings.Split(msg.Text, "\n") {
				switch {
				case line == code:
					alone++
				case strings.Contains(line, code):
					t.Errorf("%s: code shares a line with other text: %q", where, line)
				}
			}
			if alone != 1 {
				t.Errorf("%s: code alone on %d lines, want 1:\n%s", where, alone, msg.Text)
			}
			if got := ExtractCode(msg.Text); got != code {
				t.Errorf("%s: ExtractCode = %q", where, got)
			}
			for part, body := range map[string]string{"text": msg.Text, "html": msg.HTML} {
				for _, want := range []string{"Kassa Pro", code, expiry[loc]} {
					if !strings.Contains(body, want) {
						t.Errorf("%s %s part lacks %q:\n%s", where, part, want, body)
					}
				}
				checkFilled(t, where+" "+part, body)
			}
			if !strings.Contains(msg.HTML, `<html lang="`+loc+`">`) {
				t.Errorf("%s: HTML part does not declare its language", where)
			}
			checkFilled(t, where+" subject", msg.Subject)
		}
	}
}

// The three languages differ: a message that came out English in Russian or
// Uzbek is a missing translation.
func TestCodeMailsAreTranslated(t *testing.T) {
	t.Parallel()
	tpl := testTemplates(t)
	for _, purpose := range models.CodePurposes() {
		seen := map[string]string{}
		for _, loc := range i18n.Locales() {
			msg, err := tpl.Code(loc, purpose, "a@example.com", "123456", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if other, dup := seen[msg.Subject]; dup {
				t.Errorf("%s: %s and %s share the subject %q", purpose, loc, other, msg.Subject)
			}
			seen[msg.Subject] = loc
		}
	}
	ru, _ := tpl.Code("ru", "login", "a@example.com", "123456", time.Minute)
	if !strings.Contains(ru.Text, "Код действует 1 минуту.") || ru.Subject != "Accounts: код для входа" {
		t.Errorf("Russian sign-in mail:\n%s\n%s", ru.Subject, ru.Text)
	}
	uz, _ := tpl.Code("uz", "register", "a@example.com", "123456", 5*time.Minute)
	if !strings.Contains(uz.Text, "Kod 5 daqiqa davomida amal qiladi.") {
		t.Errorf("Uzbek sign-up mail:\n%s", uz.Text)
	}
	// An unsupported locale falls back to the default.
	xx, _ := tpl.Code("de", "login", "a@example.com", "123456", time.Minute)
	if !strings.HasPrefix(xx.Subject, "Accounts: your sign-in code") {
		t.Errorf("fallback subject %q", xx.Subject)
	}
}

func TestNoticeMailsEveryKindEveryLanguage(t *testing.T) {
	t.Parallel()
	tpl, err := newTemplates(t, "Kassa Pro", "")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 29, 21, 5, 0, 0, time.UTC)
	variants := []Notice{
		{Kind: NoticePasswordChanged, At: at, IP: "203.0.113.9", Client: "Firefox 140 on Linux"},
		{Kind: NoticePasswordReset, At: at, IP: "203.0.113.9", Client: "Firefox 140 on Linux"},
		{Kind: NoticeDeactivated, At: at, IP: "203.0.113.9", Client: "Firefox 140 on Linux", RestoreUntil: at.Add(30 * 24 * time.Hour)},
		{Kind: NoticeDeactivated, At: at, IP: "203.0.113.9", Client: "Firefox 140 on Linux"},
		{Kind: NoticeDeactivated, At: at, ByAdmin: true},
		{Kind: NoticeNewSignIn, At: at, IP: "203.0.113.9", Client: "Firefox 140 on Linux"},
		{Kind: NoticeBudgetExhausted, At: at, IP: "203.0.113.9", Client: "Firefox 140 on Linux", Wait: 5 * time.Minute},
	}
	wait := map[string]string{"en": "in 5 minutes", "ru": "через 5 минут", "uz": "5 daqiqadan soʻng"}
	for _, loc := range i18n.Locales() {
		for i, n := range variants {
			n.To = "ann@example.com"
			msg, err := tpl.Notice(loc, n)
			if err != nil {
				t.Fatalf("%s/%s: %v", loc, n.Kind, err)
			}
			where := loc + "/" + n.Kind
			if !strings.Contains(msg.Subject, "Kassa Pro") || msg.To != n.To {
				t.Errorf("%s: to/subject %q/%q", where, msg.To, msg.Subject)
			}
			for part, body := range map[string]string{"text": msg.Text, "html": msg.HTML} {
				wants := []string{"Kassa Pro", "2026-11-29 21:05 UTC"}
				if n.IP != "" {
					wants = append(wants, n.IP, n.Client)
				}
				if !n.RestoreUntil.IsZero() {
					wants = append(wants, "2026-12-29")
				}
				if n.Kind == NoticeBudgetExhausted {
					wants = append(wants, wait[loc])
				}
				for _, want := range wants {
					if !strings.Contains(body, want) {
						t.Errorf("%s (variant %d) %s part lacks %q:\n%s", where, i, part, want, body)
					}
				}
				checkFilled(t, where+" "+part, body)
			}
			// A notice never carries a code: nothing a reader (or a
			// script) could take for one.
			if c := ExtractCode(msg.Text); c != "" {
				t.Errorf("%s: notice text has a code-like line %q", where, c)
			}
			if strings.Contains(msg.HTML, "href=") {
				t.Errorf("%s: notice has a link", where)
			}
		}
	}
}

func TestNoticeClientCannotReshapeTheMail(t *testing.T) {
	t.Parallel()
	tpl := testTemplates(t)
	msg, err := tpl.Notice("en", Notice{Kind: NoticeNewSignIn, To: "a@example.com", Client: "evil\n\n123456\n<b>x</b>" + strings.Repeat("y", 500)})
	if err != nil {
		t.Fatal(err)
	}
	if ExtractCode(msg.Text) != "" || strings.Contains(msg.HTML, "<b>x") || strings.Contains(msg.Text, strings.Repeat("y", 300)) {
		t.Fatalf("client string reshaped the mail:\n%s\n%s", msg.Text, msg.HTML)
	}
}

func TestRejectsBadInput(t *testing.T) {
	t.Parallel()
	tpl := testTemplates(t)
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
		if _, err := tpl.Code("en", tc.purpose, "ann@example.com", tc.code, tc.ttl); err == nil {
			t.Errorf("%s: Code succeeded, want an error", tc.name)
		}
	}
	if _, err := tpl.Notice("en", Notice{Kind: "newsletter"}); err == nil {
		t.Error("unknown notice kind accepted")
	}
}

func TestOverrideFromDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(CodeText, "{{.AppName}} ({{.Lang}}/{{.Purpose}})\n\n{{.Code}}\n\n{{.ExpiryLine}}\n")
	write("README.md", "not a template")
	tpl, err := newTemplates(t, "Kassa", dir)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := tpl.Code("uz", "login", "a@example.com", "123456", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg.Text, "Kassa (uz/login)\n\n123456\n") {
		t.Errorf("override not used:\n%s", msg.Text)
	}
	if !strings.Contains(msg.HTML, "<html") {
		t.Error("the HTML part should stay the embedded one")
	}
}

func TestBrokenOverrideNamesTheFile(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		NoticeHTML: "<p>{{.Body}</p>",            // does not parse
		CodeText:   "{{.Code}} {{.NoSuchField}}", // parses, cannot render
	}
	for name, body := range cases {
		dir := t.TempDir()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := newTemplates(t, "", dir)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v does not name %s", name, err, p)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "cdoe.txt.tmpl")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := newTemplates(t, "", dir); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("misnamed override: %v", err)
	}
	if _, err := newTemplates(t, "", filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing folder was accepted")
	}
}
