package middleware

import (
	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/models"
)

// RateLimitPerUser lets each signed-in user through as often as l allows on
// the routes it guards (avatar uploads: each decodes an image, the costliest
// work a user can ask for). It runs after RequireToken and counts by the
// token's account.
func RateLimitPerUser(l Limiter) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t := CurrentToken(c)
		if t == nil {
			return c.Next()
		}
		if wait := l.Allow(c.UserContext(), t.Owner.ID.String()); wait > 0 {
			return &models.RateLimitError{RetryAfter: wait}
		}
		return c.Next()
	}
}
