package routes_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

// patchMe changes the profile in a Setup, failing the test if it does not work.
func patchMe(t *testing.T, e *testenv.Env, body map[string]any) {
	t.Helper()
	if r := e.Do(http.MethodPatch, pathMe, body, userToken(e)); r.Status != http.StatusOK {
		t.Fatalf("PATCH /users/me %v: %d %s", body, r.Status, r.Body)
	}
}

func TestProfileScenarios(t *testing.T) {
	ok := func(body map[string]any) func(e *testenv.Env) any { return func(*testenv.Env) any { return body } }
	testenv.Run(t, []testenv.Scenario{
		{Name: "no token", Method: "PATCH", Path: pathMe, Body: ok(map[string]any{"first_name": "A"}), Status: 401, Code: "unauthorized"},
		{
			Name: "admin token", Method: "PATCH", Path: pathMe, Body: ok(map[string]any{"first_name": "A"}),
			Token: adminTokenFor, Status: 403, Code: "forbidden",
		},
		{
			Name: "unicode names kept exactly", Setup: signedIn, Method: "PATCH", Path: pathMe, Token: userToken,
			Body:   ok(map[string]any{"first_name": "Oʻgʻiloy", "last_name": "Ёқубов"}),
			Status: 200, Has: []string{`"first_name":"Oʻgʻiloy"`, `"last_name":"Ёқубов"`},
			After: func(t *testing.T, e *testenv.Env, _ *testenv.Response) {
				me := getMe(t, e, userToken(e))
				if me.User.FirstName != "Oʻgʻiloy" || me.User.LastName != "Ёқубов" {
					t.Fatalf("GET /users/me names = %q %q", me.User.FirstName, me.User.LastName)
				}
				if u := storedUser(t, e); u.FirstName != "Oʻgʻiloy" || u.LastName != "Ёқубов" {
					t.Fatalf("stored names = %q %q", u.FirstName, u.LastName)
				}
			},
		},
		{
			Name: "only the fields sent change", Setup: signedIn, Method: "PATCH", Path: pathMe, Token: userToken,
			Body:   ok(map[string]any{"last_name": "  Karimova  "}),
			Status: 200, Has: []string{`"first_name":"Test"`, `"last_name":"Karimova"`, `"phone":null`},
		},
		{
			Name: "phone set", Setup: signedIn, Method: "PATCH", Path: pathMe, Token: userToken,
			Body: ok(map[string]any{"phone": "+998 90 123 45 67"}), Status: 200, Has: []string{`"phone":"+998 90 123 45 67"`},
		},
		{
			Name: "phone null clears it",
			Setup: func(t *testing.T, e *testenv.Env) {
				signedIn(t, e)
				patchMe(t, e, map[string]any{"phone": "+998901234567"})
			},
			Method: "PATCH", Path: pathMe, Token: userToken, Body: ok(map[string]any{"phone": nil}),
			Status: 200, Has: []string{`"phone":null`, `"first_name":"Test"`},
			After: func(t *testing.T, e *testenv.Env, _ *testenv.Response) {
				if u := storedUser(t, e); u.Phone != nil {
					t.Fatalf("stored phone = %q", *u.Phone)
				}
			},
		},
		{
			Name: "empty phone clears it",
			Setup: func(t *testing.T, e *testenv.Env) {
				signedIn(t, e)
				patchMe(t, e, map[string]any{"phone": "+998901234567"})
			},
			Method: "PATCH", Path: pathMe, Token: userToken, Body: ok(map[string]any{"phone": " "}),
			Status: 200, Has: []string{`"phone":null`},
		},
		{
			Name: "empty body changes nothing", Setup: signedIn, Method: "PATCH", Path: pathMe, Token: userToken,
			Body: ok(map[string]any{}), Status: 200, Has: []string{`"first_name":"Test"`, `"last_name":"User"`},
		},
		{
			Name: "a name of 100 letters of two bytes each", Setup: signedIn, Method: "PATCH", Path: pathMe, Token: userToken,
			Body: ok(map[string]any{"first_name": strings.Repeat("ё", 100)}), Status: 200,
		},
		{
			Name: "validation names each field", Setup: signedIn, Method: "PATCH", Path: pathMe, Token: userToken,
			Body:   ok(map[string]any{"first_name": "   ", "last_name": strings.Repeat("ё", 101), "phone": "call me"}),
			Status: 400, Code: "validation_failed",
			Has: []string{`"first_name":"must not be empty"`, `"last_name":"must be at most 100 characters"`, `"phone":`},
			After: func(t *testing.T, e *testenv.Env, _ *testenv.Response) {
				if u := storedUser(t, e); u.FirstName != "Test" || u.LastName != "User" {
					t.Fatalf("a refused patch changed the user: %q %q", u.FirstName, u.LastName)
				}
			},
		},
		{
			Name: "null name", Setup: signedIn, Method: "PATCH", Path: pathMe, Token: userToken,
			Body: ok(map[string]any{"first_name": nil}), Status: 400, Code: "validation_failed", Has: []string{`"first_name":"must not be null"`},
		},
		{
			Name: "name of the wrong type", Setup: signedIn, Method: "PATCH", Path: pathMe, Token: userToken,
			Body: ok(map[string]any{"first_name": 42}), Status: 400, Code: "validation_failed", Has: []string{`"first_name"`},
		},
		{
			Name: "not JSON", Setup: signedIn, Method: "PATCH", Path: pathMe, Token: userToken,
			Body: func(*testenv.Env) any { return "{first_name:" }, Status: 400, Code: "validation_failed",
		},
		{
			Name: "body over 1 MiB", Setup: signedIn, Method: "PATCH", Path: pathMe, Token: userToken,
			Body: func(*testenv.Env) any {
				return `{"first_name":"` + strings.Repeat("a", 1<<20) + `"}`
			},
			Status: 413, Code: "payload_too_large",
		},
		{
			Name: "email is immutable and nothing changes", Setup: signedIn, Method: "PATCH", Path: pathMe, Token: userToken,
			Body: func(e *testenv.Env) any {
				return map[string]any{"first_name": "Changed", "email": e.Email("other")}
			},
			Status: 400, Code: "email_immutable",
			After: func(t *testing.T, e *testenv.Env, _ *testenv.Response) {
				u := storedUser(t, e)
				if u.FirstName != "Test" || u.Email != e.Vars()["email"] {
					t.Fatalf("a refused patch changed the user: %q %q", u.FirstName, u.Email)
				}
			},
		},
		{
			Name: "even the same email is refused", Setup: signedIn, Method: "PATCH", Path: pathMe, Token: userToken,
			Body:   func(e *testenv.Env) any { return map[string]any{"email": e.Vars()["email"]} },
			Status: 400, Code: "email_immutable",
		},
		{
			Name: "a null email is refused too", Setup: signedIn, Method: "PATCH", Path: pathMe, Token: userToken,
			Body: ok(map[string]any{"email": nil}), Status: 400, Code: "email_immutable",
		},
		{
			Name: "admin token on me", Method: "GET", Path: pathMe, Token: adminTokenFor, Status: 403, Code: "forbidden",
		},
	})
}

