package routes_test

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

func adminCreds(password string) func(e *testenv.Env) any {
	return func(e *testenv.Env) any {
		return map[string]any{"email": e.Vars()[varAdminEmail], "password": password}
	}
}

func setupAdminOnly(t *testing.T, e *testenv.Env) {
	addr := e.Email("admin")
	e.CreateAdmin(addr)
	e.Vars()[varAdminEmail] = addr
}

func TestAdminLoginScenarios(t *testing.T) {
	testenv.Run(t, []testenv.Scenario{
		{
			Name: "right password mails an admin_login code; verify gives an admin token", Method: "POST", Path: pathAdminLogin,
			Setup: setupAdminOnly, Body: adminCreds(testenv.AdminPassword),
			Status: 200, Has: []string{`"expires_in":600`, `"message"`},
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				addr := e.Vars()[varAdminEmail]
				if got := r.JSON(t)["email"]; got != addr {
					t.Fatalf("email %v, want %s", got, addr)
				}
				msg := e.LastMail(addr)
				if !strings.Contains(msg.Subject, "admin") {
					t.Errorf("subject %q is not the admin sign-in mail", msg.Subject)
				}
				v := e.Do("POST", pathAdminLoginVerify, map[string]any{"email": addr, "code": extractCode(t, msg.Text)}, "")
				if v.Status != 200 {
					t.Fatalf("verify: %d %s", v.Status, v.Body)
				}
				body := v.JSON(t)
				if body["token_type"] != "Bearer" || body["token"] == "" || body["user"] != nil {
					t.Fatalf("token body: %s", v.Body)
				}
				admin, _ := body["admin"].(map[string]any)
				if admin["email"] != addr || admin["name"] != "Test Admin" {
					t.Fatalf("admin in token body: %s", v.Body)
				}
				if strings.Contains(string(v.Body), "password") {
					t.Fatalf("token body mentions a password: %s", v.Body)
				}
				if l := e.Do("GET", pathAdminUsers, nil, body["token"].(string)); l.Status != 200 {
					t.Fatalf("the new token on /admin/users: %d %s", l.Status, l.Body)
				}
			},
		},
		{
			Name: "email is trimmed and lower-cased", Method: "POST", Path: pathAdminLogin, Setup: setupAdminOnly,
			Body: func(e *testenv.Env) any {
				return map[string]any{"email": "  " + strings.ToUpper(e.Vars()[varAdminEmail]) + " ", "password": testenv.AdminPassword}
			},
			Status: 200,
		},
		{
			Name: "wrong password", Method: "POST", Path: pathAdminLogin, Setup: setupAdminOnly,
			Body: adminCreds("wrong password"), Status: 400, Code: "invalid_credentials",
		},
		{
			Name: "unknown email answers exactly like a wrong password", Method: "POST", Path: pathAdminLogin,
			Body: func(e *testenv.Env) any {
				return map[string]any{"email": e.Email("nobody"), "password": testenv.AdminPassword}
			},
			Status: 400, Code: "invalid_credentials",
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				setupAdminOnly(t, e)
				w := e.Do("POST", pathAdminLogin, adminCreds("wrong password")(e), "")
				if !bytes.Equal(w.Body, r.Body) {
					t.Fatalf("answers differ:\n%s\n%s", r.Body, w.Body)
				}
			},
		},
		{
			Name: "a user's credentials do not open the admin login", Method: "POST", Path: pathAdminLogin,
			Setup: func(t *testing.T, e *testenv.Env) {
				e.Vars()[varAdminEmail] = e.Email("member")
				e.RegisterUser(e.Vars()[varAdminEmail])
			},
			Body: adminCreds(testenv.Password), Status: 400, Code: "invalid_credentials",
		},
		{
			Name: "an admin's credentials do not open the user login", Method: "POST", Path: pathLogin,
			Setup: setupAdminOnly, Body: adminCreds(testenv.AdminPassword), Status: 400, Code: "invalid_credentials",
		},
		{
			Name: "deactivated admin with the right password", Method: "POST", Path: pathAdminLogin,
			Setup: withInactiveAdmin, Body: adminCreds(testenv.AdminPassword), Status: 403, Code: "account_inactive",
		},
		{
			Name: "deactivated admin with a wrong password stays invalid_credentials", Method: "POST", Path: pathAdminLogin,
			Setup: withInactiveAdmin, Body: adminCreds("wrong password"), Status: 400, Code: "invalid_credentials",
		},
		{
			Name: "missing password", Method: "POST", Path: pathAdminLogin,
			Body:   func(e *testenv.Env) any { return map[string]any{"email": e.Email("x")} },
			Status: 400, Code: "validation_failed", Has: []string{`"password"`},
		},
		{
			Name: "not JSON", Method: "POST", Path: pathAdminLogin,
			Body: func(e *testenv.Env) any { return "{nope" }, Status: 400, Code: "validation_failed",
		},
		{
			Name: "cooldown", Method: "POST", Path: pathAdminLogin, Config: testenv.Config{Cooldown: time.Minute},
			Setup: func(t *testing.T, e *testenv.Env) {
				setupAdminOnly(t, e)
				if r := e.Do("POST", pathAdminLogin, adminCreds(testenv.AdminPassword)(e), ""); r.Status != 200 {
					t.Fatalf("first login: %d %s", r.Status, r.Body)
				}
			},
			Body: adminCreds(testenv.AdminPassword), Status: 429, Code: "rate_limited",
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 || n > 60 {
					t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
				}
				if n := len(e.Mails(e.Vars()[varAdminEmail])); n != 1 {
					t.Fatalf("%d mails, want 1: the refused request must send nothing", n)
				}
				e.Clock.Advance(61 * time.Second)
				if again := e.Do("POST", pathAdminLogin, adminCreds(testenv.AdminPassword)(e), ""); again.Status != 200 {
					t.Fatalf("after the cooldown: %d %s", again.Status, again.Body)
				}
			},
		},
	})
}

