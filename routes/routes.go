// Package routes is the HTTP face of the API: the route table, thin handlers
// and the one mapping from errors to status codes (errors.go).
package routes

import (
	"log/slog"
	"strings"
	"time"

	"github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/pprof"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/gofiber/fiber/v2/middleware/skip"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/docs"
	"github.com/acme/accounts/middleware"
	"github.com/acme/accounts/models"
	"github.com/acme/accounts/routes/dashboard"
)

// Request size limits. JSONBodyLimit is the largest body any route but the
// avatar upload accepts. The read buffer bounds the request line plus
// headers (past it: 431); a target over MaxURILength that still fits is 414.
const (
	JSONBodyLimit  = 1 << 20
	ReadBufferSize = 16 << 10
	MaxURILength   = 8 << 10
)

// avatarPath is the one route that takes a body larger than JSONBodyLimit.
const avatarPath = "/api/v1/users/me/avatar"

// Options are what the HTTP layer needs besides the app.
type Options struct {
	JWTSecret      []byte
	Metrics        *middleware.Metrics
	Log            *slog.Logger
	CORSOrigins    []string
	AvatarMaxBytes int64
	// Uploads, when avatars live on local disk, are served under /uploads.
	Uploads        LocalUploads
	RequestTimeout time.Duration // default 15s
	EnablePprof    bool
	// AuthLimiter counts the requests of each client address to the routes
	// that need no token (AUTH_RATE_LIMIT); nil turns the limit off.
	AuthLimiter middleware.Limiter
	// ProxyHeader names the header with the client address, believed only
	// from TrustedProxies (addresses or CIDRs); empty: the TCP peer counts.
	ProxyHeader    string
	TrustedProxies []string
	// RefreshCookie also hands browsers the refresh token as an HttpOnly,
	// SameSite=Strict cookie, read back by refresh and logout.
	RefreshCookie bool
	// Development drops the cookie's Secure flag (plain http on localhost).
	Development bool
	// ServeMetrics serves /metrics on this listener (development; production
	// serves it only on METRICS_ADDR).
	ServeMetrics bool
	// Tracer, when set, starts a span per request (OTEL_EXPORTER_OTLP_ENDPOINT).
	Tracer     trace.TracerProvider
	Propagator propagation.TextMapPropagator
	// AccessLog writes one log line per request (ACCESS_LOG).
	AccessLog bool
	// Draining reports that the server is shutting down: /readyz answers
	// 503 so load balancers stop sending new requests before it stops.
	Draining func() bool
	// AvatarLimiter counts each user's avatar uploads (AVATAR_RATE_LIMIT
	// per hour); nil turns the limit off.
	AvatarLimiter middleware.Limiter
}

