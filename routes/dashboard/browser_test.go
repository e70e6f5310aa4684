package dashboard_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/internal/modroot"
	"github.com/acme/accounts/internal/testenv"
)

// Variables of the browser tests.
const (
	// envChromium names the browser binary; else chromium is looked up on PATH.
	envChromium = "TEST_CHROMIUM"
	// envRequireBrowser=1 fails the browser tests when no browser is found
	// (CI), instead of skipping them.
	envRequireBrowser = "TEST_REQUIRE_BROWSER"
	// envScreenshots, when set, is the folder (relative to the module root)
	// the browser test writes a PNG of each page into, for the README.
	envScreenshots = "SCREENSHOTS_DIR"
)

// findBrowser returns the Chromium binary, or skips (fails when required).
func findBrowser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(envChromium); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (install Debian's chromium or set " + envChromium + ")"
	if os.Getenv(envRequireBrowser) == "1" {
		t.Fatal(msg + "; " + envRequireBrowser + "=1 requires the browser tests")
	}
	t.Skip(msg + "; set " + envRequireBrowser + "=1 to fail instead")
	return ""
}

// listen serves the env's app on a real loopback port and returns its URL.
func listen(t *testing.T, env *testenv.Env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = env.Fiber.Listener(ln)
	}()
	t.Cleanup(func() {
		_ = env.Fiber.ShutdownWithTimeout(5 * time.Second)
		<-done
	})
	return "http://" + ln.Addr().String()
}

// screenshots writes full-page PNGs when SCREENSHOTS_DIR is set.
type screenshots struct {
	t   *testing.T
	dir string
}

func newScreenshots(t *testing.T) screenshots {
	dir := os.Getenv(envScreenshots)
	if dir == "" {
		return screenshots{t: t}
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(moduleRoot(t), dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshots: %v", err)
	}
	return screenshots{t: t, dir: dir}
}

// take is an action that saves the page as name.png (no-op without a folder).
func (s screenshots) take(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if s.dir == "" {
			return nil
		}
		// Quality 100 makes FullScreenshot write PNG.
		png, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(s.dir, name+".png"), png, 0o644)
	})
}

