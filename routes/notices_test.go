package routes_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acme/accounts/internal/testenv"
)

func wantNotices(t *testing.T, e *testenv.Env, email string, want ...string) {
	t.Helper()
	got := notices(t, e, email)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("notices to %s:\n got %q\nwant %q", email, got, want)
	}
}

func TestNoticePasswordChanged(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("pw")
	tok := e.RegisterUser(email)
	r := e.DoWithHeaders(http.MethodPut, "/api/v1/users/me/password", map[string]any{"current_password": testenv.Password, "new_password": "a new long password"}, tok,
		map[string]string{"User-Agent": "NoticeTest/1.0"})
	mustStatus(t, r, http.StatusOK, "")
	wantNotices(t, e, email, "Accounts: your password was changed")
	last := e.Mails(email)[len(e.Mails(email))-1]
	if !strings.Contains(last.Text, "NoticeTest/1.0") {
		t.Fatalf("notice lacks the client:\n%s", last.Text)
	}
}

func TestNoticePasswordResetInAccountLanguage(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("reset")
	tok := e.RegisterUser(email)
	mustStatus(t, e.Do(http.MethodPatch, "/api/v1/users/me", map[string]any{"locale": "ru"}, tok), http.StatusOK, "")
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/password/forgot", map[string]any{"email": email}, ""), http.StatusOK, "")
	code := e.Code(email)
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/password/verify", map[string]any{"email": email, "code": code}, ""), http.StatusOK, "")
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/password/reset", map[string]any{"email": email, "code": code, "password": "a new long password"}, ""), http.StatusOK, "")
	wantNotices(t, e, email, "Accounts: пароль сброшен")
}

func TestNoticeDeactivated(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{PurgeAfter: 30 * day})
	email := e.Email("bye")
	tok := e.RegisterUser(email)
	mustStatus(t, e.Do(http.MethodDelete, "/api/v1/users/me", nil, tok), http.StatusOK, "")
	wantNotices(t, e, email, "Accounts: your account was deactivated")
	msgs := e.Mails(email)
	until := e.Clock.Now().Add(30 * day).UTC().Format("2006-01-02")
	if text := msgs[len(msgs)-1].Text; !strings.Contains(text, until) {
		t.Fatalf("deactivation notice does not say until when (%s):\n%s", until, text)
	}
	// An inactive account gets nothing more: not on a forgotten password,
	// not when its code budget runs out.
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/password/forgot", map[string]any{"email": email}, ""), http.StatusOK, "")
	e.App.NotifyBudgetExhausted(context.Background(), email, time.Hour)
	wantNotices(t, e, email, "Accounts: your account was deactivated")
}

func TestNoticeAdminDeactivationHidesTheAdmin(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("off")
	e.RegisterUser(email)
	_, admin := e.NewAdmin()
	id := userID(t, e, email)
	r := e.DoWithHeaders(http.MethodPatch, "/api/v1/admin/users/"+id.String(), map[string]any{"active": false}, admin, map[string]string{"User-Agent": "AdminBrowser/9"})
	mustStatus(t, r, http.StatusOK, "")
	// Setting the same state again sends nothing more.
	mustStatus(t, e.Do(http.MethodPatch, "/api/v1/admin/users/"+id.String(), map[string]any{"active": false}, admin), http.StatusOK, "")
	wantNotices(t, e, email, "Accounts: your account was deactivated")
	msgs := e.Mails(email)
	if text := msgs[len(msgs)-1].Text; strings.Contains(text, "AdminBrowser") || !strings.Contains(text, "administrator") {
		t.Fatalf("admin deactivation notice:\n%s", text)
	}
}

// A sign-in from a client not seen in 30 days gets one notice; the same
// client again gets none, and neither does the first sign-in after sign-up.
func TestNoticeNewSignIn(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("where")
	e.RegisterUser(email)
	e.Login(email, testenv.Password)
	wantNotices(t, e, email)

	signIn := func(ua string) {
		t.Helper()
		h := map[string]string{"User-Agent": ua}
		mustStatus(t, e.DoWithHeaders(http.MethodPost, "/api/v1/auth/login", creds(email), "", h), http.StatusOK, "")
		code := e.Code(email)
		mustStatus(t, e.DoWithHeaders(http.MethodPost, "/api/v1/auth/login/verify", map[string]any{"email": email, "code": code}, "", h), http.StatusOK, "")
	}
	signIn("Phone/2.0")
	wantNotices(t, e, email, "Accounts: new sign-in to your account")
	signIn("Phone/2.0")
	wantNotices(t, e, email, "Accounts: new sign-in to your account")
	e.Clock.Advance(31 * day)
	signIn("Phone/2.0")
	wantNotices(t, e, email, "Accounts: new sign-in to your account", "Accounts: new sign-in to your account")
	msgs := e.Mails(email)
	if text := msgs[len(msgs)-1].Text; !strings.Contains(text, "Phone/2.0") {
		t.Fatalf("notice lacks the client:\n%s", text)
	}
}

func TestNoticeBudgetExhaustedOnceToActive(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("locked")
	e.RegisterUser(email)
	e.App.NotifyBudgetExhausted(context.Background(), email, 15*time.Minute)
	wantNotices(t, e, email, "Accounts: too many wrong codes")
	e.App.NotifyBudgetExhausted(context.Background(), e.Email("nobody"), time.Minute) // no account: nothing, no error
	msgs := e.Mails(email)
	if text := msgs[len(msgs)-1].Text; !strings.Contains(text, "in 15 minutes") {
		t.Fatalf("budget notice:\n%s", text)
	}
}

// An erased account gets nothing: the erasure itself sends no mail.
func TestNoNoticeToErased(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("erased")
	e.RegisterUser(email)
	_, admin := e.NewAdmin()
	mustStatus(t, e.Do(http.MethodDelete, "/api/v1/admin/users/"+userID(t, e, email).String(), nil, admin), http.StatusOK, "")
	e.App.NotifyBudgetExhausted(context.Background(), email, time.Minute)
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/password/forgot", map[string]any{"email": email}, ""), http.StatusOK, "")
	wantNotices(t, e, email)
}
