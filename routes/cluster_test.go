package routes_test

import (
	"strings"
	"testing"

	"github.com/acme/accounts/internal/testenv"
)

// TestFlowsOnARedisCluster runs every Redis-backed step on a real Redis
// Cluster (REDIS_CLUSTER=true): codes with their cooldowns and pending
// sign-ups, the reset window, the code and password failure budgets and the
// per-address limit. A script whose keys fell in two hash slots would fail
// with CROSSSLOT, which the API would answer 500 or 503.
func TestFlowsOnARedisCluster(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{RedisCluster: true, CodeFailureBudget: 3, PasswordFailureBudget: 3, RateLimit: 200})

	addr := e.Email("cluster")
	tok := e.RegisterUser(addr)
	if r := e.Do("GET", pathMe, nil, tok); r.Status != 200 {
		t.Fatalf("me: %d %s", r.Status, r.Body)
	}
	e.Login(addr, testenv.Password)

	// Password reset: forgot, verify (starts the reset window), reset.
	if r := e.Do("POST", pathForgot, map[string]any{"email": addr}, ""); r.Status != 200 {
		t.Fatalf("forgot: %d %s", r.Status, r.Body)
	}
	code := e.Code(addr)
	if r := e.Do("POST", pathPasswordVerify, map[string]any{"email": addr, "code": code}, ""); r.Status != 200 {
		t.Fatalf("password verify: %d %s", r.Status, r.Body)
	}
	const newPassword = "a brand new password"
	if r := e.Do("POST", pathReset, map[string]any{"email": addr, "code": code, "password": newPassword}, ""); r.Status != 200 {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}

	// The password budget: three wrong passwords, then 429 even for the right one.
	for i := 0; i < 3; i++ {
		if r := e.Do("POST", pathLogin, map[string]any{"email": addr, "password": "wrong password"}, ""); r.Status != 400 {
			t.Fatalf("wrong password %d: %d %s", i, r.Status, r.Body)
		}
	}
	if r := e.Do("POST", pathLogin, map[string]any{"email": addr, "password": newPassword}, ""); r.Status != 429 || r.ErrorCode() != "too_many_attempts" {
		t.Fatalf("after the password budget: %d %s", r.Status, r.Body)
	}

	// The code budget: three wrong codes on a pending sign-up, then 429 for the right one.
	other := e.Email("cluster-codes")
	if r := e.Do("POST", pathRegister, registerBody(other), ""); r.Status != 200 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	right := e.Code(other)
	for i := 0; i < 3; i++ {
		r := e.Do("POST", pathRegisterVerify, map[string]any{"email": other, "code": wrong(right)}, "")
		if r.Status != 400 || r.ErrorCode() != "invalid_code" {
			t.Fatalf("wrong code %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := e.Do("POST", pathRegisterVerify, map[string]any{"email": other, "code": right}, "")
	if r.Status != 429 || r.ErrorCode() != "too_many_attempts" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("after the code budget: %d %s", r.Status, r.Body)
	}
	if r := e.Do("POST", "/api/v1/auth/code/resend", map[string]any{"email": other, "purpose": "register"}, ""); r.Status != 429 {
		t.Fatalf("resend while locked: %d %s", r.Status, r.Body)
	}

	// Every answer above went through the per-address limiter on the cluster.
	metrics := string(e.Do("GET", "/metrics", nil, "").Body)
	if strings.Contains(metrics, `status="500"`) || strings.Contains(metrics, `status="503"`) {
		t.Fatalf("a 5xx on the cluster:\n%s", metrics)
	}
}
