package dashboard_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/acme/accounts/internal/testenv"
)

// formClient drives the dashboard like a browser without script: it keeps
// the cookies and posts forms through the real router.
type formClient struct {
	t   *testing.T
	env *testenv.Env
	jar map[string]string
	// setCookies are the Set-Cookie headers of the last answer.
	setCookies []*http.Cookie
}

func newFormClient(t *testing.T, env *testenv.Env) *formClient {
	return &formClient{t: t, env: env, jar: map[string]string{}}
}

// page is an answer with its body read.
type page struct {
	*http.Response
	Body string
}

func (p page) location() string { return p.Header.Get("Location") }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// csrf is the first form token on the page.
func (p page) csrf(t *testing.T) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no csrf field on the page:\n%s", p.Body)
	}
	return m[1]
}

func (fc *formClient) get(path string) page {
	fc.t.Helper()
	return fc.do(http.MethodGet, path, nil)
}

func (fc *formClient) post(path string, form url.Values) page {
	fc.t.Helper()
	return fc.do(http.MethodPost, path, form)
}

func (fc *formClient) do(method, path string, form url.Values) page {
	fc.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequestWithContext(context.Background(), method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "dashboard-test")
	for name, value := range fc.jar {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	resp, err := fc.env.Fiber.Test(req, -1)
	if err != nil {
		fc.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		fc.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	fc.setCookies = resp.Cookies()
	for _, c := range fc.setCookies {
		if c.MaxAge < 0 || c.Value == "" {
			delete(fc.jar, c.Name)
		} else {
			fc.jar[c.Name] = c.Value
		}
	}
	return page{Response: resp, Body: string(b)}
}

// cookie is the Set-Cookie of the last answer with the name, nil when none.
func (fc *formClient) cookie(name string) *http.Cookie {
	for _, c := range fc.setCookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signIn signs the admin in through both forms and returns the answer of
// the code step.
func (fc *formClient) signIn(email, password string) page {
	fc.t.Helper()
	p := fc.get("/admin/login")
	p = fc.post("/admin/login", url.Values{"csrf": {p.csrf(fc.t)}, "email": {email}, "password": {password}})
	if p.StatusCode != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/admin/login/code?") {
		fc.t.Fatalf("sign-in step one: %d %s\n%s", p.StatusCode, p.location(), p.Body)
	}
	p = fc.get(p.location())
	p = fc.post("/admin/login/code", url.Values{"csrf": {p.csrf(fc.t)}, "email": {email}, "code": {fc.env.Code(email)}})
	if p.StatusCode != http.StatusSeeOther || p.location() != "/admin/" {
		fc.t.Fatalf("sign-in step two: %d %s\n%s", p.StatusCode, p.location(), p.Body)
	}
	return p
}

// newSignedIn is an env with an admin signed in to the dashboard.
func newSignedIn(t *testing.T) (*testenv.Env, *formClient, string) {
	t.Helper()
	env := testenv.New(t, testenv.Config{})
	email := env.Email("admin")
	env.CreateAdmin(email)
	fc := newFormClient(t, env)
	fc.signIn(email, testenv.AdminPassword)
	return env, fc, email
}

// userID registers a user through the API and returns their id.
func userID(t *testing.T, env *testenv.Env, email string) uuid.UUID {
	t.Helper()
	token := env.RegisterUser(email)
	var me struct {
		User struct {
			ID uuid.UUID `json:"id"`
		} `json:"user"`
	}
	env.Do(http.MethodGet, "/api/v1/users/me", nil, token).Decode(t, &me)
	return me.User.ID
}

func regexpMust(expr string) *regexp.Regexp { return regexp.MustCompile(expr) }
