package routes

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/i18n"
	"github.com/acme/accounts/middleware"
)

// requestContext negotiates the request's language from Accept-Language and
// records it, with the client's address and user agent, on the context the
// flows receive: mails and notices are written from it.
func requestContext(cat *i18n.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := i18n.WithRequest(c.UserContext(), cat.Negotiate(c.Get(fiber.HeaderAcceptLanguage)))
		// Copied: Fiber reuses the request buffer once the handler returns,
		// and notices are sent after that.
		ctx = app.WithClient(ctx, middleware.ClientIP(c), strings.Clone(c.Get(fiber.HeaderUserAgent)))
		c.SetUserContext(ctx)
		return c.Next()
	}
}

// answerLocale is the language of an answer: the signed-in user's locale,
// else the request's Accept-Language, else DEFAULT_LOCALE.
func answerLocale(c *fiber.Ctx, cat *i18n.Catalog) string {
	acct := ""
	if u := currentUser(c); u != nil && u.Locale != nil {
		acct = *u.Locale
	}
	return cat.Pick(acct, i18n.FromRequest(c.UserContext()))
}

// text is a success message in the answer's language.
func (p presenter) text(c *fiber.Ctx, id string) string {
	cat := p.app.Catalog()
	return cat.T(answerLocale(c, cat), id, nil)
}
