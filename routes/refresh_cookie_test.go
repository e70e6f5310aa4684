package routes_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/acme/accounts/internal/testenv"
)

// refreshCookieOf returns the refresh_token Set-Cookie line of a response.
func refreshCookieOf(t *testing.T, r *testenv.Response) string {
	t.Helper()
	for _, c := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "refresh_token=") {
			return c
		}
	}
	return ""
}

func cookieValue(line string) string {
	v, _, _ := strings.Cut(strings.TrimPrefix(line, "refresh_token="), ";")
	return v
}

func TestRefreshCookieMode(t *testing.T) {
	t.Parallel()
	const origin = "https://app.example.com"
	// Production: development drops Secure, for plain http on localhost.
	e := testenv.New(t, testenv.Config{RefreshCookie: true, CORSOrigins: []string{origin}, Production: true})
	email := e.Email("cookie")
	wantStatus(t, e.Do(http.MethodPost, "/api/v1/auth/register", map[string]any{
		"first_name": "Test", "last_name": "User", "email": email, "password": testenv.Password,
	}, ""), 200, "")
	r := e.Do(http.MethodPost, "/api/v1/auth/register/verify", map[string]any{"email": email, "code": e.Code(email)}, "")
	wantStatus(t, r, 200, "")
	line := refreshCookieOf(t, r)
	for _, attr := range []string{"HttpOnly", "SameSite=Strict", "Path=/api/v1/auth", "Secure", "max-age=2592000"} {
		if !strings.Contains(strings.ToLower(line), strings.ToLower(attr)) {
			t.Fatalf("cookie lacks %s: %q", attr, line)
		}
	}
	var body tokenBody
	r.Decode(t, &body)
	if cookieValue(line) != body.RefreshToken || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("cookie %q, body %q, cache %q", line, body.RefreshToken, r.Header.Get("Cache-Control"))
	}

	// Refresh with no body reads the cookie and sets the next one.
	cookie := map[string]string{"Cookie": "refresh_token=" + cookieValue(line)}
	r = e.DoWith(http.MethodPost, pathRefresh, nil, "", cookie)
	wantStatus(t, r, 200, "")
	next := cookieValue(refreshCookieOf(t, r))
	if next == "" || next == cookieValue(line) {
		t.Fatalf("no rotated cookie: %v", r.Header.Values("Set-Cookie"))
	}
	// A body token wins over the cookie.
	r = e.DoWith(http.MethodPost, pathRefresh, map[string]any{"refresh_token": "garbage"}, "", map[string]string{"Cookie": "refresh_token=" + next})
	wantStatus(t, r, 401, "session_revoked")

	// Logout with only the cookie ends the session and clears the cookie.
	r = e.DoWith(http.MethodPost, pathLogout, nil, "", map[string]string{"Cookie": "refresh_token=" + next})
	wantStatus(t, r, 200, "")
	cleared := refreshCookieOf(t, r)
	if cookieValue(cleared) != "" || !strings.Contains(strings.ToLower(cleared), "path=/api/v1/auth") {
		t.Fatalf("logout did not clear the cookie: %q", cleared)
	}
	wantStatus(t, e.DoWith(http.MethodPost, pathRefresh, nil, "", map[string]string{"Cookie": "refresh_token=" + next}), 401, "session_revoked")

	// The allowed origin may send credentials; CORS never answers a wildcard.
	pre := e.DoUncheckedWith(http.MethodOptions, pathRefresh, nil, "", map[string]string{
		"Origin": origin, "Access-Control-Request-Method": "POST",
	})
	if pre.Header.Get("Access-Control-Allow-Credentials") != "true" || pre.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("preflight: %d %v", pre.Status, pre.Header)
	}
}

func TestRefreshCookieAdminPath(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{RefreshCookie: true})
	email := e.Email("admin")
	e.CreateAdmin(email)
	wantStatus(t, e.Do(http.MethodPost, "/api/v1/admin/auth/login", map[string]any{"email": email, "password": testenv.AdminPassword}, ""), 200, "")
	r := e.Do(http.MethodPost, "/api/v1/admin/auth/login/verify", map[string]any{"email": email, "code": e.Code(email)}, "")
	wantStatus(t, r, 200, "")
	line := refreshCookieOf(t, r)
	if !strings.Contains(line, "Path=/api/v1/admin/auth") && !strings.Contains(line, "path=/api/v1/admin/auth") {
		t.Fatalf("admin cookie path: %q", line)
	}
	cookie := map[string]string{"Cookie": "refresh_token=" + cookieValue(line)}
	// The admin cookie opens the admin refresh, never the user one.
	wantStatus(t, e.DoWith(http.MethodPost, pathRefresh, nil, "", cookie), 401, "session_revoked")
	wantStatus(t, e.DoWith(http.MethodPost, pathAdminRefresh, nil, "", cookie), 200, "")
}

// Without REFRESH_COOKIE no cookie is set and a cookie is not read.
func TestRefreshCookieOff(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("nocookie")
	wantStatus(t, e.Do(http.MethodPost, "/api/v1/auth/register", map[string]any{
		"first_name": "Test", "last_name": "User", "email": email, "password": testenv.Password,
	}, ""), 200, "")
	r := e.Do(http.MethodPost, "/api/v1/auth/register/verify", map[string]any{"email": email, "code": e.Code(email)}, "")
	wantStatus(t, r, 200, "")
	if line := refreshCookieOf(t, r); line != "" {
		t.Fatalf("cookie set without REFRESH_COOKIE: %q", line)
	}
	var body tokenBody
	r.Decode(t, &body)
	wantStatus(t, e.DoWith(http.MethodPost, pathRefresh, nil, "", map[string]string{"Cookie": "refresh_token=" + body.RefreshToken}), 400, "validation_failed")
}
