// Package dashboard is the administrators' web dashboard at /admin/: server
// rendered pages (html/template, embedded assets, no script needed) over the
// same app flows as the JSON admin API, with a cookie session bound to an
// admin session, a CSRF token on every form and a strict CSP on every page.
package dashboard

import (
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/middleware"
	"github.com/acme/accounts/models"
)

// Options are what the dashboard needs besides the app.
type Options struct {
	// RequireAdmin are the JSON admin routes' own checks (token, then the
	// account and session), run on the token the session cookie holds;
	// CurrentAdmin reads the admin they accepted.
	RequireAdmin []fiber.Handler
	CurrentAdmin func(*fiber.Ctx) *models.Admin
	// ErrorStatus is the JSON API's status for an error, so a page answers
	// what the API would; nil: 500 for every error.
	ErrorStatus func(error) int
	// Secret is JWT_SECRET: it verifies the session's access tokens and
	// keys the CSRF tokens.
	Secret []byte
	// Development drops the cookies' Secure flag (plain http on localhost).
	Development bool
	// Limiter is the per-address limit of the API's sign-in routes; the
	// dashboard's sign-in forms count on the same budget. Nil: no limit.
	Limiter middleware.Limiter
	// RequestTimeout bounds each request's context (default 15s).
	RequestTimeout time.Duration
	Log            *slog.Logger
}

// Mount serves the dashboard under /admin on f.
func Mount(f *fiber.App, a *app.App, o Options) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ErrorStatus == nil {
		o.ErrorStatus = func(error) int { return http.StatusInternalServerError }
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 15 * time.Second
	}
	h := &handlers{
		app:     a,
		admin:   o.CurrentAdmin,
		status:  o.ErrorStatus,
		log:     o.Log,
		pages:   mustParsePages(),
		cookies: cookies{secure: !o.Development},
		csrfKey: derive(o.Secret, "dashboard-csrf"),
	}
	limit := func(c *fiber.Ctx) error { return c.Next() }
	if o.Limiter != nil {
		limit = middleware.RateLimitPerIP(o.Limiter)
	}
	// The session's cookie is turned into the bearer token the API's own
	// admin check reads, so the dashboard accepts exactly what the JSON
	// admin routes accept: a live admin session of an active admin.
	requireAdmin := append([]fiber.Handler{h.session}, o.RequireAdmin...)
	signedIn := func(page fiber.Handler) []fiber.Handler { return append(slices.Clip(requireAdmin), page) }
	post := func(action fiber.Handler) []fiber.Handler {
		return append(slices.Clip(requireAdmin), h.checkCSRF, action)
	}

	g := f.Group("/admin", h.frame, middleware.Deadline(o.RequestTimeout))
	g.Get("/static/:name", serveStatic)
	g.Get("/login", h.loginForm)
	g.Post("/login", limit, h.checkLoginCSRF, h.login)
	g.Get("/login/code", h.codeForm)
	g.Post("/login/code", limit, h.checkLoginCSRF, h.verifyCode)
	g.Post("/logout", post(h.logout)...)
	g.Get("/", signedIn(h.users)...)
	g.Get("/users/:id", signedIn(h.user)...)
	g.Get("/users/:id/:action", signedIn(h.confirm)...)
	g.Post("/users/:id/:action", post(h.act)...)
	g.Get("/admins/new", signedIn(h.adminForm)...)
	g.Post("/admins", post(h.createAdmin)...)
	g.Get("/audit", signedIn(h.audit)...)
}

// handlers serve the dashboard's pages.
type handlers struct {
	app     *app.App
	admin   func(*fiber.Ctx) *models.Admin
	status  func(error) int
	log     *slog.Logger
	pages   pages
	cookies cookies
	csrfKey []byte
}
