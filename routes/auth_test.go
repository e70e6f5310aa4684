package routes_test

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

// withUser registers a user in Setup and keeps its email and token in Vars.
func withUser(t *testing.T, e *testenv.Env) {
	email := e.Email("user")
	e.Vars()["email"] = email
	e.Vars()["token"] = e.RegisterUser(email)
}

func email(e *testenv.Env) string { return e.Vars()["email"] }

func TestRegisterScenarios(t *testing.T) {
	long := strings.Repeat("a", 73)
	testenv.Run(t, []testenv.Scenario{
		{
			Name: "registers and mails a code alone on its line", Method: "POST", Path: pathRegister,
			Setup:  func(t *testing.T, e *testenv.Env) { e.Vars()["email"] = e.Email("new") },
			Body:   func(e *testenv.Env) any { return registerBody(email(e)) },
			Status: 200, Has: []string{`"expires_in":600`, `"message"`},
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				msg := e.LastMail(email(e))
				lines := strings.Split(strings.ReplaceAll(msg.Text, "\r\n", "\n"), "\n")
				found := false
				for _, l := range lines {
					if len(l) == 6 && strings.Trim(l, "0123456789") == "" {
						found = true
					}
				}
				if !found {
					t.Fatalf("no line holding only the code:\n%s", msg.Text)
				}
				if exists, _ := models.UserEmailExists(context.Background(), e.DB, email(e)); exists {
					t.Fatal("the user reached the database before the code was verified")
				}
			},
		},
		{
			Name: "email is trimmed and lower-cased", Method: "POST", Path: pathRegister,
			Setup: func(t *testing.T, e *testenv.Env) { e.Vars()["email"] = e.Email("mixed") },
			Body: func(e *testenv.Env) any {
				return registerBody("  " + strings.ToUpper(email(e)) + " ")
			},
			Status: 200,
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				if got := r.JSON(t)["email"]; got != email(e) {
					t.Fatalf("email %v, want %s", got, email(e))
				}
				e.Code(email(e))
			},
		},
		{
			Name: "missing fields are named", Method: "POST", Path: pathRegister,
			Body:   func(e *testenv.Env) any { return map[string]any{} },
			Status: 400, Code: "validation_failed",
			Has: []string{`"first_name"`, `"last_name"`, `"email"`, `"password"`},
		},
		{
			Name: "bad email", Method: "POST", Path: pathRegister,
			Body:   func(e *testenv.Env) any { return registerBody("not-an-email") },
			Status: 400, Code: "validation_failed", Has: []string{`"email":"must be a valid email address"`},
		},
		{
			Name: "7-byte password", Method: "POST", Path: pathRegister,
			Body: func(e *testenv.Env) any {
				b := registerBody(e.Email("short"))
				b["password"] = "1234567"
				return b
			},
			Status: 400, Code: "validation_failed", Has: []string{`"password"`},
		},
		{
			Name: "73-byte password is rejected, not cut", Method: "POST", Path: pathRegister,
			Body: func(e *testenv.Env) any {
				b := registerBody(e.Email("long"))
				b["password"] = long
				return b
			},
			Status: 400, Code: "validation_failed", Has: []string{`"password"`},
		},
		{
			Name: "72-byte multi-byte password is accepted", Method: "POST", Path: pathRegister,
			Body: func(e *testenv.Env) any {
				b := registerBody(e.Email("utf8"))
				b["password"] = strings.Repeat("й", 36) // 72 bytes
				return b
			},
			Status: 200,
		},
		{
			Name: "malformed JSON", Method: "POST", Path: pathRegister,
			Body:   func(e *testenv.Env) any { return `{"email": ` },
			Status: 400, Code: "validation_failed", Has: []string{`"body"`},
		},
		{
			Name: "wrong type", Method: "POST", Path: pathRegister,
			Body: func(e *testenv.Env) any {
				b := registerBody(e.Email("t"))
				b["email"] = 42
				return b
			},
			Status: 400, Code: "validation_failed", Has: []string{`"email":"must be of type string"`},
		},
		{
			Name: "array instead of object", Method: "POST", Path: pathRegister,
			Body:   func(e *testenv.Env) any { return `[1,2]` },
			Status: 400, Code: "validation_failed", Has: []string{`"body"`},
		},
		{
			Name: "empty body", Method: "POST", Path: pathRegister,
			Body:   func(e *testenv.Env) any { return "" },
			Status: 400, Code: "validation_failed",
		},
		{
			Name: "body over 1 MiB", Method: "POST", Path: pathRegister,
			Body: func(e *testenv.Env) any {
				b := registerBody(e.Email("big"))
				b["first_name"] = strings.Repeat("x", 1<<20)
				return b
			},
			Status: 413, Code: "payload_too_large",
		},
		{
			Name: "bad phone", Method: "POST", Path: pathRegister,
			Body: func(e *testenv.Env) any {
				b := registerBody(e.Email("p"))
				b["phone"] = "call me"
				return b
			},
			Status: 400, Code: "validation_failed", Has: []string{`"phone"`},
		},
		{
			Name: "email taken", Method: "POST", Path: pathRegister, Setup: withUser,
			Body:   func(e *testenv.Env) any { return registerBody(strings.ToUpper(email(e))) },
			Status: 400, Code: "email_taken",
		},
		{
			Name: "cooldown answers 429 with Retry-After and sends nothing", Method: "POST", Path: pathRegister,
			Config: testenv.Config{Cooldown: time.Minute},
			Setup: func(t *testing.T, e *testenv.Env) {
				e.Vars()["email"] = e.Email("cool")
				if r := e.Do("POST", pathRegister, registerBody(email(e)), ""); r.Status != 200 {
					t.Fatalf("first register: %d %s", r.Status, r.Body)
				}
			},
			Body:   func(e *testenv.Env) any { return registerBody(email(e)) },
			Status: 429, Code: "rate_limited",
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
				if err != nil || ra < 1 || ra > 60 {
					t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
				}
				if n := len(e.Mails(email(e))); n != 1 {
					t.Fatalf("%d mails, want 1", n)
				}
			},
		},
	})
}

