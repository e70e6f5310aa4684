package dashboard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
	"github.com/acme/accounts/routes/dashboard"
)

func TestSessionCookieFlags(t *testing.T) {
	t.Parallel()
	// Production: development drops Secure (TestCookieNotSecureInDevelopment).
	env := testenv.New(t, testenv.Config{Production: true})
	email := env.Email("admin")
	env.CreateAdmin(email)
	fc := newFormClient(t, env)
	fc.signIn(email, testenv.AdminPassword)

	c := fc.cookie("dashboard_session")
	if c == nil || c.Value == "" {
		t.Fatalf("no session cookie after sign-in: %v", fc.setCookies)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || !c.Secure || c.Path != "/admin" {
		t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Strict, Secure, Path=/admin", c)
	}
	if p := fc.get("/admin/"); p.StatusCode != http.StatusOK || !strings.Contains(p.Body, "<h1>Users</h1>") {
		t.Fatalf("users page with the cookie: %d\n%s", p.StatusCode, p.Body)
	}
}

func TestCookieNotSecureInDevelopment(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Config{})
	f := fiber.New()
	dashboard.Mount(f, env.App, dashboard.Options{Secret: env.Secret, Development: true})
	resp, err := f.Test(httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/admin/login", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "dashboard_login" {
			if c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("development login cookie = %+v, want HttpOnly, SameSite=Strict, not Secure", c)
			}
			return
		}
	}
	t.Fatal("no login cookie on the sign-in page")
}

func TestPagesSendStrictCSP(t *testing.T) {
	t.Parallel()
	_, fc, _ := newSignedIn(t)
	for _, path := range []string{"/admin/login", "/admin/", "/admin/audit", "/admin/admins/new", "/admin/nothing-here"} {
		p := fc.get(path)
		csp := p.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q allows inline code", path, csp)
		}
		if got := p.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s: X-Frame-Options = %q", path, got)
		}
		if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: Content-Type = %q, want a page", path, p.Header.Get("Content-Type"))
		}
	}
	if p := fc.get("/admin/nothing-here"); p.StatusCode != http.StatusNotFound || !strings.Contains(p.Body, "There is no such page") {
		t.Errorf("unknown dashboard page: %d\n%s", p.StatusCode, p.Body)
	}
	if p := fc.get("/admin/static/dashboard.css"); p.StatusCode != http.StatusOK || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %q", p.StatusCode, p.Header.Get("Content-Type"))
	}
}

func TestFormWithoutCSRFTokenIsRefused(t *testing.T) {
	t.Parallel()
	env, fc, _ := newSignedIn(t)
	id := userID(t, env, env.Email("ann"))
	path := "/admin/users/" + id.String() + "/deactivate"
	token := fc.get("/admin/users/" + id.String()).csrf(t)

	for name, form := range map[string]url.Values{
		"no token":      {},
		"wrong token":   {"csrf": {"x" + token[1:]}},
		"login's token": {"csrf": {newFormClient(t, env).get("/admin/login").csrf(t)}},
	} {
		if p := fc.post(path, form); p.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403\n%s", name, p.StatusCode, p.Body)
		}
	}
	if p, err := env.App.ShowUser(context.Background(), id.String()); err != nil || !p.User.Active {
		t.Fatalf("user after refused posts: %v, %v; want still active", p, err)
	}
	// The sign-in forms need theirs too.
	other := newFormClient(t, env)
	other.get("/admin/login")
	if p := other.post("/admin/login", url.Values{"email": {"x@example.com"}, "password": {"whatever1"}}); p.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without token: %d, want 403", p.StatusCode)
	}

	// With the token it goes through.
	p := fc.post(path, url.Values{"csrf": {token}})
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("deactivate with token: %d\n%s", p.StatusCode, p.Body)
	}
	if u, _ := env.App.ShowUser(context.Background(), id.String()); u.User.Active {
		t.Fatal("user still active after a confirmed deactivation")
	}
}

