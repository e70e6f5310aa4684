package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/middleware"
	"github.com/acme/accounts/models"
)

// Cookie names. Both are scoped to /admin, so they never travel to the API.
const (
	sessionCookie = "dashboard_session"
	// loginCookie is a random value the sign-in forms' CSRF token is bound
	// to, before there is a session to bind it to.
	loginCookie = "dashboard_login"
	cookiePath  = "/admin"
	csrfField   = "csrf"
)

// refreshAhead renews the access token this long before it expires, so a
// page never fails half way for a token that ran out between two checks.
const refreshAhead = 30 * time.Second

// errNoSession is a page asked for without a dashboard session.
var errNoSession = fmt.Errorf("no dashboard session: %w", models.ErrUnauthorized)

// errCSRF is a form posted without its token or with a wrong one.
var errCSRF = errors.New("missing or wrong CSRF token")

// cookies writes the dashboard's cookies: HttpOnly so page scripts cannot
// read them, SameSite=Strict so no other site's page sends them along.
type cookies struct {
	secure bool // false only in development, where http://localhost is usual
}

func (k cookies) set(c *fiber.Ctx, name, value string, life time.Duration) {
	ck := &fiber.Cookie{
		Name: name, Value: value, Path: cookiePath,
		Secure: k.secure, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
	}
	if life < 0 {
		ck.MaxAge, ck.Expires = -1, time.Unix(0, 0)
	} else {
		ck.MaxAge, ck.Expires = int(life/time.Second), time.Now().Add(life)
	}
	c.Cookie(ck)
}

// start stores a new admin session in the cookie: the refresh token and the
// current access token. The cookie lives as long as the session may idle.
func (k cookies) start(c *fiber.Ctx, s *app.Session) {
	k.set(c, sessionCookie, s.RefreshToken+"~"+s.Token, s.RefreshExpiresIn)
}

func (k cookies) end(c *fiber.Ctx) { k.set(c, sessionCookie, "", -1) }

// session reads the session cookie and hands its access token on to the API's
// admin check (middleware.RequireAdmin), refreshing it first when it is about
// to expire. Any Authorization header the browser sent is replaced: only the
// cookie opens the dashboard.
func (h *handlers) session(c *fiber.Ctx) error {
	c.Request().Header.Del(fiber.HeaderAuthorization)
	refresh, access, ok := strings.Cut(c.Cookies(sessionCookie), "~")
	if !ok || refresh == "" || access == "" {
		return errNoSession
	}
	refresh, access = strings.Clone(refresh), strings.Clone(access)
	if h.expiresSoon(access) {
		s, err := h.app.Refresh(c.UserContext(), models.RoleAdmin, app.RefreshInput{RefreshToken: refresh})
		if err != nil {
			return fmt.Errorf("dashboard refresh: %w", err)
		}
		h.cookies.start(c, s)
		access = s.Token
	}
	c.Request().Header.Set(fiber.HeaderAuthorization, "Bearer "+access)
	return c.Next()
}

// expiresSoon reads the access token's expiry without checking it: this only
// decides whether to refresh first; RequireAdmin verifies the token.
func (h *handlers) expiresSoon(access string) bool {
	var claims models.Claims
	if _, _, err := jwt.NewParser().ParseUnverified(access, &claims); err != nil || claims.ExpiresAt == nil {
		return true
	}
	return claims.ExpiresAt.Time.Sub(h.app.Now()) < refreshAhead
}

// csrfToken is the form token of the signed-in admin's session: an HMAC of
// the session id, so it needs no storage, changes with every session and
// dies with it.
func (h *handlers) csrfToken(c *fiber.Ctx) string {
	t := middleware.CurrentToken(c)
	if t == nil {
		return ""
	}
	return h.mac("session:" + t.SessionID.String())
}

// checkCSRF refuses a signed-in form post whose token is not its session's.
func (h *handlers) checkCSRF(c *fiber.Ctx) error {
	want := h.csrfToken(c)
	if want == "" || !h.equal(c.FormValue(csrfField), want) {
		return errCSRF
	}
	return c.Next()
}

// loginToken is the sign-in forms' token, bound to the browser's login
// cookie (set here when missing), so a foreign page cannot post a sign-in
// into this browser.
func (h *handlers) loginToken(c *fiber.Ctx) string {
	v := c.Cookies(loginCookie)
	if len(v) < 32 {
		var b [32]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		v = base64.RawURLEncoding.EncodeToString(b[:])
		// A browser session's worth: long enough to fetch and type a code.
		h.cookies.set(c, loginCookie, v, 24*time.Hour)
	}
	return h.mac("login:" + v)
}

func (h *handlers) checkLoginCSRF(c *fiber.Ctx) error {
	v := c.Cookies(loginCookie)
	if len(v) < 32 || !h.equal(c.FormValue(csrfField), h.mac("login:"+v)) {
		return errCSRF
	}
	return c.Next()
}

func (h *handlers) mac(s string) string {
	m := hmac.New(sha256.New, h.csrfKey)
	m.Write([]byte(s))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// equal compares in constant time: a token must not be learnt byte by byte.
func (h *handlers) equal(got, want string) bool {
	return hmac.Equal([]byte(got), []byte(want))
}

// derive gives the dashboard a key of its own from the configured secret.
func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}
