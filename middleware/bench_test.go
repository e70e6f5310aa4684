package middleware_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"
	"github.com/valyala/fasthttp"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/middleware"
	"github.com/acme/accounts/models"
)

// serveLoop runs one GET through handler per iteration on a reused context
// and fails on any status other than want.
func serveLoop(b *testing.B, handler fasthttp.RequestHandler, token string, want int) {
	b.Helper()
	var req fasthttp.Request
	req.Header.SetMethod(fasthttp.MethodGet)
	req.SetRequestURI("/me")
	req.Header.Set(fasthttp.HeaderAuthorization, "Bearer "+token)
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	b.ReportAllocs()
	for b.Loop() {
		ctx.ResetUserValues() // Fiber keeps per-request state there
		ctx.Response.Reset()
		handler(&ctx)
		if code := ctx.Response.StatusCode(); code != want {
			b.Fatalf("status %d, want %d: %s", code, want, ctx.Response.Body())
		}
	}
}

// guarded is a Fiber app whose one route sits behind RequireUser, answering
// 204 so only the middleware's work is measured.
func guarded(secret []byte, db bun.IDB) fasthttp.RequestHandler {
	f := fiber.New(fiber.Config{
		ErrorHandler: func(c *fiber.Ctx, err error) error { return c.SendStatus(fiber.StatusUnauthorized) },
	})
	f.Get("/me", middleware.RequireUser(secret, db, time.Now), func(c *fiber.Ctx) error {
		if middleware.CurrentUser(c) == nil {
			return fiber.ErrInternalServerError
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
	return f.Handler()
}

func benchAccount(b *testing.B, e *testenv.Env) string {
	b.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := &models.User{
		ID: models.NewID(), Email: e.Email("bench"), PasswordHash: "unused", FirstName: "Bench", LastName: "User",
		Active: true, TokenVersion: 1, CreatedAt: now, UpdatedAt: now,
	}
	if err := models.InsertUser(context.Background(), e.DB, u); err != nil {
		b.Fatalf("insert user: %v", err)
	}
	return e.SignToken(b, u.Email, models.RoleUser, 1, time.Hour)
}

// BenchmarkRequireUser is the token check plus the account load every
// signed-in request pays before its handler runs.
func BenchmarkRequireUser(b *testing.B) {
	e := testenv.New(b, testenv.Config{})
	serveLoop(b, guarded(e.Secret, e.DB), benchAccount(b, e), fiber.StatusNoContent)
}

// BenchmarkRequireUserBadSignature is the token check alone: a token signed
// with another secret is refused before any database work.
func BenchmarkRequireUserBadSignature(b *testing.B) {
	e := testenv.New(b, testenv.Config{})
	token := benchAccount(b, e)
	other := []byte("another-secret-another-secret-another-secret")
	serveLoop(b, guarded(other, e.DB), token, fiber.StatusUnauthorized)
}