// moduleRoot is the folder of go.mod above the package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := modroot.Dir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDashboardInBrowser drives the dashboard in headless Chromium through
// plain forms: sign in with the mailed code, search, deactivate and
// reactivate a user, erase one, create an admin, and read it all in the
// audit log.
func TestDashboardInBrowser(t *testing.T) {
	exe := findBrowser(t)
	env := testenv.New(t, testenv.Config{})
	base := listen(t, env)
	shots := newScreenshots(t)

	adminEmail := env.Email("admin")
	env.CreateAdmin(adminEmail)
	ann := env.Email("ann")
	annID := userID(t, env, ann).String()
	// Ann has products, so her page shows some.
	annToken := env.Login(ann, testenv.Password)
	for _, p := range []map[string]any{
		{"name": "Desk lamp", "description": "Brass, warm white", "price": 18900000},
		{"name": "Oak shelf", "price": 45000000},
	} {
		if r := env.Do(http.MethodPost, "/api/v1/products", p, annToken); r.Status != http.StatusCreated {
			t.Fatalf("add a product: %d %s", r.Status, r.Body)
		}
	}
	bob := env.Email("bob")
	bobID := userID(t, env, bob).String()
	for range 3 {
		userID(t, env, env.Email("cleo"))
	}
	// One inactive user from the start, so both groups show rows.
	inactive := userID(t, env, env.Email("dora")).String()
	off := false
	if _, err := env.App.SetUserActive(context.Background(), nil, inactive, app.SetUserActiveInput{Active: &off}); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // tests run as root
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 860),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	run := func(step string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	// submitted clicks a form's button and waits for the next page's marker.
	submitted := func(button, next string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.Click(chromedp.CSS(button)), chromedp.WaitVisible(chromedp.CSS(next)))
	}

	// Anything the page's CSP blocks would show up in the browser's log.
	run("start the browser")
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("enable the browser log: %v", err)
	}
	consoleCtx, stopConsole := context.WithCancel(ctx)
	var (
		violations []string
		consoleEnd = make(chan struct{})
	)
	messages := chromedp.Console(consoleCtx)
	go func() {
		defer close(consoleEnd)
		for m, err := range messages {
			if err != nil {
				return
			}
			if strings.Contains(m.Text, "Content Security Policy") {
				violations = append(violations, m.Text)
			}
		}
	}()

	run("open the dashboard",
		chromedp.Navigate(base+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		shots.take("01-sign-in"))
	run("password step",
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), adminEmail),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testenv.AdminPassword),
		submitted(`main button[type=submit]`, `input[name=code]`))
	// A wrong code first: the page says so and lets the admin try again.
	code := env.Code(adminEmail)
	wrong := code[:5] + string('0'+(code[5]-'0'+1)%10)
	run("wrong code",
		chromedp.SendKeys(chromedp.CSS(`input[name=code]`), wrong),
		submitted(`main button[type=submit]`, `div.alert`),
		shots.take("02-code-wrong"))
	if s := text("div.alert"); !strings.Contains(s, "wrong or has expired") {
		t.Fatalf("wrong code page says %q", s)
	}
	run("code step",
		chromedp.SendKeys(chromedp.CSS(`input[name=code]`), code),
		submitted(`main button[type=submit]`, `section.group`),
		shots.take("03-users"))
	if s := text("main"); !strings.Contains(s, "Active") || !strings.Contains(s, "Inactive") || !strings.Contains(s, ann) {
		t.Fatalf("users page: %q", s)
	}

	run("search",
		chromedp.SendKeys(chromedp.CSS(`input[name=q]`), "ann-"),
		// The Clear link shows only on a search's results.
		submitted(`form.search button`, `form.search a`),
		shots.take("04-search"))
	if s := text("main"); !strings.Contains(s, ann) || strings.Contains(s, bob) || !strings.Contains(s, "No inactive users match") {
		t.Fatalf("search for ann-: %q", s)
	}

	userPage := `a[href="/admin/users/` + annID + `"]`
	run("open the user", submitted(userPage, `dl.facts`), shots.take("05-user"))
	if s := text("main"); !strings.Contains(s, "Desk lamp") || !strings.Contains(s, "Oak shelf") {
		t.Fatalf("user page without the products: %q", s)
	}
	run("deactivate: confirmation",
		submitted(`a[href$="/deactivate"]`, `form[action$="/deactivate"] button`),
		shots.take("06-confirm-deactivate"))
	run("deactivate", submitted(`form[action$="/deactivate"] button`, `p.notice`))
	if s := text("main"); !strings.Contains(s, "has been deactivated") || !strings.Contains(s, "Inactive") {
		t.Fatalf("after deactivation: %q", s)
	}
	run("reactivate",
		submitted(`a[href$="/reactivate"]`, `form[action$="/reactivate"] button`),
		submitted(`form[action$="/reactivate"] button`, `p.notice`))
	if s := text("main"); !strings.Contains(s, "has been reactivated") {
		t.Fatalf("after reactivation: %q", s)
	}

	// The CSRF token is what makes a post count: the same session cookie
	// without it changes nothing.
	jar, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/admin/"}})
	if err != nil {
		t.Fatalf("read the cookies: %v", err)
	}
	cookies := jar.Cookies
	postWithoutToken(t, base, cookies, "/admin/users/"+annID+"/deactivate")
	if p, err := env.App.ShowUser(context.Background(), annID); err != nil || !p.User.Active {
		t.Fatalf("a post without CSRF token changed the user: %v %v", p, err)
	}

	run("erase bob",
		chromedp.Navigate(base+"/admin/users/"+bobID),
		chromedp.WaitVisible(chromedp.CSS(`dl.facts`)),
		submitted(`a[href$="/erase"]`, `form[action$="/erase"] button`),
		shots.take("07-confirm-erase"),
		submitted(`form[action$="/erase"] button`, `p.notice`))
	if s := text("main"); !strings.Contains(s, "has been erased") || strings.Contains(s, bob) {
		t.Fatalf("after erasure: %q", s)
	}

	newAdmin := env.Email("ops")
	run("create an admin",
		submitted(`nav a[href="/admin/admins/new"]`, `form[action="/admin/admins"]`),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Ops Person"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), newAdmin),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "another long password"),
		submitted(`main button[type=submit]`, `p.notice`),
		shots.take("08-new-admin"))

	run("audit log", submitted(`nav a[href="/admin/audit"]`, `table.audit`), shots.take("09-audit"))
	audit := text("table.audit")
	for _, action := range []string{"admin.signed_in", "user.deactivated", "user.reactivated", "user.erased", "admin.created"} {
		if !strings.Contains(audit, action) {
			t.Errorf("audit page lacks %s:\n%s", action, audit)
		}
	}
	run("audit filter",
		chromedp.SetValue(chromedp.CSS(`select[name=action]`), "user.erased"),
		submitted(`form.filters button`, `form.filters a`))
	if s := text("table.audit"); !strings.Contains(s, "user.erased") || strings.Contains(s, "admin.created") {
		t.Fatalf("audit filtered by user.erased: %q", s)
	}

	run("phone width",
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(base+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS(`section.group`)),
		shots.take("10-users-phone"),
		chromedp.EmulateViewport(1280, 860))

	run("sign out",
		chromedp.Click(chromedp.CSS(`form.signout button`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)))
	if s := text("main"); !strings.Contains(s, "You have signed out") {
		t.Fatalf("after sign out: %q", s)
	}
	// The old cookie is dead on the server too.
	resp := getWith(t, base+"/admin/", cookies)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/login?ended=1" {
		t.Fatalf("old session cookie after sign out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	stopConsole()
	<-consoleEnd
	if len(violations) > 0 {
		t.Errorf("the pages broke their own CSP: %v", violations)
	}
}

// TestDashboardCSPHeaderOverHTTP checks the header on the wire, as a browser
// receives it.
func TestDashboardCSPHeaderOverHTTP(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Config{})
	base := listen(t, env)
	resp := getWith(t, base+"/admin/login", nil)
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != http.StatusOK || !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("sign-in page: %d, CSP %q", resp.StatusCode, csp)
	}
}

// postWithoutToken posts the form with the browser's cookies but no CSRF
// token and expects 403.
func postWithoutToken(t *testing.T, base string, cookies []*network.Cookie, path string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base+path, strings.NewReader(url.Values{}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	addCookies(req, cookies)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("post without CSRF token: %d, want 403", resp.StatusCode)
	}
}

func getWith(t *testing.T, u string, cookies []*network.Cookie) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	addCookies(req, cookies)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func addCookies(req *http.Request, cookies []*network.Cookie) {
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
}

var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}
