package routes_test

import (
	"image/color"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acme/accounts/internal/testenv"
)

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

// TestAuthRateLimitPerIP: past the per-address budget the no-token routes
// answer 429 with Retry-After, whatever the route, on memory or Redis.
func TestAuthRateLimitPerIP(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{RateLimit: 3})
	for i := 0; i < 3; i++ {
		r := e.Do("POST", pathLogin, map[string]any{"email": e.Email("rl"), "password": "wrong password"}, "")
		if r.Status != 400 {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := e.Do("POST", pathForgot, map[string]any{"email": e.Email("rl")}, "")
	if r.Status != 429 || r.ErrorCode() != "rate_limited" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth request: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	// Signed-in routes are not counted against the budget.
	if r := e.Do("GET", pathMe, nil, ""); r.Status != 401 {
		t.Fatalf("me: %d", r.Status)
	}
}

// TestRateLimitBehindATrustedProxy: with PROXY_HEADER, each client address
// the proxy reports has its own budget.
func TestRateLimitBehindATrustedProxy(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{RateLimit: 1, ProxyHeader: "X-Forwarded-For"})
	send := func(client string) int {
		req := httptest.NewRequest("POST", pathForgot, strings.NewReader(`{"email":"`+e.Email("p")+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", client)
		resp, err := e.Fiber.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := send("203.0.113.1"); s != 200 {
		t.Fatalf("first client: %d", s)
	}
	if s := send("203.0.113.2"); s != 200 {
		t.Fatalf("second client has its own budget: %d", s)
	}
	if s := send("203.0.113.1"); s != 429 {
		t.Fatalf("first client again: %d, want 429", s)
	}
}

// TestAvatarUploadsPerUserLimit: past AVATAR_RATE_LIMIT uploads in an hour
// a user gets 429 with Retry-After; another user is not affected.
func TestAvatarUploadsPerUserLimit(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{AvatarRateLimit: 2})
	tok := e.RegisterUser(e.Email("avatar-rl"))
	jpg := encodeJPEG(t, solidImage(40, 40, color.NRGBA{R: 90, G: 90, B: 90, A: 255}))
	for i := 0; i < 2; i++ {
		if r := uploadAvatar(t, e, tok, "a.jpg", jpg); r.Status != 200 {
			t.Fatalf("upload %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := uploadAvatar(t, e, tok, "a.jpg", jpg)
	if r.Status != 429 || r.ErrorCode() != "rate_limited" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third upload: %d %s", r.Status, r.Body)
	}
	other := e.RegisterUser(e.Email("avatar-rl-2"))
	if r := uploadAvatar(t, e, other, "a.jpg", jpg); r.Status != 200 {
		t.Fatalf("another user: %d %s", r.Status, r.Body)
	}
}
