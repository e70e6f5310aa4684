package middleware

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// TestAccessLogOneLinePerRequest: one line per request with the route
// pattern and the status the client got, and nothing of the raw path or
// query (ids, tokens in links).
func TestAccessLogOneLinePerRequest(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	app := fiber.New()
	app.Use(AccessLog(log))
	app.Get("/things/:id", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusCreated) })
	resp, err := app.Test(httptest.NewRequest("GET", "/things/0193-secret-id?token=abc", nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	line := buf.String()
	if strings.Count(line, "\n") != 1 || !strings.Contains(line, "route=/things/:id") || !strings.Contains(line, "status=201") ||
		!strings.Contains(line, "method=GET") || !strings.Contains(line, "duration_ms=") {
		t.Fatalf("access log line: %q", line)
	}
	if strings.Contains(line, "secret-id") || strings.Contains(line, "abc") {
		t.Fatalf("the raw path or query reached the log: %q", line)
	}
}
