package routes

import (
	"context"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/docs"
	"github.com/acme/accounts/models"
)

// opsHandlers serve health, readiness and the API's own description.
type opsHandlers struct {
	app      *app.App
	draining func() bool // nil: never
}

func (h opsHandlers) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz checks every dependency with a short deadline of its own, so a probe
// never hangs on a dead one.
func (h opsHandlers) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Second)
	defer cancel()
	if h.draining != nil && h.draining() {
		return models.Unavailable("server", errors.New("shutting down"))
	}
	if err := h.app.Ready(ctx); err != nil {
		if !errors.Is(err, models.ErrUnavailable) {
			err = models.Unavailable("dependency", err)
		}
		return err
	}
	return c.JSON(fiber.Map{"status": "ok", "checks": fiber.Map{"database": "ok", "redis": "ok", "storage": "ok"}})
}

func (h opsHandlers) openapi(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/yaml")
	return c.Send(docs.Spec())
}
