package routes_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acme/accounts/internal/testenv"
)

func errMessage(t *testing.T, r *testenv.Response) string {
	t.Helper()
	var out struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	r.Decode(t, &out)
	return out.Error.Message
}

// Error messages follow Accept-Language (quality values included); the
// code never changes.
func TestErrorMessagesFollowAcceptLanguage(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	body := map[string]any{"email": e.Email("nobody"), "password": "wrong password"}
	cases := []struct{ header, want string }{
		{"", "Wrong email or password."},
		{"ru-RU,ru;q=0.9", "Неверный адрес электронной почты или пароль."},
		{"uz", "Elektron pochta yoki parol notoʻgʻri."},
		{"de-DE, fr;q=0.8", "Wrong email or password."},
		{"en;q=0.5, ru;q=0.9", "Неверный адрес электронной почты или пароль."},
		{"ru;q=0.1, uz;q=0.7, en;q=0.3", "Elektron pochta yoki parol notoʻgʻri."},
		{"ru;q=0, en", "Wrong email or password."},
	}
	for _, tc := range cases {
		r := e.DoWithHeaders(http.MethodPost, "/api/v1/auth/login", body, "", map[string]string{"Accept-Language": tc.header})
		if r.Status != http.StatusBadRequest || r.ErrorCode() != "invalid_credentials" {
			t.Fatalf("%q: %d %s", tc.header, r.Status, r.Body)
		}
		if got := errMessage(t, r); got != tc.want {
			t.Errorf("Accept-Language %q: message %q, want %q", tc.header, got, tc.want)
		}
	}
}

func TestDefaultLocaleWhenNothingMatches(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{DefaultLocale: "uz"})
	r := e.DoWithHeaders(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "x@example.com", "password": "wrong password"}, "", map[string]string{"Accept-Language": "fr"})
	if got := errMessage(t, r); got != "Elektron pochta yoki parol notoʻgʻri." {
		t.Fatalf("message %q, want the Uzbek default", got)
	}
}

// The account's own locale wins over the request's language, for answers
// and for mails.
func TestAccountLocaleWins(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("ann")
	tok := e.RegisterUser(email)

	r := e.Do(http.MethodPatch, "/api/v1/users/me", map[string]any{"locale": "uz"}, tok)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"locale":"uz"`) {
		t.Fatalf("set locale: %d %s", r.Status, r.Body)
	}
	r = e.DoWithHeaders(http.MethodGet, "/api/v1/products/01936b31-77aa-7bcd-8e9f-0a1b2c3d4e5f", nil, tok, map[string]string{"Accept-Language": "ru"})
	if r.Status != http.StatusNotFound || r.ErrorCode() != "not_found" || errMessage(t, r) != "Topilmadi." {
		t.Fatalf("not found in uz: %d %s", r.Status, r.Body)
	}
	me := e.Do(http.MethodGet, "/api/v1/users/me", nil, tok)
	if !strings.Contains(string(me.Body), `"locale":"uz"`) {
		t.Fatalf("GET /users/me lacks the locale: %s", me.Body)
	}

	// A mail to the account is in its locale whatever the request says.
	r = e.DoWithHeaders(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": email, "password": testenv.Password}, "", map[string]string{"Accept-Language": "ru"})
	// The answer is for the person at this browser; the mail for the account.
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "Мы отправили код для входа") {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	msg := e.LastMail(email)
	if msg.Subject != "Accounts: kirish kodi" || !strings.Contains(msg.Text, "Kod 10 daqiqa davomida amal qiladi.") {
		t.Fatalf("sign-in mail not in Uzbek:\n%s\n%s", msg.Subject, msg.Text)
	}

	// null goes back to following the request.
	r = e.Do(http.MethodPatch, "/api/v1/users/me", map[string]any{"locale": nil}, tok)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"locale":null`) {
		t.Fatalf("clear locale: %d %s", r.Status, r.Body)
	}
	e.DoWithHeaders(http.MethodPost, "/api/v1/auth/password/forgot", map[string]any{"email": email}, "", map[string]string{"Accept-Language": "ru"})
	msg = e.LastMail(email)
	if msg.Subject != "Accounts: код для сброса пароля" {
		t.Fatalf("reset mail not in Russian: %q", msg.Subject)
	}
}

func TestLocaleValidation(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	tok := e.RegisterUser(e.Email("ann"))
	for _, bad := range []any{"de", "", "EN", "uz-Cyrl", 5} {
		r := e.Do(http.MethodPatch, "/api/v1/users/me", map[string]any{"locale": bad, "first_name": "Changed"}, tok)
		if r.Status != http.StatusBadRequest || r.ErrorCode() != "validation_failed" || !strings.Contains(string(r.Body), `"locale"`) {
			t.Fatalf("locale %v: %d %s", bad, r.Status, r.Body)
		}
	}
	me := e.Do(http.MethodGet, "/api/v1/users/me", nil, tok)
	if strings.Contains(string(me.Body), "Changed") || !strings.Contains(string(me.Body), `"locale":null`) {
		t.Fatalf("a refused update changed the profile: %s", me.Body)
	}
	for _, good := range []string{"ru", "en", "uz"} {
		r := e.Do(http.MethodPatch, "/api/v1/users/me", map[string]any{"locale": good}, tok)
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"locale":"`+good+`"`) {
			t.Fatalf("locale %s: %d %s", good, r.Status, r.Body)
		}
	}
}

// Sign-up mails follow the request (there is no account yet), with the
// product name, and a cooldown answer counts down in Russian plurals.
func TestSignUpMailAndCooldownInRussian(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{Cooldown: 5 * time.Minute, AppName: "Kassa"})
	email := e.Email("ivan")
	body := map[string]any{"first_name": "Иван", "last_name": "Петров", "email": email, "password": testenv.Password}
	ru := map[string]string{"Accept-Language": "ru"}
	r := e.DoWithHeaders(http.MethodPost, "/api/v1/auth/register", body, "", ru)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "Мы отправили код подтверждения") {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	msg := e.LastMail(email)
	if msg.Subject != "Kassa: код подтверждения" || !strings.Contains(msg.Text, "Код действует 10 минут.") || !strings.Contains(msg.HTML, "Kassa") {
		t.Fatalf("sign-up mail:\n%s\n%s", msg.Subject, msg.Text)
	}
	r = e.DoWithHeaders(http.MethodPost, "/api/v1/auth/register", body, "", ru)
	if r.Status != http.StatusTooManyRequests || r.ErrorCode() != "rate_limited" {
		t.Fatalf("second register: %d %s", r.Status, r.Body)
	}
	if got := errMessage(t, r); got != "Слишком много запросов. Повторите попытку через 5 минут." {
		t.Fatalf("cooldown message %q", got)
	}
}
