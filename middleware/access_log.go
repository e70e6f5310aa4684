package middleware

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
)

// AccessLog writes one line per request: id, method, route, status and
// duration. It runs outside Metrics, which has already answered any error,
// so the status is the one the client got. The route is the pattern, not
// the path, so no user id or query string reaches the log.
func AccessLog(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		reqID, _ := c.Locals("requestid").(string)
		log.LogAttrs(c.UserContext(), slog.LevelInfo, "request",
			slog.String("request_id", reqID),
			slog.String("method", c.Route().Method),
			slog.String("route", c.Route().Path),
			slog.Int("status", c.Response().StatusCode()),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		)
		return err
	}
}
