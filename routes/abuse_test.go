package routes_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acme/accounts/internal/testenv"
)

// retryAfter is the answer's Retry-After in seconds (0 when missing).
func retryAfter(r *testenv.Response) int {
	n, _ := strconv.Atoi(r.Header.Get("Retry-After"))
	return n
}

func mustLocked(t *testing.T, r *testenv.Response, code string, atLeast time.Duration) {
	t.Helper()
	mustStatus(t, r, http.StatusTooManyRequests, code)
	if secs := retryAfter(r); time.Duration(secs)*time.Second < atLeast {
		t.Fatalf("Retry-After %q, want at least %s", r.Header.Get("Retry-After"), atLeast)
	}
}

// TestCodeFailureBudget: wrong codes over every purpose and every code spend
// one budget per email; then every verify (the right code too) answers 429
// too_many_attempts, code mails are held, one notice goes out, and the
// window's end opens the email again.
func TestCodeFailureBudget(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{CodeFailureBudget: 4})
	addr := e.Email("budget")
	e.RegisterUser(addr)

	mustStatus(t, e.Do("POST", pathLogin, creds(addr), ""), 200, "")
	login := e.Code(addr)
	for range 2 {
		mustStatus(t, e.Do("POST", pathLoginVerify, map[string]any{"email": addr, "code": wrong(login)}, ""), 400, "invalid_code")
	}
	// A resent code brings fresh attempts, not a fresh budget.
	mustStatus(t, e.Do("POST", pathResend, map[string]any{"email": addr, "purpose": "login"}, ""), 200, "")
	login = e.Code(addr)
	mustStatus(t, e.Do("POST", pathLoginVerify, map[string]any{"email": addr, "code": wrong(login)}, ""), 400, "invalid_code")
	mustStatus(t, e.Do("POST", pathForgot, map[string]any{"email": addr}, ""), 200, "")
	reset := e.Code(addr)
	// The fourth wrong code is still just wrong; it spends the budget.
	mustStatus(t, e.Do("POST", pathPasswordVerify, map[string]any{"email": addr, "code": wrong(reset)}, ""), 400, "invalid_code")

	mustLocked(t, e.Do("POST", pathPasswordVerify, map[string]any{"email": addr, "code": reset}, ""), "too_many_attempts", 59*time.Minute)
	mustLocked(t, e.Do("POST", pathLoginVerify, map[string]any{"email": addr, "code": login}, ""), "too_many_attempts", 59*time.Minute)
	mustLocked(t, e.Do("POST", pathReset, map[string]any{"email": addr, "code": reset, "password": "a new long password"}, ""), "too_many_attempts", time.Minute)
	// Code mails are held as in a cooldown.
	mails := len(e.Mails(addr))
	mustLocked(t, e.Do("POST", pathLogin, creds(addr), ""), "rate_limited", 59*time.Minute)
	mustLocked(t, e.Do("POST", pathResend, map[string]any{"email": addr, "purpose": "login"}, ""), "rate_limited", 59*time.Minute)
	mustStatus(t, e.Do("POST", pathForgot, map[string]any{"email": addr}, ""), 200, "")
	// One notice, and no code mail.
	got := e.Mails(addr)
	if len(got) != mails {
		t.Fatalf("%d mails after the lock, want none", len(got)-mails)
	}
	if n := strings.Count(strings.Join(notices(t, e, addr), "|"), "too many wrong codes"); n != 1 {
		t.Fatalf("%d budget notices, want 1: %q", n, notices(t, e, addr))
	}

	e.Clock.Advance(time.Hour)
	e.Login(addr, testenv.Password)
}

// TestCodeFailureBudgetRegistration: the budget holds for an email with no
// account too (registration codes), on the same terms.
func TestCodeFailureBudgetRegistration(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{CodeFailureBudget: 2})
	addr := e.Email("newcomer")
	mustStatus(t, e.Do("POST", pathRegister, registerBody(addr), ""), 200, "")
	code := e.Code(addr)
	for range 2 {
		mustStatus(t, e.Do("POST", pathRegisterVerify, map[string]any{"email": addr, "code": wrong(code)}, ""), 400, "invalid_code")
	}
	mustLocked(t, e.Do("POST", pathRegisterVerify, map[string]any{"email": addr, "code": code}, ""), "too_many_attempts", time.Minute)
	mustLocked(t, e.Do("POST", pathRegister, registerBody(addr), ""), "rate_limited", time.Minute)
	if n := len(notices(t, e, addr)); n != 0 {
		t.Fatalf("%d notices to an email without an account", n)
	}
}

