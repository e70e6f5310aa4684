package routes

import (
	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/middleware"
	"github.com/acme/accounts/models"
)

// accountKey holds the account the app loaded for a verified token.
const accountKey = "account"

// accessToken is the verified token as the app's flows take it; ok is false
// when the request carried none.
func accessToken(c *fiber.Ctx) (app.AccessToken, bool) {
	t := middleware.CurrentToken(c)
	if t == nil {
		return app.AccessToken{}, false
	}
	return app.AccessToken{
		TokenSession: app.TokenSession{Owner: t.Owner, SessionID: t.SessionID},
		Email:        t.Email, Version: t.Version,
	}, true
}

// tokenSession is the verified token's session, for the app's flows.
func tokenSession(c *fiber.Ctx) (app.TokenSession, error) {
	t, ok := accessToken(c)
	if !ok {
		return app.TokenSession{}, models.ErrUnauthorized
	}
	return t.TokenSession, nil
}

// loadUser follows middleware.RequireToken on user routes: the app checks
// that the token's account and session still accept it and hands back the
// user, which the handler then reads with currentUser.
func loadUser(a *app.App) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t, ok := accessToken(c)
		if !ok {
			return models.ErrUnauthorized
		}
		u, err := a.UserForToken(c.UserContext(), t)
		if err != nil {
			return err
		}
		c.Locals(accountKey, u)
		return c.Next()
	}
}

// loadAdmin is loadUser for admin routes.
func loadAdmin(a *app.App) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t, ok := accessToken(c)
		if !ok {
			return models.ErrUnauthorized
		}
		ad, err := a.AdminForToken(c.UserContext(), t)
		if err != nil {
			return err
		}
		c.Locals(accountKey, ad)
		return c.Next()
	}
}

// currentUser is the user loadUser put on the context (nil elsewhere).
func currentUser(c *fiber.Ctx) *models.User {
	u, _ := c.Locals(accountKey).(*models.User)
	return u
}

// currentAdmin is the admin loadAdmin put on the context.
func currentAdmin(c *fiber.Ctx) *models.Admin {
	a, _ := c.Locals(accountKey).(*models.Admin)
	return a
}