func TestAdminLoginVerifyScenarios(t *testing.T) {
	pending := func(t *testing.T, e *testenv.Env) {
		setupAdminOnly(t, e)
		if r := e.Do("POST", pathAdminLogin, adminCreds(testenv.AdminPassword)(e), ""); r.Status != 200 {
			t.Fatalf("admin login: %d %s", r.Status, r.Body)
		}
		e.Vars()["code"] = e.Code(e.Vars()[varAdminEmail])
	}
	verify := func(code func(e *testenv.Env) string) func(e *testenv.Env) any {
		return func(e *testenv.Env) any { return map[string]any{"email": e.Vars()[varAdminEmail], "code": code(e)} }
	}
	theCode := func(e *testenv.Env) string { return e.Vars()["code"] }
	wrongCode := func(e *testenv.Env) string { return wrong(e.Vars()["code"]) }
	testenv.Run(t, []testenv.Scenario{
		{
			Name: "right code once, then used", Method: "POST", Path: pathAdminLoginVerify, Setup: pending,
			Body: verify(theCode), Status: 200, Has: []string{`"admin":{`, `"token_type":"Bearer"`}, HasNot: []string{`"user"`},
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				again := e.Do("POST", pathAdminLoginVerify, verify(theCode)(e), "")
				if again.Status != 400 || again.ErrorCode() != "invalid_code" {
					t.Fatalf("reused code: %d %s", again.Status, again.Body)
				}
			},
		},
		{
			Name: "wrong code", Method: "POST", Path: pathAdminLoginVerify, Setup: pending,
			Body: verify(wrongCode), Status: 400, Code: "invalid_code",
		},
		{
			Name: "no code pending", Method: "POST", Path: pathAdminLoginVerify, Setup: setupAdminOnly,
			Body: verify(func(*testenv.Env) string { return "123456" }), Status: 400, Code: "invalid_code",
		},
		{
			Name: "destroyed after the allowed wrong tries", Method: "POST", Path: pathAdminLoginVerify,
			Config: testenv.Config{MaxAttempts: 3},
			Setup: func(t *testing.T, e *testenv.Env) {
				pending(t, e)
				for range 3 {
					if r := e.Do("POST", pathAdminLoginVerify, verify(wrongCode)(e), ""); r.ErrorCode() != "invalid_code" {
						t.Fatalf("wrong try: %d %s", r.Status, r.Body)
					}
				}
			},
			Body: verify(theCode), Status: 400, Code: "invalid_code",
		},
		{
			Name: "expired code", Method: "POST", Path: pathAdminLoginVerify,
			Setup: func(t *testing.T, e *testenv.Env) {
				pending(t, e)
				e.Clock.Advance(11 * time.Minute)
			},
			Body: verify(theCode), Status: 400, Code: "invalid_code",
		},
		{
			Name: "a user login code for the same email is no admin code", Method: "POST", Path: pathAdminLoginVerify,
			Setup: func(t *testing.T, e *testenv.Env) {
				setupAdminOnly(t, e)
				addr := e.Vars()[varAdminEmail]
				e.RegisterUser(addr) // same email, a separate user account
				if r := e.Do("POST", pathLogin, map[string]any{"email": addr, "password": testenv.Password}, ""); r.Status != 200 {
					t.Fatalf("user login: %d %s", r.Status, r.Body)
				}
				e.Vars()["code"] = e.Code(addr)
			},
			Body: verify(theCode), Status: 400, Code: "invalid_code",
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				// The user's code is still good for the user's own login.
				u := e.Do("POST", pathLoginVerify, verify(theCode)(e), "")
				if u.Status != 200 || !strings.Contains(string(u.Body), `"user":{`) {
					t.Fatalf("user verify: %d %s", u.Status, u.Body)
				}
			},
		},
		{
			Name: "admin deactivated between the two steps", Method: "POST", Path: pathAdminLoginVerify,
			Setup: func(t *testing.T, e *testenv.Env) {
				pending(t, e)
				ad, _ := models.AdminByEmail(context.Background(), e.DB, e.Vars()[varAdminEmail])
				if _, err := e.DB.NewUpdate().Model((*models.Admin)(nil)).Set("active = ?", false).Where("id = ?", ad.ID).Exec(context.Background()); err != nil {
					t.Fatal(err)
				}
			},
			Body: verify(theCode), Status: 403, Code: "account_inactive",
		},
		{
			Name: "code of the wrong shape", Method: "POST", Path: pathAdminLoginVerify, Setup: pending,
			Body: verify(func(*testenv.Env) string { return "12ab" }), Status: 400,
		},
		{
			Name: "resend with purpose admin_login replaces the code", Method: "POST", Path: pathResend, Setup: pending,
			Body: func(e *testenv.Env) any {
				return map[string]any{"email": e.Vars()[varAdminEmail], "purpose": "admin_login"}
			},
			Status: 200,
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				fresh := e.Code(e.Vars()[varAdminEmail])
				if fresh != e.Vars()["code"] {
					old := e.Do("POST", pathAdminLoginVerify, verify(theCode)(e), "")
					if old.ErrorCode() != "invalid_code" {
						t.Fatalf("old code still works: %d %s", old.Status, old.Body)
					}
				}
				ok := e.Do("POST", pathAdminLoginVerify, verify(func(*testenv.Env) string { return fresh })(e), "")
				if ok.Status != 200 {
					t.Fatalf("fresh code: %d %s", ok.Status, ok.Body)
				}
			},
		},
	})
}