// TestCodeFailureBudgetRace: 20 wrong codes at once get exactly the budget
// checked; the rest are refused unchecked.
func TestCodeFailureBudgetRace(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{CodeFailureBudget: 10, MaxAttempts: 100})
	addr := e.Email("race")
	e.RegisterUser(addr)
	mustStatus(t, e.Do("POST", pathLogin, creds(addr), ""), 200, "")
	code := e.Code(addr)
	counts := race(20, func() int {
		return e.Do("POST", pathLoginVerify, map[string]any{"email": addr, "code": wrong(code)}, "").Status
	})
	if counts[400] != 10 || counts[429] != 10 || len(counts) != 2 {
		t.Fatalf("statuses %v, want 10×400 and 10×429", counts)
	}
	mustLocked(t, e.Do("POST", pathLoginVerify, map[string]any{"email": addr, "code": code}, ""), "too_many_attempts", time.Minute)
}

// TestPasswordFailureBudget: wrong passwords per email over sign-in, admin
// sign-in and password change; past the budget 429 too_many_attempts, right
// password or not; an unknown email answers exactly alike.
func TestPasswordFailureBudget(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{PasswordFailureBudget: 3})
	real := e.Email("real")
	e.RegisterUser(real)
	unknown := e.Email("unknown")
	for _, addr := range []string{real, unknown} {
		for range 3 {
			r := e.Do("POST", pathLogin, map[string]any{"email": addr, "password": "a wrong password"}, "")
			mustStatus(t, r, 400, "invalid_credentials")
		}
		r := e.Do("POST", pathLogin, creds(addr), "")
		mustLocked(t, r, "too_many_attempts", 14*time.Minute)
		// Admin sign-in shares the email's budget.
		mustLocked(t, e.Do("POST", "/api/v1/admin/auth/login", creds(addr), ""), "too_many_attempts", time.Minute)
	}
	e.Clock.Advance(15 * time.Minute)
	e.Login(real, testenv.Password)
}

func TestPasswordFailureBudgetOnChange(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{PasswordFailureBudget: 2})
	addr := e.Email("change")
	tok := e.RegisterUser(addr)
	for range 2 {
		r := e.Do("PUT", pathChangePassword, map[string]any{"current_password": "not the password", "new_password": "a new long password"}, tok)
		mustStatus(t, r, 400, "invalid_credentials")
	}
	r := e.Do("PUT", pathChangePassword, map[string]any{"current_password": testenv.Password, "new_password": "a new long password"}, tok)
	mustLocked(t, r, "too_many_attempts", 14*time.Minute)
	// The same budget guards sign-in.
	mustLocked(t, e.Do("POST", pathLogin, creds(addr), ""), "too_many_attempts", time.Minute)
	e.Clock.Advance(15 * time.Minute)
	r = e.Do("PUT", pathChangePassword, map[string]any{"current_password": testenv.Password, "new_password": "a new long password"}, tok)
	mustStatus(t, r, 200, "")
}

// TestPasswordFailureBudgetRace: 20 wrong passwords at once, budget 10:
// ten are checked, ten refused.
func TestPasswordFailureBudgetRace(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{PasswordFailureBudget: 10})
	addr := e.Email("pwrace")
	e.RegisterUser(addr)
	counts := race(20, func() int {
		return e.Do("POST", pathLogin, map[string]any{"email": addr, "password": "a wrong password"}, "").Status
	})
	if counts[400] != 10 || counts[429] != 10 || len(counts) != 2 {
		t.Fatalf("statuses %v, want 10×400 and 10×429", counts)
	}
}

// TestRightPasswordsCostNoBudget: successes are given back.
func TestRightPasswordsCostNoBudget(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{PasswordFailureBudget: 2})
	addr := e.Email("ok")
	e.RegisterUser(addr)
	for range 4 {
		mustStatus(t, e.Do("POST", pathLogin, creds(addr), ""), 200, "")
		e.Code(addr)
	}
}

// TestPasswordsOver72Bytes: bcrypt reads 72 bytes, so a longer password
// would match on its first 72; it is refused on every route instead.
// "é" is two bytes: 36 of them fill the 72.
func TestPasswordsOver72Bytes(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	base := strings.Repeat("é", 36)
	long := base + "ZZZZ" // 40 characters, 76 bytes
	addr := e.Email("utf8")
	body := registerBody(addr)
	body["password"] = base
	mustStatus(t, e.Do("POST", pathRegister, body, ""), 200, "")
	r := e.Do("POST", pathRegisterVerify, map[string]any{"email": addr, "code": e.Code(addr)}, "")
	mustStatus(t, r, 200, "")
	tok := r.JSON(t)["token"].(string)

	mustStatus(t, e.Do("POST", pathLogin, map[string]any{"email": addr, "password": long}, ""), 400, "validation_failed")
	mustStatus(t, e.Do("PUT", pathChangePassword, map[string]any{"current_password": long, "new_password": "a new long password"}, tok), 400, "validation_failed")
	mustStatus(t, e.Do("PUT", pathChangePassword, map[string]any{"current_password": base, "new_password": long}, tok), 400, "validation_failed")
	mustStatus(t, e.Do("POST", pathForgot, map[string]any{"email": addr}, ""), 200, "")
	code := e.Code(addr)
	mustStatus(t, e.Do("POST", pathReset, map[string]any{"email": addr, "code": code, "password": long}, ""), 400, "validation_failed")
	// The 72-byte password itself still works.
	mustStatus(t, e.Do("POST", pathLogin, map[string]any{"email": addr, "password": base}, ""), 200, "")
}

