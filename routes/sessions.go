package routes

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/middleware"
	"github.com/acme/accounts/models"
)

// refreshCookie is the name of the browser's refresh token cookie.
const refreshCookie = "refresh_token"

// cookiePaths scope the refresh cookie to the routes that read it, so it
// travels with no other request, and a user's cookie never reaches the
// admin routes (nor an admin's the user routes).
var cookiePaths = map[string]string{
	models.RoleUser:  "/api/v1/auth",
	models.RoleAdmin: "/api/v1/admin/auth",
}

// refreshCookies hands browsers the refresh token as an HttpOnly cookie
// (REFRESH_COOKIE=true), where page scripts cannot read it.
type refreshCookies struct {
	enabled bool
	secure  bool // false only in development, where http://localhost is usual
}

// set stores the session's refresh token in the cookie, living as long as
// the session may without a refresh.
func (rc refreshCookies) set(c *fiber.Ctx, s *app.Session) {
	if !rc.enabled || s == nil {
		return
	}
	role := models.RoleUser
	if s.Admin != nil {
		role = models.RoleAdmin
	}
	c.Cookie(&fiber.Cookie{
		Name:     refreshCookie,
		Value:    s.RefreshToken,
		Path:     cookiePaths[role],
		MaxAge:   int(s.RefreshExpiresIn / time.Second),
		Expires:  time.Now().Add(s.RefreshExpiresIn),
		Secure:   rc.secure,
		HTTPOnly: true,
		SameSite: fiber.CookieSameSiteStrictMode,
	})
}

// clear tells the browser to drop the cookie.
func (rc refreshCookies) clear(c *fiber.Ctx, role string) {
	if !rc.enabled {
		return
	}
	c.Cookie(&fiber.Cookie{
		Name:     refreshCookie,
		Value:    "",
		Path:     cookiePaths[role],
		MaxAge:   -1,
		Expires:  time.Unix(0, 0),
		Secure:   rc.secure,
		HTTPOnly: true,
		SameSite: fiber.CookieSameSiteStrictMode,
	})
}

// token is the refresh token of the body, else of the cookie (when enabled).
func (rc refreshCookies) token(c *fiber.Ctx, fromBody string) string {
	if strings.TrimSpace(fromBody) != "" || !rc.enabled {
		return fromBody
	}
	return strings.Clone(c.Cookies(refreshCookie))
}

// sessionHandlers serve refresh, logout and the session list.
type sessionHandlers struct {
	app *app.App
	presenter
	cookies refreshCookies
}

type sessionJSON struct {
	ID         uuid.UUID `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

type sessionListJSON struct {
	Items []sessionJSON `json:"items"`
}

// refresh serves POST /auth/token/refresh and /admin/auth/token/refresh.
func (h sessionHandlers) refresh(role string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var in app.RefreshInput
		if err := bindOptionalJSON(c, &in); err != nil {
			return err
		}
		in.RefreshToken = h.cookies.token(c, in.RefreshToken)
		s, err := h.app.Refresh(c.UserContext(), role, in)
		if err != nil {
			return err
		}
		return h.tokenBody(c, s)
	}
}

// tokenBody answers a token body (and, for browsers, sets the cookie).
func (h sessionHandlers) tokenBody(c *fiber.Ctx, s *app.Session) error {
	h.cookies.set(c, s)
	// Tokens must not be kept by any cache between the API and the client.
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(h.session(s))
}

// logout serves POST /auth/logout and /admin/auth/logout: the session is
// the access token's when one came, else the refresh token's.
func (h sessionHandlers) logout(role string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var in app.LogoutInput
		if err := bindOptionalJSON(c, &in); err != nil {
			return err
		}
		var by *app.TokenSession
		if t, ok := accessToken(c); ok {
			by = &t.TokenSession
		} else {
			in.RefreshToken = h.cookies.token(c, in.RefreshToken)
		}
		err := h.app.Logout(c.UserContext(), role, by, in)
		// The cookie is dropped whatever happened to the session: a
		// browser holding a dead one has no use for it either.
		h.cookies.clear(c, role)
		if err != nil {
			return err
		}
		return c.JSON(messageJSON{"signed out"})
	}
}

func (h sessionHandlers) list(c *fiber.Ctx) error {
	by, err := tokenSession(c)
	if err != nil {
		return err
	}
	items, err := h.app.ListSessions(c.UserContext(), by)
	if err != nil {
		return err
	}
	out := sessionListJSON{Items: make([]sessionJSON, len(items))}
	for i, s := range items {
		out.Items[i] = sessionJSON{
			ID: s.ID, CreatedAt: s.CreatedAt.UTC(), LastUsedAt: s.LastUsedAt.UTC(), IP: s.IP, UserAgent: s.UserAgent, Current: s.Current,
		}
	}
	return c.JSON(out)
}

func (h sessionHandlers) delete(c *fiber.Ctx) error {
	by, err := tokenSession(c)
	if err != nil {
		return err
	}
	if err := h.app.EndSession(c.UserContext(), by, strings.Clone(c.Params("id"))); err != nil {
		return err
	}
	return c.JSON(messageJSON{"the session has been ended"})
}

// client is where the request comes from, kept with a new session.
func client(c *fiber.Ctx) app.Client {
	return app.Client{IP: middleware.ClientIP(c), UserAgent: strings.Clone(c.Get(fiber.HeaderUserAgent))}
}
