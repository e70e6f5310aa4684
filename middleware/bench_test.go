package middleware_test

import (
	"net"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/acme/accounts/middleware"
	"github.com/acme/accounts/models"
)

// serveLoop runs one GET through handler per iteration on a reused context
// and fails on any status other than want.
func serveLoop(b *testing.B, handler fasthttp.RequestHandler, token string, want int) {
	b.Helper()
	var req fasthttp.Request
	req.Header.SetMethod(fasthttp.MethodGet)
	req.SetRequestURI("/")
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

// BenchmarkRequireToken is the token check every signed-in request pays
// before the app loads its account.
func BenchmarkRequireToken(b *testing.B) {
	f := guardedApp(middleware.RequireToken(testSecret, models.RoleUser))
	serveLoop(b, f.Handler(), sign(b, testSecret, nil), fiber.StatusOK)
}

// BenchmarkRequireTokenBadSignature is a token signed with another secret,
// refused before anything else runs.
func BenchmarkRequireTokenBadSignature(b *testing.B) {
	f := guardedApp(middleware.RequireToken(testSecret, models.RoleUser))
	serveLoop(b, f.Handler(), sign(b, otherSecret, nil), fiber.StatusUnauthorized)
}
