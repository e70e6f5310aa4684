package routes_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/accounts/internal/testenv"
)

func me(e *testenv.Env, token string) *testenv.Response {
	e.T.Helper()
	return e.Do(http.MethodGet, pathMe, nil, token)
}

func TestRefreshRotates(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	p := e.RegisterPair(e.Email("rot"))
	next := mustRefresh(t, e, p.RefreshToken)
	if next.ExpiresIn != 900 || next.RefreshExpiresIn != 30*24*3600 {
		t.Fatalf("lifetimes: %+v", next)
	}
	mustStatus(t, me(e, next.Token), 200, "")
	// The previous access token stays valid until it expires: rotation
	// replaces the refresh token, it does not end the session.
	mustStatus(t, me(e, p.Token), 200, "")
	third := mustRefresh(t, e, next.RefreshToken)
	mustStatus(t, me(e, third.Token), 200, "")
}

func TestRefreshRefusesUnknownTokens(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	p := e.RegisterPair(e.Email("unknown"))
	bad := []string{"garbage", strings.Repeat("A", 75), p.Token}
	// A token of the right session with a flipped secret is a guess, not
	// reuse: refused, and the session lives on.
	flipped := []byte(p.RefreshToken)
	flipped[len(flipped)-2] ^= 1
	if flipped[len(flipped)-2] == p.RefreshToken[len(flipped)-2] {
		t.Fatal("no flip")
	}
	bad = append(bad, string(flipped))
	for _, rt := range bad {
		mustStatus(t, refresh(e, pathRefresh, rt), 401, "session_revoked")
	}
	mustStatus(t, me(e, p.Token), 200, "")
	mustRefresh(t, e, p.RefreshToken)
	mustStatus(t, e.Do(http.MethodPost, pathRefresh, map[string]any{}, ""), 400, "validation_failed")
	mustStatus(t, e.Do(http.MethodPost, pathRefresh, nil, ""), 400, "validation_failed")
}

// Two tabs refresh with the same token at once: both get 200 and the very
// same new pair, which keeps working.
func TestRefreshGraceRace(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	p := e.RegisterPair(e.Email("race"))
	const n = 4
	var wg sync.WaitGroup
	out := make([]tokenBody, n)
	status := make([]int, n)
	for i := range n {
		wg.Go(func() {
			// Contract failures are reported with Errorf, safe here.
			r := refresh(e, pathRefresh, p.RefreshToken)
			status[i] = r.Status
			if r.Status == 200 {
				_ = json.Unmarshal(r.Body, &out[i])
			}
		})
	}
	wg.Wait()
	for i := range n {
		if status[i] != 200 {
			t.Fatalf("racer %d: %d", i, status[i])
		}
		if out[i].Token != out[0].Token || out[i].RefreshToken != out[0].RefreshToken {
			t.Fatalf("racer %d got another pair:\n%+v\n%+v", i, out[i], out[0])
		}
	}
	// Within the grace the old token still answers the same pair.
	again := mustRefresh(t, e, p.RefreshToken)
	if again.RefreshToken != out[0].RefreshToken || again.Token != out[0].Token {
		t.Fatal("within the grace the old token answered another pair")
	}
	mustStatus(t, me(e, out[0].Token), 200, "")
	mustRefresh(t, e, out[0].RefreshToken)
}

// After the grace a former refresh token is reuse: 401, and the whole
// session ends, its access tokens and its newest refresh token included.
func TestRefreshReuseEndsTheSession(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("reuse")
	p := e.RegisterPair(email)
	other := e.LoginPair(email, testenv.Password)
	next := mustRefresh(t, e, p.RefreshToken)
	newest := mustRefresh(t, e, next.RefreshToken)
	e.Clock.Advance(11 * time.Second)
	mustStatus(t, refresh(e, pathRefresh, p.RefreshToken), 401, "session_revoked")
	mustStatus(t, me(e, newest.Token), 401, "unauthorized")
	mustStatus(t, me(e, p.Token), 401, "unauthorized")
	mustStatus(t, refresh(e, pathRefresh, newest.RefreshToken), 401, "session_revoked")
	// The account's other session is not touched.
	mustStatus(t, me(e, other.Token), 200, "")
	mustRefresh(t, e, other.RefreshToken)
}

