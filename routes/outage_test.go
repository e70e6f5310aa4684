package routes_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acme/accounts/internal/testenv"
)

// TestRedisOutage stops a private Redis under a running server: requests that
// need codes answer 503 (never a panic or a hang), readiness names Redis, and
// the server recovers on its own once Redis is back.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	redis := testenv.StartRedis(t)
	e := testenv.New(t, testenv.Config{RedisURL: redis.URL})
	addr := e.Email("outage")
	tok := e.RegisterUser(addr)

	redis.Stop()
	r := e.Do("POST", pathRegister, registerBody(e.Email("during")), "")
	if r.Status != 503 || r.ErrorCode() != "unavailable" {
		t.Fatalf("register with Redis down: %d %s", r.Status, r.Body)
	}
	r = e.Do("POST", pathLogin, map[string]any{"email": addr, "password": testenv.Password}, "")
	if r.Status != 503 {
		t.Fatalf("login with Redis down: %d %s", r.Status, r.Body)
	}
	r = e.Do("GET", "/readyz", nil, "")
	if r.Status != 503 || !strings.Contains(string(r.Body), "redis") {
		t.Fatalf("readyz with Redis down: %d %s", r.Status, r.Body)
	}
	// A signed-in request needs no code store and keeps working.
	if r := e.Do("GET", pathMe, nil, tok); r.Status != 200 {
		t.Fatalf("me with Redis down: %d %s", r.Status, r.Body)
	}

	redis.Start()
	if r := e.Do("GET", "/readyz", nil, ""); r.Status != 200 {
		t.Fatalf("readyz after Redis is back: %d %s", r.Status, r.Body)
	}
	e.Login(addr, testenv.Password)
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