func TestRegisterVerifyScenarios(t *testing.T) {
	pending := func(t *testing.T, e *testenv.Env) {
		e.Vars()["email"] = e.Email("pending")
		if r := e.Do("POST", pathRegister, registerBody(email(e)), ""); r.Status != 200 {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		e.Vars()["code"] = e.Code(email(e))
	}
	verify := func(e *testenv.Env) any { return map[string]any{"email": email(e), "code": e.Vars()["code"]} }
	testenv.Run(t, []testenv.Scenario{
		{
			Name: "creates the user and returns a token", Method: "POST", Path: pathRegisterVerify, Setup: pending,
			Body: verify, Status: 200, Has: []string{`"token_type":"Bearer"`, `"expires_in":900`, `"refresh_expires_in":2592000`, `"first_name":"Ali"`},
			HasNot: []string{"password", "$2a$"},
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				u, err := models.UserByEmail(context.Background(), e.DB, email(e))
				if err != nil || !u.Active || u.TokenVersion != 1 {
					t.Fatalf("user row: %+v %v", u, err)
				}
				tok := r.JSON(t)["token"].(string)
				if me := e.Do("GET", pathMe, nil, tok); me.Status != 200 {
					t.Fatalf("me: %d %s", me.Status, me.Body)
				}
			},
		},
		{
			Name: "wrong code", Method: "POST", Path: pathRegisterVerify, Setup: pending,
			Body:   func(e *testenv.Env) any { return map[string]any{"email": email(e), "code": wrong(e.Vars()["code"])} },
			Status: 400, Code: "invalid_code",
		},
		{
			Name: "code for A never verifies B", Method: "POST", Path: pathRegisterVerify,
			Setup: func(t *testing.T, e *testenv.Env) {
				pending(t, e)
				e.Vars()["other"] = e.Email("other")
				if r := e.Do("POST", pathRegister, registerBody(e.Vars()["other"]), ""); r.Status != 200 {
					t.Fatalf("register other: %d", r.Status)
				}
			},
			Body:   func(e *testenv.Env) any { return map[string]any{"email": e.Vars()["other"], "code": e.Vars()["code"]} },
			Status: 400, Code: "invalid_code",
		},
		{
			Name: "expired code", Method: "POST", Path: pathRegisterVerify,
			Setup: func(t *testing.T, e *testenv.Env) {
				pending(t, e)
				e.Clock.Advance(10*time.Minute + time.Second)
			},
			Body: verify, Status: 400, Code: "invalid_code",
		},
		{
			Name: "attempts exhausted destroys the code", Method: "POST", Path: pathRegisterVerify,
			Config: testenv.Config{MaxAttempts: 3},
			Setup: func(t *testing.T, e *testenv.Env) {
				pending(t, e)
				for i := 0; i < 3; i++ {
					r := e.Do("POST", pathRegisterVerify, map[string]any{"email": email(e), "code": wrong(e.Vars()["code"])}, "")
					if r.ErrorCode() != "invalid_code" {
						t.Fatalf("wrong try %d: %d %s", i, r.Status, r.Body)
					}
				}
			},
			Body: verify, Status: 400, Code: "invalid_code",
		},
		{
			Name: "a used code cannot be used again", Method: "POST", Path: pathRegisterVerify,
			Setup: func(t *testing.T, e *testenv.Env) {
				pending(t, e)
				if r := e.Do("POST", pathRegisterVerify, verify(e), ""); r.Status != 200 {
					t.Fatalf("first verify: %d", r.Status)
				}
			},
			Body: verify, Status: 400, Code: "invalid_code",
		},
		{
			Name: "missing code", Method: "POST", Path: pathRegisterVerify,
			Body:   func(e *testenv.Env) any { return map[string]any{"email": e.Email("x")} },
			Status: 400, Code: "validation_failed", Has: []string{`"code"`},
		},
		{
			Name: "code of another purpose", Method: "POST", Path: pathLoginVerify, Setup: pending,
			Body: verify, Status: 400, Code: "invalid_code",
		},
	})
}

