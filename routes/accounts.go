package routes

import (
	"context"

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

// loadAccount follows middleware.RequireToken: the app checks that the
// token's account and session still accept it (load is app.UserForToken or
// app.AdminForToken) and the account goes on the context for currentUser or
// currentAdmin.
func loadAccount[T any](load func(context.Context, app.AccessToken) (T, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t, ok := accessToken(c)
		if !ok {
			return models.ErrUnauthorized
		}
		account, err := load(c.UserContext(), t)
		if err != nil {
			return err
		}
		c.Locals(accountKey, account)
		return c.Next()
	}
}

// currentUser is the user loadAccount put on the context (nil elsewhere).
func currentUser(c *fiber.Ctx) *models.User {
	u, _ := c.Locals(accountKey).(*models.User)
	return u
}

// currentAdmin is the admin loadAccount put on the context.
func currentAdmin(c *fiber.Ctx) *models.Admin {
	a, _ := c.Locals(accountKey).(*models.Admin)
	return a
}