// TestResetTTLFromFirstVerify: verifying a reset code again does not give it
// more time.
func TestResetTTLFromFirstVerify(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{ResetTTL: 30 * time.Minute})
	addr := e.Email("ttl")
	e.RegisterUser(addr)
	mustStatus(t, e.Do("POST", pathForgot, map[string]any{"email": addr}, ""), 200, "")
	code := e.Code(addr)
	verify := map[string]any{"email": addr, "code": code}
	mustStatus(t, e.Do("POST", pathPasswordVerify, verify, ""), 200, "")
	e.Clock.Advance(20 * time.Minute)
	mustStatus(t, e.Do("POST", pathPasswordVerify, verify, ""), 200, "")
	e.Clock.Advance(11 * time.Minute)
	mustStatus(t, e.Do("POST", pathReset, map[string]any{"email": addr, "code": code, "password": "a new long password"}, ""), 400, "invalid_code")
}

// TestSecondRegistrationKeepsTheFirst: a stranger registering a pending
// email cannot swap in their names and password; the same person (same
// password) may correct their names.
func TestSecondRegistrationKeepsTheFirst(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	addr := e.Email("pending")
	mustStatus(t, e.Do("POST", pathRegister, registerBody(addr), ""), 200, "")
	first := e.Code(addr)
	stranger := map[string]any{"first_name": "Eve", "last_name": "Stranger", "email": addr, "password": "the stranger's password"}
	mustStatus(t, e.Do("POST", pathRegister, stranger, ""), 200, "")
	code := e.Code(addr) // the pending registration's code, mailed again
	mustStatus(t, e.Do("POST", pathRegisterVerify, map[string]any{"email": addr, "code": first}, ""), 400, "invalid_code")
	r := e.Do("POST", pathRegisterVerify, map[string]any{"email": addr, "code": code}, "")
	mustStatus(t, r, 200, "")
	if u := r.JSON(t)["user"].(map[string]any); u["first_name"] != "Ali" || u["last_name"] != "Valiyev" {
		t.Fatalf("user %v, want the first registration's names", u)
	}
	mustStatus(t, e.Do("POST", pathLogin, map[string]any{"email": addr, "password": "the stranger's password"}, ""), 400, "invalid_credentials")
	e.Login(addr, testenv.Password)

	// The same password: a correction of the pending details.
	addr2 := e.Email("fix")
	mustStatus(t, e.Do("POST", pathRegister, registerBody(addr2), ""), 200, "")
	e.Code(addr2)
	fixed := registerBody(addr2)
	fixed["first_name"] = "Alisher"
	mustStatus(t, e.Do("POST", pathRegister, fixed, ""), 200, "")
	r = e.Do("POST", pathRegisterVerify, map[string]any{"email": addr2, "code": e.Code(addr2)}, "")
	mustStatus(t, r, 200, "")
	if u := r.JSON(t)["user"].(map[string]any); u["first_name"] != "Alisher" {
		t.Fatalf("user %v, want the corrected name", u)
	}
}

// TestPasswordFailureBudgetOnReactivation: reactivation checks the password
// too, so it spends the same budget and is refused past it.
func TestPasswordFailureBudgetOnReactivation(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{PasswordFailureBudget: 2})
	addr := e.Email("away")
	tok := e.RegisterUser(addr)
	mustStatus(t, e.Do("DELETE", pathMe, nil, tok), 200, "")
	for range 2 {
		mustStatus(t, e.Do("POST", "/api/v1/auth/reactivate", map[string]any{"email": addr, "password": "not the password"}, ""), 400, "invalid_credentials")
	}
	mustLocked(t, e.Do("POST", "/api/v1/auth/reactivate", creds(addr), ""), "too_many_attempts", 14*time.Minute)
	e.Clock.Advance(15 * time.Minute)
	mustStatus(t, e.Do("POST", "/api/v1/auth/reactivate", creds(addr), ""), 200, "")
}