func TestRefreshReuseRightAfterRotationWithoutGrace(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{NoReuseGrace: true})
	p := e.RegisterPair(e.Email("nograce"))
	next := mustRefresh(t, e, p.RefreshToken)
	e.Clock.Advance(time.Second)
	mustStatus(t, refresh(e, pathRefresh, p.RefreshToken), 401, "session_revoked")
	mustStatus(t, me(e, next.Token), 401, "unauthorized")
}

func TestSessionIdleAndAbsoluteExpiry(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{SessionIdleTTL: time.Hour, SessionMaxTTL: 3 * time.Hour})
	email := e.Email("expiry")
	idle := e.RegisterPair(email)
	e.Clock.Advance(61 * time.Minute)
	mustStatus(t, refresh(e, pathRefresh, idle.RefreshToken), 401, "session_revoked")
	mustStatus(t, me(e, idle.Token), 401, "unauthorized")

	// Refreshing keeps a session alive past the idle limit, never past the
	// absolute one.
	p := e.LoginPair(email, testenv.Password)
	for range 5 {
		e.Clock.Advance(50 * time.Minute)
		p = testenv.Pair(mustRefreshPair(t, e, p.RefreshToken))
	}
	// 250 minutes after sign-in (past the 3 h limit) nothing works.
	mustStatus(t, me(e, p.Token), 401, "unauthorized")
	mustStatus(t, refresh(e, pathRefresh, p.RefreshToken), 401, "session_revoked")
}

// mustRefreshPair refreshes while the session may still live: past its end
// it returns the old pair so the caller can check the refusal.
func mustRefreshPair(t *testing.T, e *testenv.Env, rt string) testenv.Pair {
	t.Helper()
	r := refresh(e, pathRefresh, rt)
	if r.Status == http.StatusUnauthorized {
		return testenv.Pair{RefreshToken: rt}
	}
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	var out testenv.Pair
	r.Decode(t, &out)
	// The body's refresh_expires_in never passes the absolute end.
	var b tokenBody
	r.Decode(t, &b)
	if b.RefreshExpiresIn > 3*3600 {
		t.Fatalf("refresh_expires_in %d past the absolute limit", b.RefreshExpiresIn)
	}
	return out
}

func logout(e *testenv.Env, path, token string, body any) *testenv.Response {
	e.T.Helper()
	return e.Do(http.MethodPost, path, body, token)
}

func TestLogoutScopes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		scope             string
		this, other, both bool // alive afterwards: this session, the other session
	}{
		{scope: "", this: false, other: true},
		{scope: "local", this: false, other: true},
		{scope: "others", this: true, other: false},
		{scope: "global", this: false, other: false},
	} {
		t.Run("scope "+tc.scope, func(t *testing.T) {
			t.Parallel()
			e := testenv.New(t, testenv.Config{})
			email := e.Email("logout")
			a := e.RegisterPair(email)
			b := e.LoginPair(email, testenv.Password)
			var body any
			if tc.scope != "" {
				body = map[string]any{"scope": tc.scope}
			}
			r := logout(e, pathLogout, a.Token, body)
			mustStatus(t, r, 200, "")
			check := func(p testenv.Pair, alive bool) {
				t.Helper()
				if alive {
					mustStatus(t, me(e, p.Token), 200, "")
					mustRefresh(t, e, p.RefreshToken)
					return
				}
				mustStatus(t, me(e, p.Token), 401, "unauthorized")
				mustStatus(t, refresh(e, pathRefresh, p.RefreshToken), 401, "session_revoked")
			}
			check(a, tc.this)
			check(b, tc.other)
			if !tc.this {
				mustStatus(t, logout(e, pathLogout, a.Token, nil), 401, "session_revoked")
			}
		})
	}
}