func TestWrongCodeShowsError(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Config{})
	email := env.Email("admin")
	env.CreateAdmin(email)
	fc := newFormClient(t, env)
	p := fc.get("/admin/login")
	p = fc.post("/admin/login", url.Values{"csrf": {p.csrf(t)}, "email": {email}, "password": {"wrong password"}})
	if p.StatusCode != http.StatusBadRequest || !strings.Contains(p.Body, "The email or password is wrong.") {
		t.Fatalf("wrong password: %d\n%s", p.StatusCode, p.Body)
	}
	p = fc.post("/admin/login", url.Values{"csrf": {p.csrf(t)}, "email": {email}, "password": {testenv.AdminPassword}})
	p = fc.get(p.location())
	code := env.Code(email)
	wrong := code[:5] + string('0'+(code[5]-'0'+1)%10)
	p = fc.post("/admin/login/code", url.Values{"csrf": {p.csrf(t)}, "email": {email}, "code": {wrong}})
	if p.StatusCode != http.StatusBadRequest || !strings.Contains(p.Body, "That code is wrong or has expired") {
		t.Fatalf("wrong code: %d\n%s", p.StatusCode, p.Body)
	}
	if fc.jar["dashboard_session"] != "" {
		t.Fatal("a wrong code set a session cookie")
	}
	if p := fc.get("/admin/"); p.StatusCode != http.StatusSeeOther || p.location() != "/admin/login" {
		t.Fatalf("users page after a wrong code: %d %s", p.StatusCode, p.location())
	}
}

func TestRateLimitedSignInSaysHowLong(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Config{RateLimit: 2})
	fc := newFormClient(t, env)
	var p page
	for range 3 {
		p = fc.get("/admin/login")
		p = fc.post("/admin/login", url.Values{"csrf": {p.csrf(t)}, "email": {"nobody@example.com"}, "password": {"wrong password"}})
	}
	if p.StatusCode != http.StatusTooManyRequests || !strings.Contains(p.Body, "Too many requests. Try again in") || p.Header.Get("Retry-After") == "" {
		t.Fatalf("third sign-in within the limit of 2: %d Retry-After=%q\n%s", p.StatusCode, p.Header.Get("Retry-After"), p.Body)
	}
}

func TestSignOutEndsSession(t *testing.T) {
	t.Parallel()
	_, fc, _ := newSignedIn(t)
	session := fc.jar["dashboard_session"]
	p := fc.get("/admin/")
	p = fc.post("/admin/logout", url.Values{"csrf": {p.csrf(t)}})
	if p.StatusCode != http.StatusSeeOther || p.location() != "/admin/login?signed_out=1" {
		t.Fatalf("sign out: %d %s\n%s", p.StatusCode, p.location(), p.Body)
	}
	if c := fc.cookie("dashboard_session"); c == nil || c.MaxAge >= 0 && c.Value != "" {
		t.Errorf("sign out did not clear the cookie: %+v", c)
	}
	// The old cookie, kept by someone, no longer opens anything.
	fc.jar["dashboard_session"] = session
	if p := fc.get("/admin/"); p.StatusCode != http.StatusSeeOther || p.location() != "/admin/login?ended=1" {
		t.Fatalf("old cookie after sign out: %d %s", p.StatusCode, p.location())
	}
}

