package routes_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/accounts/internal/testenv"
)

const pathChangePassword = "/api/v1/users/me/password"

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

// race runs f n times at once and counts the statuses it returned.
func race(n int, f func() int) map[int]int {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[int]int{}
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := f()
			mu.Lock()
			counts[s]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return counts
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

// sendFrom posts forgot-password as a client behind the trusted proxy, with
// the given PROXY_HEADER value (none when empty).
func sendFrom(t *testing.T, e *testenv.Env, xff string) int {
	t.Helper()
	req := httptest.NewRequest("POST", pathForgot, strings.NewReader(`{"email":"`+e.Email("p")+`"}`))
	req.Header.Set("Content-Type", "application/json")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := e.Fiber.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRateLimitKeys: the right-most untrusted hop counts, so a client cannot
// pick its own budget by prepending addresses; IPv6 counts per /64; a header
// with nothing usable counts under the peer.
func TestRateLimitKeys(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		first, then string
		shared      bool
	}{
		{"spoofed left-most entries", "198.51.100.1, 203.0.113.7", "198.51.100.2, 203.0.113.7", true},
		{"trusted hops skipped", "203.0.113.8, 127.0.0.1", "203.0.113.8", true},
		{"different clients", "203.0.113.9", "203.0.113.10", false},
		{"one IPv6 /64", "2001:db8:1:2::1", "2001:db8:1:2:ffff::5", true},
		{"two IPv6 /64s", "2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"garbage counts under the peer", "not an address", "", true},
		{"IPv4-mapped IPv6 is the IPv4 address", "::ffff:203.0.113.11", "203.0.113.11", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := testenv.New(t, testenv.Config{RateLimit: 1, ProxyHeader: "X-Forwarded-For"})
			if s := sendFrom(t, e, c.first); s != 200 {
				t.Fatalf("first: %d", s)
			}
			want := 200
			if c.shared {
				want = 429
			}
			if s := sendFrom(t, e, c.then); s != want {
				t.Fatalf("second: %d, want %d", s, want)
			}
		})
	}
}

// TestRateLimitWithoutProxyHeaderIgnoresIt: with no PROXY_HEADER configured
// the header is the client's own text and changes nothing.
func TestRateLimitWithoutProxyHeaderIgnoresIt(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{RateLimit: 1})
	if s := sendFrom(t, e, "203.0.113.1"); s != 200 {
		t.Fatalf("first: %d", s)
	}
	if s := sendFrom(t, e, "203.0.113.2"); s != 429 {
		t.Fatalf("second with another header: %d, want 429", s)
	}
}

// TestRedisOutageKeepsTheLimits stops Redis mid-run: no code or password is
// checked uncounted (503), the per-address limit falls back to this
// instance's memory (429), nothing answers 500, and nothing waits long.
func TestRedisOutageKeepsTheLimits(t *testing.T) {
	t.Parallel()
	redis := testenv.StartRedis(t)
	e := testenv.New(t, testenv.Config{RedisURL: redis.URL, RateLimit: 6, CodeFailureBudget: 3, PasswordFailureBudget: 3})
	addr := e.Email("outage")
	e.RegisterUser(addr)
	mustStatus(t, e.Do("POST", pathLogin, creds(addr), ""), 200, "")
	code := e.Code(addr)
	mustStatus(t, e.Do("POST", pathLoginVerify, map[string]any{"email": addr, "code": wrong(code)}, ""), 400, "invalid_code")
	mustStatus(t, e.Do("POST", pathLogin, map[string]any{"email": addr, "password": "a wrong password"}, ""), 400, "invalid_credentials")

	redis.Stop()
	start := time.Now()
	counts := map[int]int{}
	for i := range 8 {
		var r *testenv.Response
		if i%2 == 0 {
			r = e.Do("POST", pathLoginVerify, map[string]any{"email": addr, "code": wrong(code)}, "")
		} else {
			r = e.Do("POST", pathLogin, map[string]any{"email": addr, "password": "a wrong password"}, "")
		}
		counts[r.Status]++
		if r.Status != 503 && r.Status != 429 {
			t.Fatalf("request %d with Redis down: %d %s", i, r.Status, r.Body)
		}
	}
	// What came before was counted in Redis; this instance's own count
	// starts afresh, lets six through to answer 503, then refuses.
	if counts[429] != 2 || counts[503] != 6 {
		t.Fatalf("statuses with Redis down %v, want 6×503 then 2×429", counts)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("8 requests took %s with Redis down", d)
	} else {
		t.Logf("8 requests with Redis down took %s", d)
	}

	redis.Start()
	// The client finds the server again on its own within moments.
	for deadline := time.Now().Add(10 * time.Second); e.Do("GET", "/readyz", nil, "").Status != 200; {
		if time.Now().After(deadline) {
			t.Fatal("Redis back, but readyz still fails")
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.Clock.Advance(time.Minute) // the per-address window
	mustStatus(t, e.Do("POST", pathLogin, creds(addr), ""), 200, "")
	e.Code(addr)
}

// TestStalledLimiterStoreDoesNotQueue: with Redis frozen, racing requests
// each wait at most on their own short store call (then count in memory),
// never on one another's, and none answers 500.
func TestStalledLimiterStoreDoesNotQueue(t *testing.T) {
	t.Parallel()
	redis := testenv.StartRedis(t)
	e := testenv.New(t, testenv.Config{RedisURL: redis.URL, RateLimit: 1000})
	mustStatus(t, e.Do("POST", pathForgot, map[string]any{"email": e.Email("warm")}, ""), 200, "")
	redis.Pause()
	defer redis.Resume()
	start := time.Now()
	counts := race(20, func() int {
		return e.Do("POST", pathForgot, map[string]any{"email": e.Email("q")}, "").Status
	})
	if counts[200] != 20 {
		t.Fatalf("statuses %v, want 20×200 (forgot-password needs no Redis here)", counts)
	}
	// Queued one behind another, 20 calls would take 20 × the timeout.
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("20 parallel requests took %s with the store stalled", d)
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