func TestLogoutWithTheRefreshToken(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	p := e.RegisterPair(e.Email("logout-rt"))
	mustStatus(t, logout(e, pathLogout, "", map[string]any{"refresh_token": p.RefreshToken}), 200, "")
	mustStatus(t, me(e, p.Token), 401, "unauthorized")
	mustStatus(t, logout(e, pathLogout, "", map[string]any{"refresh_token": p.RefreshToken}), 401, "session_revoked")
	mustStatus(t, logout(e, pathLogout, "", nil), 401, "unauthorized")
	mustStatus(t, logout(e, pathLogout, "", map[string]any{"scope": "everything"}), 400, "validation_failed")
	mustStatus(t, logout(e, pathLogout, "not.a.jwt", nil), 401, "unauthorized")
}

type sessionList struct {
	Items []struct {
		ID        string `json:"id"`
		IP        string `json:"ip"`
		UserAgent string `json:"user_agent"`
		Current   bool   `json:"current"`
	} `json:"items"`
}

func TestSessionListAndDelete(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("list")
	first := e.RegisterPair(email)
	second := e.LoginPair(email, testenv.Password)
	stranger := e.RegisterPair(e.Email("stranger"))

	var list sessionList
	r := e.Do(http.MethodGet, pathSessions, nil, second.Token)
	mustStatus(t, r, 200, "")
	r.Decode(t, &list)
	if len(list.Items) != 2 || !list.Items[0].Current || list.Items[1].Current {
		t.Fatalf("newest first, current marked: %s", r.Body)
	}
	firstID, secondID := list.Items[1].ID, list.Items[0].ID

	var theirs sessionList
	e.Do(http.MethodGet, pathSessions, nil, stranger.Token).Decode(t, &theirs)
	if len(theirs.Items) != 1 {
		t.Fatalf("stranger's list: %+v", theirs)
	}
	// Another user's session, an unknown id and garbage are all 404.
	for _, id := range []string{theirs.Items[0].ID, "01936b2e-0000-7000-8000-000000000000", "nope"} {
		mustStatus(t, e.Do(http.MethodDelete, pathSessions+"/"+id, nil, second.Token), 404, "not_found")
	}
	mustStatus(t, me(e, stranger.Token), 200, "")

	mustStatus(t, e.Do(http.MethodDelete, pathSessions+"/"+firstID, nil, second.Token), 200, "")
	mustStatus(t, me(e, first.Token), 401, "unauthorized")
	mustStatus(t, refresh(e, pathRefresh, first.RefreshToken), 401, "session_revoked")
	mustStatus(t, e.Do(http.MethodDelete, pathSessions+"/"+firstID, nil, second.Token), 404, "not_found")
	e.Do(http.MethodGet, pathSessions, nil, second.Token).Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != secondID {
		t.Fatalf("after delete: %+v", list)
	}
	// Ending one's own current session works like a local logout.
	mustStatus(t, e.Do(http.MethodDelete, pathSessions+"/"+secondID, nil, second.Token), 200, "")
	mustStatus(t, me(e, second.Token), 401, "unauthorized")
}