func TestParallelVerifiesExactlyOneWins(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	addr := e.Email("race")
	if r := e.Do("POST", pathRegister, registerBody(addr), ""); r.Status != 200 {
		t.Fatalf("register: %d", r.Status)
	}
	code := e.Code(addr)
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			statuses[i] = e.Do("POST", pathRegisterVerify, map[string]any{"email": addr, "code": code}, "").Status
		}(i)
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		switch s {
		case 200:
			ok++
		case 400:
		default:
			t.Errorf("unexpected status %d", s)
		}
	}
	if ok != 1 {
		t.Fatalf("%d successes, want exactly 1 (%v)", ok, statuses)
	}
}

func TestLoginScenarios(t *testing.T) {
	login := func(e *testenv.Env) any { return map[string]any{"email": email(e), "password": testenv.Password} }
	testenv.Run(t, []testenv.Scenario{
		{
			Name: "right password mails a code; verify gives a token", Method: "POST", Path: pathLogin, Setup: withUser,
			Body: login, Status: 200, Has: []string{`"expires_in":600`},
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				v := e.Do("POST", pathLoginVerify, map[string]any{"email": email(e), "code": e.Code(email(e))}, "")
				if v.Status != 200 || !strings.Contains(string(v.Body), `"token"`) {
					t.Fatalf("verify: %d %s", v.Status, v.Body)
				}
			},
		},
		{
			Name: "wrong password", Method: "POST", Path: pathLogin, Setup: withUser,
			Body:   func(e *testenv.Env) any { return map[string]any{"email": email(e), "password": "wrong password"} },
			Status: 400, Code: "invalid_credentials",
		},
		{
			Name: "unknown email answers like a wrong password", Method: "POST", Path: pathLogin,
			Body: func(e *testenv.Env) any {
				return map[string]any{"email": e.Email("nobody"), "password": testenv.Password}
			},
			Status: 400, Code: "invalid_credentials",
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				withUser(t, e)
				w := e.Do("POST", pathLogin, map[string]any{"email": email(e), "password": "wrong password"}, "")
				if string(w.Body) != string(r.Body) {
					t.Fatalf("answers differ:\n%s\n%s", r.Body, w.Body)
				}
			},
		},
		{
			Name: "deactivated account with the right password", Method: "POST", Path: pathLogin,
			Setup: func(t *testing.T, e *testenv.Env) {
				withUser(t, e)
				u, _ := models.UserByEmail(context.Background(), e.DB, email(e))
				if _, err := models.SetUserActive(context.Background(), e.DB, u.ID, false, time.Now()); err != nil {
					t.Fatal(err)
				}
			},
			Body: login, Status: 403, Code: "account_inactive",
		},
		{
			Name: "deactivated account with a wrong password stays invalid_credentials", Method: "POST", Path: pathLogin,
			Setup: func(t *testing.T, e *testenv.Env) {
				withUser(t, e)
				u, _ := models.UserByEmail(context.Background(), e.DB, email(e))
				_, _ = models.SetUserActive(context.Background(), e.DB, u.ID, false, time.Now())
			},
			Body:   func(e *testenv.Env) any { return map[string]any{"email": email(e), "password": "wrong password"} },
			Status: 400, Code: "invalid_credentials",
		},
		{
			Name: "cooldown", Method: "POST", Path: pathLogin, Config: testenv.Config{Cooldown: time.Minute},
			Setup: func(t *testing.T, e *testenv.Env) {
				withUser(t, e)
				if r := e.Do("POST", pathLogin, login(e), ""); r.Status != 200 {
					t.Fatalf("first login: %d", r.Status)
				}
			},
			Body: login, Status: 429, Code: "rate_limited",
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				if r.Header.Get("Retry-After") == "" {
					t.Fatal("no Retry-After")
				}
				e.Clock.Advance(61 * time.Second)
				if again := e.Do("POST", pathLogin, login(e), ""); again.Status != 200 {
					t.Fatalf("after the cooldown: %d %s", again.Status, again.Body)
				}
			},
		},
		{
			Name: "login verify with a wrong code", Method: "POST", Path: pathLoginVerify, Setup: withUser,
			Body:   func(e *testenv.Env) any { return map[string]any{"email": email(e), "code": "000000"} },
			Status: 400, Code: "invalid_code",
		},
		{
			Name: "73-byte password at login", Method: "POST", Path: pathLogin,
			Body: func(e *testenv.Env) any {
				return map[string]any{"email": e.Email("x"), "password": strings.Repeat("a", 73)}
			},
			Status: 400, Code: "validation_failed",
		},
	})
}