func TestChangePasswordScenarios(t *testing.T) {
	const newPassword = "a brand new passphrase"
	change := func(current, next string) func(*testenv.Env) any {
		return func(*testenv.Env) any { return map[string]any{"current_password": current, "new_password": next} }
	}
	testenv.Run(t, []testenv.Scenario{
		{Name: "no token", Method: "PUT", Path: pathChangePassword, Body: change(testenv.Password, newPassword), Status: 401, Code: "unauthorized"},
		{
			Name: "admin token", Method: "PUT", Path: pathChangePassword, Body: change(testenv.Password, newPassword),
			Token: adminTokenFor, Status: 403, Code: "forbidden",
		},
		{
			Name: "wrong current password", Setup: signedIn, Method: "PUT", Path: pathChangePassword, Token: userToken,
			Body: change("not the password", newPassword), Status: 400, Code: "invalid_credentials",
			After: func(t *testing.T, e *testenv.Env, _ *testenv.Response) {
				getMe(t, e, userToken(e)) // the token still works
			},
		},
		{
			Name: "new password too short", Setup: signedIn, Method: "PUT", Path: pathChangePassword, Token: userToken,
			Body: change(testenv.Password, "short"), Status: 400, Code: "validation_failed", Has: []string{`"new_password"`},
		},
		{
			Name: "new password over 72 bytes", Setup: signedIn, Method: "PUT", Path: pathChangePassword, Token: userToken,
			Body: change(testenv.Password, strings.Repeat("ё", 37)), Status: 400, Code: "validation_failed", Has: []string{`"new_password"`},
		},
		{
			Name: "missing fields", Setup: signedIn, Method: "PUT", Path: pathChangePassword, Token: userToken,
			Body: func(*testenv.Env) any { return map[string]any{} }, Status: 400, Code: "validation_failed",
			Has: []string{`"current_password":"is required"`, `"new_password":"is required"`},
		},
		{
			Name: "body over 1 MiB", Setup: signedIn, Method: "PUT", Path: pathChangePassword, Token: userToken,
			Body: func(*testenv.Env) any {
				return `{"current_password":"` + strings.Repeat("p", 1<<20) + `"}`
			},
			Status: 413, Code: "payload_too_large",
		},
		{
			Name: "new password of exactly 72 bytes", Setup: signedIn, Method: "PUT", Path: pathChangePassword, Token: userToken,
			Body: change(testenv.Password, strings.Repeat("ё", 36)), Status: 200, Has: []string{`"token_type":"Bearer"`},
		},
		{
			Name: "changed: fresh token, every older one revoked", Setup: signedIn, Method: "PUT", Path: pathChangePassword, Token: userToken,
			Body:   change(testenv.Password, newPassword),
			Status: 200, Has: []string{`"token":`, `"token_type":"Bearer"`, `"expires_in":900`, `"refresh_token":`, `"user":{`},
			HasNot: []string{"password_hash", newPassword},
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				var out struct {
					Token string `json:"token"`
				}
				r.Decode(t, &out)
				addr := e.Vars()["email"]
				if r := e.Do("GET", pathMe, nil, userToken(e)); r.Status != 401 || r.ErrorCode() != "unauthorized" {
					t.Fatalf("the token used for the change still works: %d %s", r.Status, r.Body)
				}
				getMe(t, e, out.Token)
				fresh := e.Login(addr, newPassword)
				getMe(t, e, fresh)
				lr := e.Do("POST", "/api/v1/auth/login", map[string]any{"email": addr, "password": testenv.Password}, "")
				if lr.Status != 400 || lr.ErrorCode() != "invalid_credentials" {
					t.Fatalf("the old password still signs in: %d %s", lr.Status, lr.Body)
				}
			},
		},
	})
}