func TestPasswordChangeResetAndDeactivationEndSessions(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("pw")
	a := e.RegisterPair(email)
	b := e.LoginPair(email, testenv.Password)

	r := e.Do(http.MethodPut, "/api/v1/users/me/password", map[string]any{"current_password": testenv.Password, "new_password": "a brand new passphrase"}, a.Token)
	mustStatus(t, r, 200, "")
	var fresh tokenBody
	r.Decode(t, &fresh)
	// The caller's session continues with the fresh pair; the other ends.
	mustStatus(t, me(e, fresh.Token), 200, "")
	mustStatus(t, refresh(e, pathRefresh, a.RefreshToken), 401, "session_revoked")
	mustStatus(t, me(e, b.Token), 401, "unauthorized")
	mustStatus(t, refresh(e, pathRefresh, b.RefreshToken), 401, "session_revoked")
	cont := mustRefresh(t, e, fresh.RefreshToken)

	// Reset ends every session.
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/password/forgot", map[string]any{"email": email}, ""), 200, "")
	code := e.Code(email)
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/password/verify", map[string]any{"email": email, "code": code}, ""), 200, "")
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/password/reset", map[string]any{"email": email, "code": code, "password": "yet another passphrase"}, ""), 200, "")
	mustStatus(t, refresh(e, pathRefresh, cont.RefreshToken), 401, "session_revoked")

	// Deactivation ends every session.
	c := e.LoginPair(email, "yet another passphrase")
	d := e.LoginPair(email, "yet another passphrase")
	mustStatus(t, e.Do(http.MethodDelete, "/api/v1/users/me", nil, c.Token), 200, "")
	mustStatus(t, refresh(e, pathRefresh, d.RefreshToken), 401, "session_revoked")
	mustStatus(t, refresh(e, pathRefresh, c.RefreshToken), 401, "session_revoked")
}

// Admin and user sessions never cross: each refresh and logout route only
// knows its own kind.
func TestAdminSessionsApart(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	adminEmail := e.Email("admin")
	e.CreateAdmin(adminEmail)
	ad := e.AdminLoginPair(adminEmail, testenv.AdminPassword)
	user := e.RegisterPair(e.Email("user"))

	mustStatus(t, refresh(e, pathAdminRefresh, user.RefreshToken), 401, "session_revoked")
	mustStatus(t, refresh(e, pathRefresh, ad.RefreshToken), 401, "session_revoked")
	mustStatus(t, logout(e, pathAdminLogout, "", map[string]any{"refresh_token": user.RefreshToken}), 401, "session_revoked")
	mustStatus(t, logout(e, pathLogout, "", map[string]any{"refresh_token": ad.RefreshToken}), 401, "session_revoked")
	mustStatus(t, logout(e, pathAdminLogout, user.Token, nil), 403, "forbidden")
	// Both still work.
	mustStatus(t, me(e, user.Token), 200, "")

	r := refresh(e, pathAdminRefresh, ad.RefreshToken)
	mustStatus(t, r, 200, "")
	if !strings.Contains(string(r.Body), `"admin":{`) {
		t.Fatalf("admin refresh body: %s", r.Body)
	}
	var next tokenBody
	r.Decode(t, &next)
	mustStatus(t, e.Do(http.MethodGet, pathAdminUsers, nil, next.Token), 200, "")
	mustStatus(t, logout(e, pathAdminLogout, next.Token, nil), 200, "")
	mustStatus(t, e.Do(http.MethodGet, pathAdminUsers, nil, next.Token), 401, "unauthorized")
	mustStatus(t, refresh(e, pathAdminRefresh, next.RefreshToken), 401, "session_revoked")
}