func TestPasswordResetFlow(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	addr := e.Email("reset")
	oldToken := e.RegisterUser(addr)

	r := e.Do("POST", pathForgot, map[string]any{"email": addr}, "")
	if r.Status != 200 {
		t.Fatalf("forgot: %d %s", r.Status, r.Body)
	}
	code := e.Code(addr)

	r = e.Do("POST", pathReset, map[string]any{"email": addr, "code": code, "password": "brand new password"}, "")
	if r.ErrorCode() != "invalid_code" {
		t.Fatalf("reset before verify: %d %s", r.Status, r.Body)
	}
	r = e.Do("POST", pathPasswordVerify, map[string]any{"email": addr, "code": wrong(code)}, "")
	if r.ErrorCode() != "invalid_code" {
		t.Fatalf("verify wrong: %d %s", r.Status, r.Body)
	}
	r = e.Do("POST", pathPasswordVerify, map[string]any{"email": addr, "code": code}, "")
	if r.Status != 200 || !strings.Contains(string(r.Body), `"valid":true`) {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	r = e.Do("POST", pathReset, map[string]any{"email": addr, "code": code, "password": "short"}, "")
	if r.ErrorCode() != "validation_failed" {
		t.Fatalf("reset weak: %d %s", r.Status, r.Body)
	}
	r = e.Do("POST", pathReset, map[string]any{"email": addr, "code": code, "password": "brand new password"}, "")
	if r.Status != 200 {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	if r := e.Do("GET", pathMe, nil, oldToken); r.Status != 401 {
		t.Fatalf("old token after reset: %d", r.Status)
	}
	r = e.Do("POST", pathReset, map[string]any{"email": addr, "code": code, "password": "another password"}, "")
	if r.ErrorCode() != "invalid_code" {
		t.Fatalf("second reset with the same code: %d %s", r.Status, r.Body)
	}
	if r := e.Do("POST", pathLogin, map[string]any{"email": addr, "password": testenv.Password}, ""); r.ErrorCode() != "invalid_credentials" {
		t.Fatalf("old password: %d %s", r.Status, r.Body)
	}
	tok := e.Login(addr, "brand new password")
	if r := e.Do("GET", pathMe, nil, tok); r.Status != 200 {
		t.Fatalf("me with the new token: %d", r.Status)
	}
}

func TestPasswordScenarios(t *testing.T) {
	forgotten := func(t *testing.T, e *testenv.Env) {
		withUser(t, e)
		if r := e.Do("POST", pathForgot, map[string]any{"email": email(e)}, ""); r.Status != 200 {
			t.Fatalf("forgot: %d", r.Status)
		}
		e.Vars()["code"] = e.Code(email(e))
	}
	testenv.Run(t, []testenv.Scenario{
		{
			Name: "forgot for an unknown email answers the same and mails nothing", Method: "POST", Path: pathForgot,
			Setup:  func(t *testing.T, e *testenv.Env) { e.Vars()["email"] = e.Email("ghost") },
			Body:   func(e *testenv.Env) any { return map[string]any{"email": email(e)} },
			Status: 200, Has: []string{`"message"`},
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				if n := len(e.Mails(email(e))); n != 0 {
					t.Fatalf("%d mails to an unknown address", n)
				}
			},
		},
		{
			Name: "forgot for an inactive account mails nothing", Method: "POST", Path: pathForgot,
			Setup: func(t *testing.T, e *testenv.Env) {
				withUser(t, e)
				u, _ := models.UserByEmail(context.Background(), e.DB, email(e))
				_, _ = models.SetUserActive(context.Background(), e.DB, u.ID, false, time.Now())
			},
			Body: func(e *testenv.Env) any { return map[string]any{"email": email(e)} }, Status: 200,
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				if n := len(e.Mails(email(e))); n != 1 { // the registration mail only
					t.Fatalf("%d mails, want only the registration one", n)
				}
			},
		},
		{
			Name: "forgot within the cooldown answers 200 and sends nothing", Method: "POST", Path: pathForgot,
			Config: testenv.Config{Cooldown: time.Minute},
			Setup: func(t *testing.T, e *testenv.Env) {
				withUser(t, e)
				if r := e.Do("POST", pathForgot, map[string]any{"email": email(e)}, ""); r.Status != 200 {
					t.Fatalf("forgot: %d", r.Status)
				}
			},
			Body: func(e *testenv.Env) any { return map[string]any{"email": email(e)} }, Status: 200,
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				if n := len(e.Mails(email(e))); n != 2 { // registration + one reset code
					t.Fatalf("%d mails, want 2", n)
				}
			},
		},
		{
			Name: "forgot with a bad email", Method: "POST", Path: pathForgot,
			Body:   func(e *testenv.Env) any { return map[string]any{"email": "nope"} },
			Status: 400, Code: "validation_failed",
		},
		{
			Name: "verified code expires after RESET_TTL", Method: "POST", Path: pathReset,
			Config: testenv.Config{ResetTTL: 5 * time.Minute},
			Setup: func(t *testing.T, e *testenv.Env) {
				forgotten(t, e)
				r := e.Do("POST", pathPasswordVerify, map[string]any{"email": email(e), "code": e.Vars()["code"]}, "")
				if r.Status != 200 {
					t.Fatalf("verify: %d", r.Status)
				}
				e.Clock.Advance(5*time.Minute + time.Second)
			},
			Body: func(e *testenv.Env) any {
				return map[string]any{"email": email(e), "code": e.Vars()["code"], "password": "brand new password"}
			},
			Status: 400, Code: "invalid_code",
		},
		{
			Name: "verified code still works after CODE_TTL within RESET_TTL", Method: "POST", Path: pathReset,
			Config: testenv.Config{CodeTTL: time.Minute, ResetTTL: 30 * time.Minute},
			Setup: func(t *testing.T, e *testenv.Env) {
				forgotten(t, e)
				e.Do("POST", pathPasswordVerify, map[string]any{"email": email(e), "code": e.Vars()["code"]}, "")
				e.Clock.Advance(5 * time.Minute)
			},
			Body: func(e *testenv.Env) any {
				return map[string]any{"email": email(e), "code": e.Vars()["code"], "password": "brand new password"}
			},
			Status: 200,
		},
	})
}