// TestChangePasswordRevokesOtherSessions signs in twice (two devices) and
// checks that a change from one device signs the other out too.
func TestChangePasswordRevokesOtherSessions(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	addr := e.Email("devices")
	phone := e.RegisterUser(addr)
	laptop := e.Login(addr, testenv.Password)
	r := e.Do("PUT", pathChangePassword, map[string]any{"current_password": testenv.Password, "new_password": "a brand new passphrase"}, laptop)
	if r.Status != 200 {
		t.Fatalf("change: %d %s", r.Status, r.Body)
	}
	for name, tok := range map[string]string{"phone": phone, "laptop": laptop} {
		if r := e.Do("GET", pathMe, nil, tok); r.Status != 401 {
			t.Errorf("%s token after the change: %d %s", name, r.Status, r.Body)
		}
	}
}

func TestDeleteMeScenarios(t *testing.T) {
	testenv.Run(t, []testenv.Scenario{
		{Name: "no token", Method: "DELETE", Path: pathMe, Status: 401, Code: "unauthorized"},
		{Name: "admin token", Method: "DELETE", Path: pathMe, Token: adminTokenFor, Status: 403, Code: "forbidden"},
		{
			Name: "soft delete",
			Setup: func(t *testing.T, e *testenv.Env) {
				signedIn(t, e)
				if r := e.Do("POST", productsPath, map[string]any{"name": "Kept", "price": 1}, userToken(e)); r.Status != 201 {
					t.Fatalf("create product: %d %s", r.Status, r.Body)
				}
			},
			Method: "DELETE", Path: pathMe, Token: userToken, Status: 200, Has: []string{`"message":`},
			After: func(t *testing.T, e *testenv.Env, _ *testenv.Response) {
				addr := e.Vars()["email"]
				// The token is revoked at once.
				if r := e.Do("GET", pathMe, nil, userToken(e)); r.Status != 401 || r.ErrorCode() != "unauthorized" {
					t.Fatalf("token after delete: %d %s", r.Status, r.Body)
				}
				if r := e.Do("DELETE", pathMe, nil, userToken(e)); r.Status != 401 {
					t.Fatalf("second delete with the revoked token: %d %s", r.Status, r.Body)
				}
				// The data is kept, inactive.
				u := storedUser(t, e)
				if u.Active || u.TokenVersion < 2 || u.FirstName != "Test" {
					t.Fatalf("stored user after delete: active=%v version=%d name=%q", u.Active, u.TokenVersion, u.FirstName)
				}
				if _, total, err := models.UserProducts(context.Background(), e.DB, u.ID, 10, 0); err != nil || total != 1 {
					t.Fatalf("products after delete: %d, %v", total, err)
				}
				// The right password gets account_inactive, a wrong one the usual answer.
				r := e.Do("POST", "/api/v1/auth/login", map[string]any{"email": addr, "password": testenv.Password}, "")
				if r.Status != 403 || r.ErrorCode() != "account_inactive" {
					t.Fatalf("login after delete: %d %s", r.Status, r.Body)
				}
				r = e.Do("POST", "/api/v1/auth/login", map[string]any{"email": addr, "password": "wrong password"}, "")
				if r.Status != 400 || r.ErrorCode() != "invalid_credentials" {
					t.Fatalf("wrong password after delete: %d %s", r.Status, r.Body)
				}
				// Forgot-password answers as usual but mails nothing.
				before := len(e.Mails(addr))
				r = e.Do("POST", "/api/v1/auth/password/forgot", map[string]any{"email": addr}, "")
				if r.Status != 200 {
					t.Fatalf("forgot after delete: %d %s", r.Status, r.Body)
				}
				if testenv.Real("smtp") {
					time.Sleep(300 * time.Millisecond) // let a wrongly sent mail arrive
				}
				if after := len(e.Mails(addr)); after != before {
					t.Fatalf("forgot-password mailed an inactive account (%d mails, had %d)", after, before)
				}
			},
		},
	})
}