// An admin deactivating a user ends the user's sessions.
func TestAdminDeactivationEndsSessions(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	_, adminToken := e.NewAdmin()
	email := e.Email("victim")
	p := e.RegisterPair(email)
	u := userID(t, e, email).String()
	mustStatus(t, e.Do(http.MethodPatch, pathAdminUsers+"/"+u, map[string]any{"active": false}, adminToken), 200, "")
	mustStatus(t, refresh(e, pathRefresh, p.RefreshToken), 401, "session_revoked")
	mustStatus(t, me(e, p.Token), 401, "unauthorized")
}

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
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/register", map[string]any{
		"first_name": "Test", "last_name": "User", "email": email, "password": testenv.Password,
	}, ""), 200, "")
	r := e.Do(http.MethodPost, "/api/v1/auth/register/verify", map[string]any{"email": email, "code": e.Code(email)}, "")
	mustStatus(t, r, 200, "")
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
	mustStatus(t, r, 200, "")
	next := cookieValue(refreshCookieOf(t, r))
	if next == "" || next == cookieValue(line) {
		t.Fatalf("no rotated cookie: %v", r.Header.Values("Set-Cookie"))
	}
	// A body token wins over the cookie.
	r = e.DoWith(http.MethodPost, pathRefresh, map[string]any{"refresh_token": "garbage"}, "", map[string]string{"Cookie": "refresh_token=" + next})
	mustStatus(t, r, 401, "session_revoked")

	// Logout with only the cookie ends the session and clears the cookie.
	r = e.DoWith(http.MethodPost, pathLogout, nil, "", map[string]string{"Cookie": "refresh_token=" + next})
	mustStatus(t, r, 200, "")
	cleared := refreshCookieOf(t, r)
	if cookieValue(cleared) != "" || !strings.Contains(strings.ToLower(cleared), "path=/api/v1/auth") {
		t.Fatalf("logout did not clear the cookie: %q", cleared)
	}
	mustStatus(t, e.DoWith(http.MethodPost, pathRefresh, nil, "", map[string]string{"Cookie": "refresh_token=" + next}), 401, "session_revoked")

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
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/admin/auth/login", map[string]any{"email": email, "password": testenv.AdminPassword}, ""), 200, "")
	r := e.Do(http.MethodPost, "/api/v1/admin/auth/login/verify", map[string]any{"email": email, "code": e.Code(email)}, "")
	mustStatus(t, r, 200, "")
	line := refreshCookieOf(t, r)
	if !strings.Contains(line, "Path=/api/v1/admin/auth") && !strings.Contains(line, "path=/api/v1/admin/auth") {
		t.Fatalf("admin cookie path: %q", line)
	}
	cookie := map[string]string{"Cookie": "refresh_token=" + cookieValue(line)}
	// The admin cookie opens the admin refresh, never the user one.
	mustStatus(t, e.DoWith(http.MethodPost, pathRefresh, nil, "", cookie), 401, "session_revoked")
	mustStatus(t, e.DoWith(http.MethodPost, pathAdminRefresh, nil, "", cookie), 200, "")
}

// Without REFRESH_COOKIE no cookie is set and a cookie is not read.
func TestRefreshCookieOff(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("nocookie")
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/register", map[string]any{
		"first_name": "Test", "last_name": "User", "email": email, "password": testenv.Password,
	}, ""), 200, "")
	r := e.Do(http.MethodPost, "/api/v1/auth/register/verify", map[string]any{"email": email, "code": e.Code(email)}, "")
	mustStatus(t, r, 200, "")
	if line := refreshCookieOf(t, r); line != "" {
		t.Fatalf("cookie set without REFRESH_COOKIE: %q", line)
	}
	var body tokenBody
	r.Decode(t, &body)
	mustStatus(t, e.DoWith(http.MethodPost, pathRefresh, nil, "", map[string]string{"Cookie": "refresh_token=" + body.RefreshToken}), 400, "validation_failed")
}

// TestCORSExposesRetryAfter: a browser app on another origin reads the 429's
// Retry-After only if CORS lists it; without it the client cannot tell the
// user how long to wait.
func TestCORSExposesRetryAfter(t *testing.T) {
	t.Parallel()
	const origin = "https://app.example.com"
	e := testenv.New(t, testenv.Config{CORSOrigins: []string{origin}, Cooldown: time.Minute})
	email := e.Email("cors")
	fromApp := map[string]string{"Origin": origin}
	mustStatus(t, e.DoWith(http.MethodPost, pathRegister, registerBody(email), "", fromApp), 200, "")
	r := e.DoWith(http.MethodPost, pathRegister, registerBody(email), "", fromApp)
	mustLocked(t, r, "rate_limited", time.Second)
	if r.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("allow origin %q", r.Header.Get("Access-Control-Allow-Origin"))
	}
	exposed := strings.Split(strings.ReplaceAll(r.Header.Get("Access-Control-Expose-Headers"), " ", ""), ",")
	if !slices.ContainsFunc(exposed, func(h string) bool { return strings.EqualFold(h, "Retry-After") }) {
		t.Fatalf("Retry-After not exposed: %q", r.Header.Get("Access-Control-Expose-Headers"))
	}
}