func TestResendScenarios(t *testing.T) {
	pendingRegister := func(t *testing.T, e *testenv.Env) {
		e.Vars()["email"] = e.Email("resend")
		if r := e.Do("POST", pathRegister, registerBody(email(e)), ""); r.Status != 200 {
			t.Fatalf("register: %d", r.Status)
		}
		e.Vars()["code"] = e.Code(email(e))
	}
	resend := func(purpose string) func(e *testenv.Env) any {
		return func(e *testenv.Env) any { return map[string]any{"email": email(e), "purpose": purpose} }
	}
	testenv.Run(t, []testenv.Scenario{
		{
			Name: "fresh code replaces the old one", Method: "POST", Path: pathResend, Setup: pendingRegister,
			Body: resend("register"), Status: 200, Has: []string{`"expires_in":600`},
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				fresh := e.Code(email(e))
				if fresh != e.Vars()["code"] {
					old := e.Do("POST", pathRegisterVerify, map[string]any{"email": email(e), "code": e.Vars()["code"]}, "")
					if old.ErrorCode() != "invalid_code" {
						t.Fatalf("old code still works: %d", old.Status)
					}
				}
				ok := e.Do("POST", pathRegisterVerify, map[string]any{"email": email(e), "code": fresh}, "")
				if ok.Status != 200 {
					t.Fatalf("fresh code: %d %s", ok.Status, ok.Body)
				}
			},
		},
		{
			Name: "nothing pending", Method: "POST", Path: pathResend,
			Setup: func(t *testing.T, e *testenv.Env) { e.Vars()["email"] = e.Email("none") },
			Body:  resend("login"), Status: 400, Code: "invalid_code",
		},
		{
			Name: "password answers 200 with nothing pending", Method: "POST", Path: pathResend,
			Setup: func(t *testing.T, e *testenv.Env) { e.Vars()["email"] = e.Email("none") },
			Body:  resend("password"), Status: 200,
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				if n := len(e.Mails(email(e))); n != 0 {
					t.Fatalf("%d mails", n)
				}
			},
		},
		{
			Name: "unknown purpose", Method: "POST", Path: pathResend,
			Body:   func(e *testenv.Env) any { return map[string]any{"email": e.Email("x"), "purpose": "party"} },
			Status: 400, Code: "validation_failed", Has: []string{`"purpose"`},
		},
		{
			Name: "within the cooldown", Method: "POST", Path: pathResend, Config: testenv.Config{Cooldown: time.Minute},
			Setup: pendingRegister, Body: resend("register"), Status: 429, Code: "rate_limited",
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				if r.Header.Get("Retry-After") == "" {
					t.Fatal("no Retry-After")
				}
			},
		},
	})
}

