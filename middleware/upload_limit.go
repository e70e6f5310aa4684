package middleware

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"

	"github.com/acme/accounts/models"
)

// RateLimitPerUser allows limit requests per signed-in user per window on
// the routes it guards (avatar uploads: each one decodes an image, the
// costliest work a user can ask for). It runs after the token check and
// counts in this instance's memory: the limit bounds the work one instance
// does, which is what it protects.
func RateLimitPerUser(limit int, window time.Duration) fiber.Handler {
	return limiter.New(limiter.Config{
		Max:        limit,
		Expiration: window,
		KeyGenerator: func(c *fiber.Ctx) string {
			if u := CurrentUser(c); u != nil {
				return u.ID.String()
			}
			return ""
		},
		LimitReached: func(c *fiber.Ctx) error {
			secs, _ := strconv.Atoi(string(c.Response().Header.Peek(fiber.HeaderRetryAfter)))
			return &models.RateLimitError{RetryAfter: time.Duration(max(secs, 1)) * time.Second}
		},
	})
}
