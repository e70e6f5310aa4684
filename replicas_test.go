package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/mail"
)

// balancer is the small reverse proxy in front of the replicas: round robin,
// and on a connection error the next replica, as nginx's default
// proxy_next_upstream does.
type balancer struct {
	upstreams []string
	next      atomic.Uint64
	client    *http.Client
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	start := b.next.Add(1)
	var lastErr error
	for i := range b.upstreams {
		up := b.upstreams[(int(start)+i)%len(b.upstreams)]
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+up+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := b.client.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		return
	}
	http.Error(w, "no upstream: "+lastErr.Error(), http.StatusBadGateway)
}

// TestReplicasShareStateAndRollWithoutErrors runs two instances on one
// database and one Redis behind a reverse proxy. Whatever instance a request
// reaches, codes, cooldowns, failure budgets, the per-address limit and
// sessions are the same; and stopping one instance under load (SIGTERM: its
// readiness fails first, then it drains) fails no request.
func TestReplicasShareStateAndRollWithoutErrors(t *testing.T) {
	dbURL, redisURL, smtp, mailpitURL := os.Getenv(testenv.EnvDatabaseURL), os.Getenv(testenv.EnvRedisURL),
		os.Getenv("TEST_SMTP_ADDR"), os.Getenv("TEST_MAILPIT_URL")
	if dbURL == "" || redisURL == "" || smtp == "" || mailpitURL == "" {
		if testenv.RequireServices() {
			t.Fatal("replicas need TEST_DATABASE_URL, TEST_REDIS_URL, TEST_SMTP_ADDR and TEST_MAILPIT_URL")
		}
		t.Skip("replicas share PostgreSQL, Redis and a mail server: set the TEST_* variables (scripts/services.sh)")
	}
	t.Chdir(t.TempDir())
	ctx := context.Background()

	// A database of their own, migrated by the first instance.
	admin := testenv.AdminDB(t)
	dbName := "replicas_" + testenv.RandomID()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+dbName); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+dbName+" WITH (FORCE)")
	})
	u, _ := url.Parse(dbURL)
	u.Path = "/" + dbName
	// A Redis database of their own, emptied first: the per-address count
	// of 127.0.0.1 starts at zero even when the test ran a moment ago.
	ru, _ := url.Parse(redisURL)
	ru.Path = "/9"
	redisURL = ru.String()
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("flush the replicas' Redis database: %v", err)
	}
	rdb.Close()
	host, port, _ := net.SplitHostPort(smtp)
	const authLimit = 40
	env := map[string]string{
		"DATABASE_URL": u.String(), "REDIS_URL": redisURL, "SMTP_HOST": host, "SMTP_PORT": port,
		"MAIL_FROM": "replicas@example.com", "JWT_SECRET": testenv.NewSecret(),
		"BCRYPT_COST": "4", "CODE_RESEND_COOLDOWN": "60s", "PASSWORD_FAILURE_BUDGET": "3",
		"AUTH_RATE_LIMIT": fmt.Sprint(authLimit), "SHUTDOWN_DRAIN": "300ms", "LOG_LEVEL": "error",
	}
	a := startInstance(t, env)
	b := startInstance(t, env)
	lb := &balancer{upstreams: []string{a.addr, b.addr}, client: &http.Client{Timeout: 10 * time.Second}}
	proxy := httptest.NewServer(lb)
	t.Cleanup(proxy.Close)
	mailpit := &testenv.Mailpit{BaseURL: mailpitURL}

	authRequests := 0
	var firstAuth time.Time
	call := func(base, method, path string, body any, token string) (int, map[string]any) {
		t.Helper()
		if strings.Contains(path, "/auth/") {
			if authRequests == 0 {
				firstAuth = time.Now()
			}
			authRequests++
		}
		buf, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(buf))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	onA, onB := "http://"+a.addr, "http://"+b.addr
	code := func(to string, after int) string {
		t.Helper()
		m, err := mailpit.WaitLast(ctx, to, after)
		if err != nil {
			t.Fatalf("mail to %s: %v", to, err)
		}
		return mail.ExtractCode(m.Text)
	}

	// A code mailed by A is verified on B; A's cooldown holds on B.
	email := "replica-" + testenv.RandomID() + "@example.com"
	reg := map[string]any{"first_name": "Ali", "last_name": "Valiyev", "email": email, "password": testenv.Password}
	if s, out := call(onA, "POST", "/api/v1/auth/register", reg, ""); s != 200 {
		t.Fatalf("register on A: %d %v", s, out)
	}
	if s, _ := call(onB, "POST", "/api/v1/auth/code/resend", map[string]any{"email": email, "purpose": "register"}, ""); s != 429 {
		t.Fatalf("resend on B within A's cooldown: %d", s)
	}
	s, out := call(onB, "POST", "/api/v1/auth/register/verify", map[string]any{"email": email, "code": code(email, 0)}, "")
	if s != 200 {
		t.Fatalf("verify on B of A's code: %d %v", s, out)
	}
	token, _ := out["token"].(string)

	// A session made on B is good on A, and a logout on A ends it on B.
	if s, _ := call(onA, "GET", "/api/v1/users/me", nil, token); s != 200 {
		t.Fatalf("B's token on A: %d", s)
	}

	// The password budget is one, whichever instance counts a failure.
	for i, base := range []string{onA, onB, onA} {
		if s, _ := call(base, "POST", "/api/v1/auth/login", map[string]any{"email": email, "password": "wrong password"}, ""); s != 400 {
			t.Fatalf("wrong password %d: %d", i, s)
		}
	}
	if s, out := call(onB, "POST", "/api/v1/auth/login", map[string]any{"email": email, "password": testenv.Password}, ""); s != 429 || out["error"].(map[string]any)["code"] != "too_many_attempts" {
		t.Fatalf("right password after the budget, on B: %d %v", s, out)
	}

	// Rolling restart: load through the balancer while A is stopped.
	var failures, served atomic.Int64
	var firstFailure atomic.Value
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for loadCtx.Err() == nil {
				req, _ := http.NewRequest("GET", proxy.URL+"/api/v1/users/me", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, resp.Status)
					continue
				}
				served.Add(1)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	a.stop()
	// While it drains, A says it is not ready (and still answers).
	draining := false
	for deadline := time.Now().Add(250 * time.Millisecond); !draining && time.Now().Before(deadline); {
		if resp, err := http.Get(onA + "/readyz"); err == nil {
			resp.Body.Close()
			draining = resp.StatusCode == 503
		}
	}
	if !draining {
		t.Errorf("readyz on a draining instance never answered 503")
	}
	if err := a.wait(); err != nil {
		t.Errorf("A's shutdown: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	stopLoad()
	wg.Wait()
	if n := failures.Load(); n != 0 || served.Load() == 0 {
		t.Fatalf("rolling restart: %d failed (first: %v), %d served", n, firstFailure.Load(), served.Load())
	}
	if s, _ := call(onB, "POST", "/api/v1/auth/logout", map[string]any{}, token); s != 200 {
		t.Fatalf("logout on B: %d", s)
	}

	// The per-address limit is one count across the replicas: past it, B
	// refuses although it saw only some of the requests.
	limited := false
	for i := 0; i < 2*authLimit && !limited; i++ {
		s, _ := call(onB, "POST", "/api/v1/auth/password/forgot", map[string]any{"email": email}, "")
		limited = s == 429
	}
	// The limiter (GCRA) refills continuously, authLimit a minute, so a slow
	// run earns a little more than authLimit; one more is the refused one.
	allowed := authLimit + int(time.Since(firstAuth).Seconds()*authLimit/60) + 1
	if !limited || authRequests > allowed {
		t.Fatalf("the per-address limit of %d a minute let %d auth requests through in %s (limited %v)", authLimit, authRequests, time.Since(firstAuth).Round(time.Millisecond), limited)
	}
}