func TestTokenScenarios(t *testing.T) {
	testenv.Run(t, []testenv.Scenario{
		{Name: "no token", Method: "GET", Path: pathMe, Status: 401, Code: "unauthorized"},
		{
			Name: "garbage token", Method: "GET", Path: pathMe, Status: 401, Code: "unauthorized",
			Token: func(e *testenv.Env) string { return "not.a.jwt" },
		},
		{
			Name: "expired token", Method: "GET", Path: pathMe, Status: 401, Code: "unauthorized", Setup: withUser,
			Token: func(e *testenv.Env) string {
				return e.SignToken(e.T, e.Vars()["email"], "user", 1, -time.Minute)
			},
		},
		{
			Name: "token of another secret", Method: "GET", Path: pathMe, Status: 401, Code: "unauthorized", Setup: withUser,
			Token: func(e *testenv.Env) string {
				e.Secret = []byte(testenv.NewSecret())
				return e.SignToken(e.T, e.Vars()["email"], "user", 1, time.Hour)
			},
		},
		{
			Name: "stale token version", Method: "GET", Path: pathMe, Status: 401, Code: "unauthorized", Setup: withUser,
			Token: func(e *testenv.Env) string { return e.SignToken(e.T, e.Vars()["email"], "user", 7, time.Hour) },
		},
		{
			Name: "me with products_total and no hash", Method: "GET", Path: pathMe, Status: 200, Setup: withUser,
			Token:  func(e *testenv.Env) string { return e.Vars()["token"] },
			Has:    []string{`"products":[]`, `"products_total":0`, `"avatar_url":null`},
			HasNot: []string{"password", "token_version"},
		},
	})
}

// newMailDownEnv builds an Env whose mail server refuses every message.
func newMailDownEnv(t *testing.T) *testenv.Env {
	cfg := testenv.Config{}
	if testenv.Real("smtp") {
		cfg.SMTPAddr = "127.0.0.1:1" // nothing listens there
	}
	e := testenv.New(t, cfg)
	if e.Capture != nil {
		e.Capture.SetFailure(errors.New("connection refused"))
	}
	return e
}

func TestMailDownLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	e := newMailDownEnv(t)
	addr := e.Email("nomail")
	r := e.Do("POST", pathRegister, registerBody(addr), "")
	if r.Status != 503 || r.ErrorCode() != "unavailable" {
		t.Fatalf("register with mail down: %d %s", r.Status, r.Body)
	}
	// Nothing pending: a resend finds no registration to resend.
	if e.Capture != nil {
		e.Capture.SetFailure(nil)
	}
	r = e.Do("POST", pathResend, map[string]any{"email": addr, "purpose": "register"}, "")
	if r.ErrorCode() != "invalid_code" {
		t.Fatalf("a pending registration survived the failed mail: %d %s", r.Status, r.Body)
	}
}

// TestMailDownPasswordResetAnswersAlike: reset mails go out after the answer,
// so with the mail server down a real account still gets the answer an
// unknown email gets (not a 503 that would reveal it), and the code whose
// mail failed is gone.
func TestMailDownPasswordResetAnswersAlike(t *testing.T) {
	t.Parallel()
	e := newMailDownEnv(t)
	ctx := context.Background()
	known, unknown := e.Email("known"), e.Email("unknown")
	e.StoreUser(models.NewID(), known)

	sameAnswer := func(path string, body func(email string) map[string]any) {
		t.Helper()
		a, b := e.Do("POST", path, body(known), ""), e.Do("POST", path, body(unknown), "")
		if a.Status != 200 || b.Status != 200 {
			t.Fatalf("%s with mail down: %d %s (account), %d %s (unknown)", path, a.Status, a.Body, b.Status, b.Body)
		}
		if ra, rb := strings.ReplaceAll(string(a.Body), known, unknown), string(b.Body); ra != rb {
			t.Fatalf("%s answers differ: %s vs %s", path, a.Body, b.Body)
		}
	}
	sameAnswer(pathForgot, func(addr string) map[string]any { return map[string]any{"email": addr} })
	e.App.WaitBackground()
	if _, err := e.Codes.Reissue(ctx, "password", known); !errors.Is(err, models.ErrInvalidCode) {
		t.Fatalf("the reset code outlived its failed mail: %v", err)
	}

	// A resend keeps the pending reset when its mail fails, as for the other
	// purposes, so the user can resend once mail is back.
	if _, err := e.Codes.Issue(ctx, "password", known, nil); err != nil {
		t.Fatal(err)
	}
	sameAnswer(pathResend, func(addr string) map[string]any { return map[string]any{"email": addr, "purpose": "password"} })
	e.App.WaitBackground()
	if _, err := e.Codes.Reissue(ctx, "password", known); err != nil {
		t.Fatalf("the pending reset did not survive a failed resend mail: %v", err)
	}

	// Password-reset mails are sent only for real accounts, so counting
	// their failures would tell accounts apart (TestMetricsTellStatusesNotAccounts).
	r := e.Do("GET", "/metrics", nil, "")
	if bad := `event="mail_failed",purpose="password"`; strings.Contains(string(r.Body), bad) {
		t.Errorf("metrics count password-reset mails: %s", bad)
	}
}

