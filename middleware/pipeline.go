package middleware

import (
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/models"
)

// Deadline gives every request's context a deadline, so a hung dependency
// turns into a 503 instead of a request that never ends.
func Deadline(d time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), d)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}

// JSONBodyLimit rejects bodies over limit bytes. The server-wide limit must
// allow avatar uploads; every other route keeps this smaller one.
func JSONBodyLimit(limit int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if len(c.Request().Body()) > limit || c.Request().Header.ContentLength() > limit {
			return fmt.Errorf("body over %d bytes: %w", limit, models.ErrTooLarge)
		}
		return c.Next()
	}
}