func TestUserTokenCannotGetIn(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Config{})
	email := env.Email("user")
	env.RegisterUser(email)
	pair := env.LoginPair(email, testenv.Password)

	fc := newFormClient(t, env)
	fc.jar["dashboard_session"] = pair.RefreshToken + "~" + pair.Token
	p := fc.get("/admin/")
	if p.StatusCode != http.StatusForbidden || strings.Contains(p.Body, "<h1>Users</h1>") {
		t.Fatalf("user session cookie: %d\n%s", p.StatusCode, p.Body)
	}
	if fc.jar["dashboard_session"] != "" {
		t.Error("the refused cookie was not cleared")
	}
	// Nor does a user's token in the header, nor an admin's: only the
	// dashboard's own cookie counts.
	adminEmail, adminToken := env.NewAdmin()
	_ = adminEmail
	for _, token := range []string{pair.Token, adminToken} {
		req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/admin/", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := env.Fiber.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/login" {
			t.Errorf("bearer token without cookie: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestActionsNeedConfirmation(t *testing.T) {
	t.Parallel()
	env, fc, _ := newSignedIn(t)
	ctx := context.Background()
	id := userID(t, env, env.Email("bob")).String()

	// The action's page only asks; nothing happens before the post.
	for _, action := range []string{"deactivate", "erase"} {
		p := fc.get("/admin/users/" + id + "/" + action)
		if p.StatusCode != http.StatusOK || !strings.Contains(p.Body, `action="/admin/users/`+id+`/`+action+`"`) {
			t.Fatalf("%s confirmation: %d\n%s", action, p.StatusCode, p.Body)
		}
	}
	if u, err := env.App.ShowUser(ctx, id); err != nil || !u.User.Active {
		t.Fatalf("user after the confirmation pages: %v %v", u, err)
	}

	steps := []struct {
		action, to, notice string
		active             bool
	}{
		{"deactivate", "/admin/users/" + id + "?done=deactivated", "has been deactivated", false},
		{"reactivate", "/admin/users/" + id + "?done=reactivated", "has been reactivated", true},
	}
	for _, s := range steps {
		token := fc.get("/admin/users/" + id + "/" + s.action).csrf(t)
		p := fc.post("/admin/users/"+id+"/"+s.action, url.Values{"csrf": {token}})
		if p.StatusCode != http.StatusSeeOther || p.location() != s.to {
			t.Fatalf("%s: %d %s\n%s", s.action, p.StatusCode, p.location(), p.Body)
		}
		if p := fc.get(p.location()); !strings.Contains(p.Body, s.notice) {
			t.Errorf("%s: no notice on the user page", s.action)
		}
		if u, _ := env.App.ShowUser(ctx, id); u.User.Active != s.active {
			t.Fatalf("after %s: active = %v", s.action, u.User.Active)
		}
	}
	token := fc.get("/admin/users/" + id + "/erase").csrf(t)
	if p := fc.post("/admin/users/"+id+"/erase", url.Values{"csrf": {token}}); p.StatusCode != http.StatusSeeOther || p.location() != "/admin/?done=erased" {
		t.Fatalf("erase: %d %s", p.StatusCode, p.location())
	}
	if _, err := env.App.ShowUser(ctx, id); err == nil {
		t.Fatal("user still there after erasure")
	}
	if p := fc.get("/admin/users/" + id); p.StatusCode != http.StatusNotFound {
		t.Errorf("erased user's page: %d", p.StatusCode)
	}
}

func TestUserListGroupsSearchAndPaging(t *testing.T) {
	t.Parallel()
	env, fc, _ := newSignedIn(t)
	p := fc.get("/admin/")
	if !strings.Contains(p.Body, "No active users.") || !strings.Contains(p.Body, "No inactive users.") {
		t.Fatalf("empty list without its empty states:\n%s", p.Body)
	}
	for range 21 {
		userID(t, env, env.Email("pat"))
	}
	userID(t, env, env.Email("zed"))
	p = fc.get("/admin/?q=pat-")
	if strings.Contains(p.Body, "zed-") || strings.Count(p.Body, `href="/admin/users/`) != 20 || !strings.Contains(p.Body, `No inactive users match “pat-”.`) {
		t.Fatalf("search for pat-: want 20 rows, no zed:\n%s", p.Body)
	}
	emails := func(body string) []string {
		var out []string
		for _, m := range regexpMust(`<div class="email muted">([^<]+)</div>`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	found := emails(p.Body)
	next := regexpFind(t, p.Body, `rel="next" href="([^"]+)"`)
	p = fc.get(strings.ReplaceAll(next, "&amp;", "&"))
	if p.StatusCode != http.StatusOK || strings.Count(p.Body, `href="/admin/users/`) != 1 {
		t.Fatalf("second page of pat-: %d\n%s", p.StatusCode, p.Body)
	}
	// A search lists by the matched text (here the emails), across pages.
	found = append(found, emails(p.Body)...)
	if len(found) != 21 || !slices.IsSorted(found) || len(slices.Compact(slices.Clone(found))) != 21 {
		t.Errorf("the search's two pages are not the 21 emails in order: %v", found)
	}
	if p := fc.get("/admin/?status=active&cursor=bogus"); p.StatusCode != http.StatusBadRequest || !strings.Contains(p.Body, "Please correct") {
		t.Errorf("bad cursor: %d", p.StatusCode)
	}
}

func TestCreateAdminAndAuditPage(t *testing.T) {
	t.Parallel()
	env, fc, _ := newSignedIn(t)
	token := fc.get("/admin/admins/new").csrf(t)
	p := fc.post("/admin/admins", url.Values{"csrf": {token}, "name": {"Ops"}, "email": {"not-an-email"}, "password": {"long enough pw"}})
	if p.StatusCode != http.StatusBadRequest || !strings.Contains(p.Body, `class="field-error"`) || strings.Contains(p.Body, "long enough pw") {
		t.Fatalf("invalid admin: %d\n%s", p.StatusCode, p.Body)
	}
	email := env.Email("ops")
	// A form bypasses the JSON decoder's text checks; the app's own refuse a
	// NUL (which PostgreSQL would answer with an error) and invalid UTF-8.
	for _, name := range []string{"Ops\x00", "Ops\xff"} {
		p = fc.post("/admin/admins", url.Values{"csrf": {token}, "name": {name}, "email": {email}, "password": {"long enough pw"}})
		if p.StatusCode != http.StatusBadRequest || !strings.Contains(p.Body, `class="field-error"`) {
			t.Fatalf("admin name %q: %d\n%s", name, p.StatusCode, p.Body)
		}
	}
	p = fc.post("/admin/admins", url.Values{"csrf": {token}, "name": {"Ops"}, "email": {email}, "password": {"long enough pw"}})
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("create admin: %d\n%s", p.StatusCode, p.Body)
	}
	if p := fc.get(p.location()); !strings.Contains(p.Body, email+" is an admin now") {
		t.Errorf("no notice after creating an admin:\n%s", p.Body)
	}
	// The new admin signs in on the dashboard.
	newFormClient(t, env).signIn(email, "long enough pw")

	p = fc.get("/admin/audit?action=admin.created")
	if p.StatusCode != http.StatusOK || !strings.Contains(p.Body, "<code>admin.created</code>") || strings.Contains(p.Body, "<code>admin.signed_in</code>") {
		t.Fatalf("audit filtered by admin.created: %d\n%s", p.StatusCode, p.Body)
	}
	if p := fc.get("/admin/audit?actor=nope"); p.StatusCode != http.StatusBadRequest || !strings.Contains(p.Body, "must be a UUID") {
		t.Errorf("bad actor filter: %d", p.StatusCode)
	}
	if p := fc.get("/admin/audit?action=user.erased"); !strings.Contains(p.Body, "No events match these filters.") {
		t.Errorf("empty audit filter without its empty state")
	}
}

func TestDeactivatedAccountEndsDashboardSession(t *testing.T) {
	t.Parallel()
	env, fc, email := newSignedIn(t)
	ad, err := models.AdminByEmail(context.Background(), env.DB, email)
	if err != nil {
		t.Fatal(err)
	}
	// An admin switched off (no API does it yet; the database can).
	if _, err := env.DB.NewUpdate().Model((*models.Admin)(nil)).Set("active = ?", false).Where("id = ?", ad.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := fc.get("/admin/"); p.StatusCode != http.StatusSeeOther || p.location() != "/admin/login?ended=1" {
		t.Fatalf("deactivated admin's dashboard: %d %s", p.StatusCode, p.location())
	}
}

func regexpFind(t *testing.T, s, expr string) string {
	t.Helper()
	m := regexpMust(expr).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%s not found in:\n%s", expr, s)
	}
	return m[1]
}

func TestExpiringAccessTokenIsRenewed(t *testing.T) {
	t.Parallel()
	env, fc, _ := newSignedIn(t)
	before := fc.jar["dashboard_session"]
	// Past the access token's 15 minutes; the session itself lives on.
	env.Clock.Advance(16 * time.Minute)
	p := fc.get("/admin/")
	if p.StatusCode != http.StatusOK || !strings.Contains(p.Body, "<h1>Users</h1>") {
		t.Fatalf("users page after the access token expired: %d %s", p.StatusCode, p.location())
	}
	c := fc.cookie("dashboard_session")
	if c == nil || c.Value == before || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("no renewed session cookie: %+v", c)
	}
	if p := fc.get("/admin/audit"); p.StatusCode != http.StatusOK {
		t.Fatalf("audit page with the renewed cookie: %d %s", p.StatusCode, p.location())
	}
	// Without a session, /admin (no slash) leads to the sign-in page too.
	if p := newFormClient(t, env).get("/admin"); p.StatusCode != http.StatusSeeOther || p.location() != "/admin/login" {
		t.Errorf("/admin without a session: %d %s", p.StatusCode, p.location())
	}
}