func TestDatabaseDownIs503(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	addr := e.Email("nodb")
	tok := e.RegisterUser(addr)
	e.DB.Close()
	for _, c := range []struct {
		method, path string
		body         any
		token        string
	}{
		{"POST", pathRegister, registerBody(e.Email("other")), ""},
		{"POST", pathLogin, map[string]any{"email": addr, "password": testenv.Password}, ""},
		{"GET", pathMe, nil, tok},
		{"GET", "/readyz", nil, ""},
	} {
		r := e.Do(c.method, c.path, c.body, c.token)
		if r.Status != 503 || r.ErrorCode() != "unavailable" {
			t.Errorf("%s %s with the database closed: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
}

// dbOutage takes the database away from an Env's server the way it happens
// in production.
type dbOutage struct {
	name string
	// postgres, when set, says why the outage needs PostgreSQL.
	postgres string
	config   func(t *testing.T) testenv.Config
	cut      func(t *testing.T, e *testenv.Env)
	// restore brings the database back; nil when nothing can (a closed pool).
	restore func(t *testing.T, e *testenv.Env)
	// passing: the pool may already have reconnected when the request comes,
	// so 200 is right too; a 503 must then pass on the first retry.
	passing bool
}

var dbOutages = []dbOutage{
	{
		// SQLite's way down: its one connection is gone. On PostgreSQL a
		// closed pool answers the same.
		name:   "closed pool",
		config: func(*testing.T) testenv.Config { return testenv.Config{} },
		cut:    func(_ *testing.T, e *testenv.Env) { e.DB.Close() },
	},
	{
		// The server stopped: open connections break, new ones are refused.
		name:     "connection refused",
		postgres: "a closed port between the server and PostgreSQL",
		config:   func(*testing.T) testenv.Config { return testenv.Config{DatabaseProxy: true} },
		cut:      func(_ *testing.T, e *testenv.Env) { e.DBProxy.Cut() },
		restore:  func(_ *testing.T, e *testenv.Env) { e.DBProxy.Restore() },
	},
	{
		// Credentials revoked or rotated: every new connection gets
		// SQLSTATE 28000 (role not permitted to log in).
		name:     "authentication refused",
		postgres: "a PostgreSQL role whose login is taken away",
		config: func(t *testing.T) testenv.Config {
			role, password := "t_role_"+testenv.RandomID(), testenv.RandomID()
			admin := testenv.AdminDB(t)
			mustExec(t, admin, "CREATE ROLE "+role+" LOGIN SUPERUSER PASSWORD '"+password+"'")
			// Registered before the Env, so it runs after the Env has
			// dropped the role's objects.
			t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP ROLE IF EXISTS "+role) })
			return testenv.Config{DatabaseUser: url.UserPassword(role, password)}
		},
		cut: func(t *testing.T, e *testenv.Env) {
			role := e.Cfg.DatabaseUser.Username()
			admin := testenv.AdminDB(t)
			mustExec(t, admin, "ALTER ROLE "+role+" NOLOGIN")
			mustExec(t, admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ?", role)
		},
		restore: func(t *testing.T, e *testenv.Env) {
			mustExec(t, testenv.AdminDB(t), "ALTER ROLE "+e.Cfg.DatabaseUser.Username()+" LOGIN")
		},
	},
	{
		// An operator ends every session (SQLSTATE 57P01 on each pooled
		// connection), PostgreSQL itself stays up.
		name:     "admin shutdown",
		postgres: "pg_terminate_backend on the server's pooled connections",
		config:   func(*testing.T) testenv.Config { return testenv.Config{OwnDatabase: true} },
		cut: func(t *testing.T, e *testenv.Env) {
			mustExec(t, testenv.AdminDB(t), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()", e.DatabaseName)
		},
		passing: true,
	},
}

func mustExec(t *testing.T, db *bun.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// TestDatabaseDownKeepsTheCode: a verify step whose database work fails
// answers 503, never 500, and puts the code back, so the user retries with
// the code in hand (and a registration keeps its details) instead of
// starting over: once the database is back the same code works.
func TestDatabaseDownKeepsTheCode(t *testing.T) {
	t.Parallel()
	for _, o := range dbOutages {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			if o.postgres != "" {
				testenv.NeedReal(t, "database", o.postgres)
			}
			e := testenv.New(t, o.config(t))
			steps := pendingVerifySteps(t, e)
			// The server holds pooled connections from the steps so far.
			o.cut(t, e)
			for _, s := range steps {
				r := e.Do("POST", s.path, s.body, "")
				if o.passing && r.Status == 200 {
					s.done = true
					continue
				}
				if r.Status != 503 || r.ErrorCode() != "unavailable" {
					t.Errorf("%s with the database down: %d %s", s.path, r.Status, r.Body)
				}
			}
			if o.restore != nil {
				o.restore(t, e)
			}
			if o.restore == nil && !o.passing {
				codesAreBack(t, e, steps)
				return
			}
			for _, s := range steps {
				if s.done {
					continue
				}
				if r := e.Do("POST", s.path, s.body, ""); r.Status != 200 {
					t.Errorf("%s with the same code once the database is back: %d %s", s.path, r.Status, r.Body)
				}
			}
		})
	}
}

// verifyStep is the request that finishes a flow with a mailed code.
type verifyStep struct {
	path           string
	body           map[string]any
	purpose, email string
	code           string
	verified, done bool
}

// pendingVerifySteps starts every flow that ends with a code (sign-up,
// sign-in, admin sign-in, password reset, reactivation) and returns their
// last steps, not yet taken.
func pendingVerifySteps(t *testing.T, e *testenv.Env) []*verifyStep {
	t.Helper()
	start := func(path string, body map[string]any) {
		t.Helper()
		if r := e.Do("POST", path, body, ""); r.Status != 200 {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	step := func(path, purpose, email string) *verifyStep {
		code := e.Code(email)
		return &verifyStep{path: path, body: map[string]any{"email": email, "code": code}, purpose: purpose, email: email, code: code}
	}

	registering := e.Email("registering")
	start(pathRegister, registerBody(registering))

	signingIn := e.Email("signing-in")
	e.StoreUser(models.NewID(), signingIn)
	start(pathLogin, map[string]any{"email": signingIn, "password": testenv.Password})

	admin := e.Email("admin")
	e.CreateAdmin(admin)
	start(pathAdminLogin, map[string]any{"email": admin, "password": testenv.AdminPassword})

	resetting := e.Email("resetting")
	e.StoreUser(models.NewID(), resetting)
	start(pathForgot, map[string]any{"email": resetting})
	reset := step(pathReset, app.PurposePassword, resetting)
	start(pathPasswordVerify, reset.body)
	reset.body["password"], reset.verified = "a brand new passphrase", true

	returning := e.Email("returning")
	if r := e.Do("DELETE", pathMe, nil, e.RegisterUser(returning)); r.Status != 200 {
		t.Fatalf("deactivate: %d %s", r.Status, r.Body)
	}
	start(pathReactivate, map[string]any{"email": returning, "password": testenv.Password})

	return []*verifyStep{
		step(pathRegisterVerify, app.PurposeRegister, registering),
		step(pathLoginVerify, app.PurposeLogin, signingIn),
		step(pathAdminLoginVerify, app.PurposeAdminLogin, admin),
		reset,
		step(pathReactivateVerify, app.PurposeReactivate, returning),
	}
}

// codesAreBack checks in the code store that each step's code is back and
// still right, for outages the server cannot recover from in the test.
func codesAreBack(t *testing.T, e *testenv.Env, steps []*verifyStep) {
	t.Helper()
	ctx := context.Background()
	for _, s := range steps {
		consume := e.Codes.Consume
		if s.verified {
			consume = e.Codes.ConsumeVerified
		}
		payload, err := consume(ctx, s.purpose, s.email, s.code)
		if err != nil {
			t.Errorf("%s code after the outage: %v", s.purpose, err)
		}
		// A registration keeps its details with the code.
		if s.purpose == app.PurposeRegister && !strings.Contains(string(payload), s.email) {
			t.Errorf("registration code after the outage carries %q", payload)
		}
	}
}
