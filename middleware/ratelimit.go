package middleware

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"

	"github.com/acme/accounts/models"
)

// RateLimitPerIP allows limit requests per client address per window on the
// routes it guards (the ones that need no token: sign-up, sign-in, codes),
// so one client cannot grind through passwords or flood inboxes. Counters
// live in store (Redis, shared by replicas) or in memory when store is nil.
func RateLimitPerIP(limit int, window time.Duration, store fiber.Storage, prefix string) fiber.Handler {
	return limiter.New(limiter.Config{
		Max:        limit,
		Expiration: window,
		Storage:    store,
		KeyGenerator: func(c *fiber.Ctx) string {
			return prefix + "ratelimit:" + c.IP()
		},
		LimitReached: func(c *fiber.Ctx) error {
			secs, _ := strconv.Atoi(string(c.Response().Header.Peek(fiber.HeaderRetryAfter)))
			return &models.RateLimitError{RetryAfter: time.Duration(max(secs, 1)) * time.Second}
		},
	})
}
