package routes_test

import (
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
