package dashboard

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/middleware"
	"github.com/acme/accounts/models"
)

// signInData fills the sign-in pages.
type signInData struct {
	Email string
	// Ended says a session ended (expired, signed out elsewhere, deactivated).
	Ended, SignedOut bool
}

func (h *handlers) loginForm(c *fiber.Ctx) error {
	d := signInData{Ended: c.Query("ended") != "", SignedOut: c.Query("signed_out") != ""}
	return h.render(c, http.StatusOK, "login", view{Title: "Sign in", CSRF: h.loginToken(c), Data: d})
}

// login is step one: the password, through the same flow as
// POST /api/v1/admin/auth/login (budgets, cooldown, audit).
func (h *handlers) login(c *fiber.Ctx) error {
	in := app.LoginInput{Email: strings.Clone(c.FormValue("email")), Password: strings.Clone(c.FormValue("password"))}
	if _, err := h.app.AdminLogin(c.UserContext(), in); err != nil {
		return h.formError(c, "login", "Sign in", h.loginToken(c), err, signInData{Email: in.Email})
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	return c.Redirect("/admin/login/code?email="+url.QueryEscape(email), http.StatusSeeOther)
}

func (h *handlers) codeForm(c *fiber.Ctx) error {
	email := strings.Clone(c.Query("email"))
	if email == "" {
		return c.Redirect("/admin/login", http.StatusSeeOther)
	}
	return h.render(c, http.StatusOK, "code", view{Title: "Enter your code", CSRF: h.loginToken(c), Data: signInData{Email: email}})
}

// verifyCode is step two, the mailed code, as POST
// /api/v1/admin/auth/login/verify; the session it starts goes in the cookie.
func (h *handlers) verifyCode(c *fiber.Ctx) error {
	in := app.VerifyInput{Email: strings.Clone(c.FormValue("email")), Code: strings.TrimSpace(strings.Clone(c.FormValue("code")))}
	client := app.Client{IP: middleware.ClientIP(c), UserAgent: strings.Clone(c.Get(fiber.HeaderUserAgent))}
	s, err := h.app.VerifyAdminLogin(c.UserContext(), in, client)
	if err != nil {
		return h.formError(c, "code", "Enter your code", h.loginToken(c), err, signInData{Email: in.Email})
	}
	h.cookies.start(c, s)
	h.cookies.set(c, loginCookie, "", -1)
	return c.Redirect("/admin/", http.StatusSeeOther)
}

// logout ends the dashboard's admin session, as POST /api/v1/admin/auth/logout.
func (h *handlers) logout(c *fiber.Ctx) error {
	var by app.TokenSession
	if t := middleware.CurrentToken(c); t != nil {
		by = app.TokenSession{Owner: t.Owner, SessionID: t.SessionID}
	}
	err := h.app.Logout(c.UserContext(), models.RoleAdmin, &by, app.LogoutInput{Scope: app.ScopeLocal})
	// The cookie goes whatever happened: a dead session is of no use either.
	h.cookies.end(c)
	if err != nil {
		return err
	}
	return c.Redirect("/admin/login?signed_out=1", http.StatusSeeOther)
}

// formError shows a form again with what went wrong. Errors that are no
// fault of the form (outages, bugs) get the error page instead.
func (h *handlers) formError(c *fiber.Ctx, page, title, csrf string, err error, data any) error {
	p := h.describe(err)
	if p.Status >= 500 {
		return err
	}
	if p.retry > 0 {
		c.Set(fiber.HeaderRetryAfter, retryAfter(p.retry))
	}
	return h.render(c, p.Status, page, view{Title: title, CSRF: csrf, Admin: h.admin(c), Problem: &p, Data: data})
}