func TestAdminParallelVerifiesExactlyOneWins(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	addr := e.Email("admin")
	e.CreateAdmin(addr)
	if r := e.Do("POST", pathAdminLogin, map[string]any{"email": addr, "password": testenv.AdminPassword}, ""); r.Status != 200 {
		t.Fatalf("admin login: %d %s", r.Status, r.Body)
	}
	code := e.Code(addr)
	statuses := make([]int, 16)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = e.Do("POST", pathAdminLoginVerify, map[string]any{"email": addr, "code": code}, "").Status
		})
	}
	wg.Wait()
	if ok := slices.Index(statuses, 200); ok < 0 || slices.Index(statuses[ok+1:], 200) >= 0 {
		t.Fatalf("want exactly one 200: %v", statuses)
	}
}

// withInactiveAdmin stores an admin and deactivates it.
func withInactiveAdmin(t *testing.T, e *testenv.Env) {
	addr := e.Email("retired")
	ad := e.CreateAdmin(addr)
	e.Vars()[varAdminEmail] = addr
	if _, err := e.DB.NewUpdate().Model((*models.Admin)(nil)).Set("active = ?", false).Where("id = ?", ad.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// extractCode finds the line holding only the six-digit code.
func extractCode(t *testing.T, text string) string {
	t.Helper()
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if l = strings.TrimSpace(l); len(l) == 6 && strings.Trim(l, "0123456789") == "" {
			return l
		}
	}
	t.Fatalf("no code line in:\n%s", text)
	return ""
}
