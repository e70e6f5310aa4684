package middleware

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/models"
)

// Limiter counts requests per key (storage.RateLimiter).
type Limiter interface {
	Allow(ctx context.Context, key string) time.Duration
}

// RateLimitPerIP lets each client address (IPv6: each /64), as
// ClientAddress found it, through as often as l allows on the routes it
// guards (the ones that need no token: sign-up, sign-in, codes), so one
// client cannot grind through passwords or flood inboxes.
func RateLimitPerIP(l Limiter) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if wait := l.Allow(c.UserContext(), clientKey(c)); wait > 0 {
			return &models.RateLimitError{RetryAfter: wait}
		}
		return c.Next()
	}
}
