package routes_test

import (
	"maps"
	"strconv"
	"strings"
	"testing"

	"github.com/acme/accounts/internal/testenv"
)

func TestOpsRoutes(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	if r := e.Do("GET", "/healthz", nil, ""); r.Status != 200 {
		t.Fatalf("healthz: %d", r.Status)
	}
	if r := e.Do("GET", "/readyz", nil, ""); r.Status != 200 {
		t.Fatalf("readyz: %d %s", r.Status, r.Body)
	}
	r := e.Do("GET", "/openapi.yaml", nil, "")
	if r.Status != 200 || !strings.HasPrefix(string(r.Body), "openapi:") {
		t.Fatalf("openapi.yaml: %d %.40s", r.Status, r.Body)
	}
	r = e.Do("GET", "/docs/", nil, "")
	if r.Status != 200 || !strings.Contains(string(r.Body), "<html") {
		t.Fatalf("docs: %d %.200s", r.Status, r.Body)
	}
	e.RegisterUser(e.Email("metrics"))
	r = e.Do("GET", "/metrics", nil, "")
	for _, want := range []string{
		`accounts_auth_codes_total{event="sent",purpose="register"} 1`,
		`accounts_auth_codes_total{event="verified",purpose="register"} 1`,
		`accounts_http_requests_total{method="POST",route="/api/v1/auth/register",status="200"} 1`,
		`accounts_http_request_duration_seconds_bucket`,
	} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if r := e.DoUnchecked("GET", "/api/v1/nope", nil, ""); r.Status != 404 || r.ErrorCode() != "not_found" {
		t.Fatalf("unknown route: %d %s", r.Status, r.Body)
	}
}

// TestMetricsTellStatusesNotAccounts: every answer is counted under its
// real status, metric names carry the namespace, and a password reset asked
// for a real account moves no metric differently from one for an unknown
// email.
func TestMetricsTellStatusesNotAccounts(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	known := e.Email("known")
	e.RegisterUser(known)
	e.Do("POST", pathLogin, map[string]any{"email": e.Email("nobody"), "password": "wrong password"}, "")
	e.DoUnchecked("GET", "/api/v1/nope", nil, "")

	// codeCounts reads the code event counters, series by series.
	codeCounts := func() map[string]float64 {
		r := e.Do("GET", "/metrics", nil, "")
		out := map[string]float64{}
		for _, l := range strings.Split(string(r.Body), "\n") {
			if series, value, ok := strings.Cut(l, " "); ok && strings.HasPrefix(series, "accounts_auth_codes_total{") {
				out[series], _ = strconv.ParseFloat(value, 64)
			}
		}
		return out
	}
	moved := func(from, to map[string]float64) map[string]float64 {
		d := map[string]float64{}
		for k, v := range to {
			if v != from[k] {
				d[k] = v - from[k]
			}
		}
		return d
	}
	// A password reset run to its end, its code destroyed by wrong tries,
	// must move the code metrics the same for an unknown email as for an
	// account: anyone who reads them could otherwise tell the two apart.
	reset := func(email, wrongCode string) map[string]float64 {
		t.Helper()
		mustStatus(t, e.Do("POST", pathForgot, map[string]any{"email": email}, ""), 200, "")
		e.App.WaitBackground()
		if wrongCode == "" {
			wrongCode = wrong(e.Code(email))
		}
		for range 5 {
			mustStatus(t, e.Do("POST", pathPasswordVerify, map[string]any{"email": email, "code": wrongCode}, ""), 400, "invalid_code")
		}
		return codeCounts()
	}
	before := codeCounts()
	afterUnknown := reset(e.Email("unknown"), "000000")
	afterKnown := reset(known, "")
	if u, k := moved(before, afterUnknown), moved(afterUnknown, afterKnown); !maps.Equal(u, k) {
		t.Fatalf("code metrics moved differently for an account than for an unknown email:\nunknown: %v\naccount: %v", u, k)
	}

	r := e.Do("GET", "/metrics", nil, "")
	for _, want := range []string{
		`accounts_http_requests_total{method="POST",route="/api/v1/auth/login",status="400"} 1`,
		`accounts_http_requests_total{method="POST",route="/api/v1/auth/password/forgot",status="200"} 2`,
		`accounts_http_requests_total{method="POST",route="/api/v1/auth/password/verify",status="400"} 10`,
		`status="404"`,
	} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(r.Body), `status="0"`) {
		t.Errorf("an answer is counted with status 0")
	}

	// Production keeps /metrics off the API's listener (METRICS_ADDR).
	p := testenv.New(t, testenv.Config{Production: true})
	if r := p.DoUnchecked("GET", "/metrics", nil, ""); r.Status != 404 {
		t.Fatalf("/metrics without the route: %d", r.Status)
	}
}