// New builds the Fiber app with every route.
func New(a *app.App, o Options) *fiber.App {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = middleware.NewMetrics()
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 15 * time.Second
	}
	// The avatar's limit: the file plus its multipart framing.
	avatarLimit := max(int(o.AvatarMaxBytes)+64<<10, JSONBodyLimit)
	f := fiber.New(fiber.Config{
		AppName: "accounts",
		// Bodies are streamed: the server reads none of a body before routing,
		// and LimitBody below reads each one only as far as its route allows.
		// Without this the server would buffer every body up to the avatar's
		// limit before knowing the route.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		BodyLimit:                    JSONBodyLimit,
		ReadBufferSize:               ReadBufferSize,
		ErrorHandler:                 errorHandler(o.Log, a.Catalog()),
		// goccy/go-json encodes the same output as encoding/json with far
		// fewer allocations; encoding is a visible share of GET /users/me.
		JSONEncoder:           json.Marshal,
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           120 * time.Second,
		// The client address comes from middleware.ClientAddress, which
		// reads PROXY_HEADER from the right; c.IP() stays the TCP peer.
	})

	f.Use(requestid.New())
	if o.Tracer != nil {
		f.Use(middleware.Trace(o.Tracer, o.Propagator))
	}
	if o.AccessLog {
		f.Use(middleware.AccessLog(o.Log))
	}
	f.Use(middleware.ClientAddress(o.ProxyHeader, o.TrustedProxies))
	// Metrics answer errors themselves so they count the real status; a
	// panic recovered inside them is counted as the 500 it becomes.
	f.Use(o.Metrics.Middleware())
	f.Use(recover.New())
	f.Use(middleware.SecurityHeaders())
	f.Use(middleware.LimitURI(MaxURILength))
	jsonBody := middleware.LimitBody(JSONBodyLimit)
	f.Use(skip.New(jsonBody, func(c *fiber.Ctx) bool { return c.Method() == fiber.MethodPut && c.Path() == avatarPath }))
	f.Use(requestContext(a.Catalog()))
	if len(o.CORSOrigins) > 0 {
		f.Use(cors.New(cors.Config{
			AllowOrigins: strings.Join(o.CORSOrigins, ","),
			AllowHeaders: "Authorization, Content-Type",
			AllowMethods: "GET, POST, PUT, PATCH, DELETE, OPTIONS",
			// A browser hides every response header CORS does not list;
			// without this a cross-origin app never sees how long a 429
			// asks it to wait.
			ExposeHeaders: "Retry-After",
			// The refresh cookie only travels on credentialed requests;
			// config refuses a wildcard origin in that mode.
			AllowCredentials: o.RefreshCookie,
			MaxAge:           600,
		}))
	}
	if o.EnablePprof {
		f.Use(pprof.New())
	}

	p := presenter{app: a}
	ops := opsHandlers{app: a, draining: o.Draining}
	sessions := sessionHandlers{app: a, presenter: p, cookies: refreshCookies{enabled: o.RefreshCookie, secure: !o.Development}}
	auth := authHandlers{app: a, presenter: p, sessions: sessions}
	users := userHandlers{app: a, presenter: p, sessions: sessions, avatarLimit: avatarLimit}
	// Middleware verifies the token; the app then checks that its account
	// and session still accept it (loadAccount, or the flow itself).
	userToken := middleware.RequireToken(o.JWTSecret, models.RoleUser)
	asUser := loadAccount(a.UserForToken)

	f.Get("/healthz", ops.healthz)
	f.Get("/readyz", ops.readyz)
	if o.ServeMetrics {
		f.Get("/metrics", o.Metrics.Handler())
	}
	f.Get("/openapi.yaml", ops.openapi)
	docsUI := adaptor.HTTPHandler(docs.UIHandler("Accounts API", "/openapi.yaml", "/docs"))
	f.Get("/docs", docsUI)
	f.Get("/docs/*", docsUI)

	api := f.Group("/api/v1", middleware.Deadline(o.RequestTimeout))

	if o.AuthLimiter != nil {
		// One budget per client address over every route without a token.
		limit := middleware.RateLimitPerIP(o.AuthLimiter)
		api.Use("/auth", limit)
		api.Use("/admin/auth", limit)
	}
	api.Post("/auth/register", auth.register)
	api.Post("/auth/register/verify", auth.verifyRegistration)
	api.Post("/auth/login", auth.login)
	api.Post("/auth/login/verify", auth.verifyLogin)
	api.Post("/auth/password/forgot", auth.forgotPassword)
	api.Post("/auth/password/verify", auth.verifyPasswordCode)
	api.Post("/auth/password/reset", auth.resetPassword)
	api.Post("/auth/code/resend", auth.resendCode)
	api.Post("/auth/token/refresh", sessions.refresh(models.RoleUser))
	api.Post("/auth/logout", middleware.OptionalToken(o.JWTSecret, models.RoleUser), sessions.logout(models.RoleUser))
	api.Post("/auth/reactivate", auth.reactivate)
	api.Post("/auth/reactivate/verify", auth.verifyReactivation)

	// The signed-in user and their products (role user).
	// Routes that take JSON keep the 1 MiB limit; the avatar upload has its
	// own, sized for AvatarMaxBytes, and a per-user limit on top.
	products := productHandlers{app: a, presenter: p}
	api.Get("/users/me", userToken, users.me)
	api.Patch("/users/me", userToken, asUser, users.updateMe)
	api.Delete("/users/me", userToken, asUser, users.deleteMe)
	api.Put("/users/me/password", userToken, asUser, users.changePassword)
	// The body is read last: a stranger, or a user past their upload limit,
	// is answered before any of a 5 MiB body is read. The handler then reads
	// the body itself as it arrives, so an upload is held once rather than
	// buffered whole first; CheckBody refuses what LimitBody would up front.
	avatarUpload := []fiber.Handler{userToken, asUser}
	if o.AvatarLimiter != nil {
		avatarUpload = append(avatarUpload, middleware.RateLimitPerUser(o.AvatarLimiter))
	}
	api.Put("/users/me/avatar", append(avatarUpload, middleware.CheckBody(avatarLimit), users.putAvatar)...)
	api.Delete("/users/me/avatar", userToken, asUser, users.deleteAvatar)
	api.Get("/users/me/sessions", userToken, asUser, sessions.list)
	api.Delete("/users/me/sessions/:id", userToken, asUser, sessions.delete)
	api.Get("/products", userToken, asUser, products.list)
	api.Post("/products", userToken, asUser, products.create)
	api.Get("/products/:id", userToken, asUser, products.get)
	api.Patch("/products/:id", userToken, asUser, products.update)
	api.Delete("/products/:id", userToken, asUser, products.delete)
	if o.Uploads != nil {
		f.Get("/uploads/*", uploadsHandler(o.Uploads))
	}

	// Admin (role admin).
	admin := adminHandlers{app: a, presenter: p, sessions: sessions}
	adminToken := middleware.RequireToken(o.JWTSecret, models.RoleAdmin)
	asAdmin := loadAccount(a.AdminForToken)
	api.Post("/admin/auth/login", admin.login)
	api.Post("/admin/auth/login/verify", admin.verifyLogin)
	api.Post("/admin/auth/token/refresh", sessions.refresh(models.RoleAdmin))
	api.Post("/admin/auth/logout", middleware.OptionalToken(o.JWTSecret, models.RoleAdmin), sessions.logout(models.RoleAdmin))
	api.Post("/admin/admins", adminToken, asAdmin, admin.createAdmin)
	api.Get("/admin/users", adminToken, asAdmin, admin.listUsers)
	api.Get("/admin/users/:id", adminToken, asAdmin, admin.showUser)
	api.Patch("/admin/users/:id", adminToken, asAdmin, admin.updateUser)
	api.Delete("/admin/users/:id", adminToken, asAdmin, admin.eraseUser)
	api.Get("/admin/audit", adminToken, asAdmin, admin.audit)
	// The dashboard accepts exactly what the JSON admin routes accept.
	dashboard.Mount(f, a, dashboard.Options{
		RequireAdmin: []fiber.Handler{adminToken, asAdmin}, CurrentAdmin: currentAdmin,
		ErrorStatus: func(err error) int { return toAPIError(err).status }, Secret: o.JWTSecret, Development: o.Development, Limiter: o.AuthLimiter, RequestTimeout: o.RequestTimeout, Log: o.Log})

	return f
}
