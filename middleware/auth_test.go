package middleware_test

import (
	"crypto/rand"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/acme/accounts/middleware"
	"github.com/acme/accounts/models"
)

// testSecret and otherSecret are drawn per run, not written down, like
// testenv.NewSecret (not imported here: it builds the whole server).
var testSecret, otherSecret = []byte(rand.Text() + rand.Text()), []byte(rand.Text() + rand.Text())

// sign makes an access token as the app does, with edit applied to its claims.
func sign(t testing.TB, secret []byte, edit func(*models.Claims)) string {
	t.Helper()
	now := time.Now()
	c := &models.Claims{
		Email: "ada@example.com", Role: models.RoleUser, SessionID: uuid.NewString(), Version: 3,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: uuid.NewString(), IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
		},
	}
	if edit != nil {
		edit(c)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// statusOf maps the errors the middleware returns as routes/errors.go does,
// so the tests see the statuses a client would.
func statusOf(_ *fiber.Ctx, err error) int {
	switch {
	case errors.Is(err, models.ErrUnauthorized):
		return fiber.StatusUnauthorized
	case errors.Is(err, models.ErrForbidden):
		return fiber.StatusForbidden
	}
	return fiber.StatusInternalServerError
}

// guardedApp answers 200 with the verified token's account id (or "none")
// behind handler.
func guardedApp(handler fiber.Handler) *fiber.App {
	f := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error { return c.SendStatus(statusOf(c, err)) }})
	f.Get("/", handler, func(c *fiber.Ctx) error {
		if t := middleware.CurrentToken(c); t != nil {
			return c.SendString(t.Owner.Role + " " + t.Owner.ID.String() + " " + t.SessionID.String() + " " + t.Email)
		}
		return c.SendString("none")
	})
	return f
}

func get(t *testing.T, f *fiber.App, token string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(fiber.MethodGet, "/", nil)
	if token != "" {
		req.Header.Set(fiber.HeaderAuthorization, "Bearer "+token)
	}
	resp, err := f.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := make([]byte, 512)
	n, _ := resp.Body.Read(body)
	return resp.StatusCode, string(body[:n])
}

func TestRequireTokenPutsTheVerifiedTokenOnTheContext(t *testing.T) {
	id, sid := uuid.New(), uuid.New()
	tok := sign(t, testSecret, func(c *models.Claims) { c.Subject, c.SessionID = id.String(), sid.String() })
	status, body := get(t, guardedApp(middleware.RequireToken(testSecret, models.RoleUser)), tok)
	if want := "user " + id.String() + " " + sid.String() + " ada@example.com"; status != 200 || body != want {
		t.Fatalf("got %d %q, want 200 %q", status, body, want)
	}
}

func TestRequireTokenRefuses(t *testing.T) {
	f := guardedApp(middleware.RequireToken(testSecret, models.RoleUser))
	cases := []struct {
		name  string
		token string
		want  int
	}{
		{"no token", "", 401},
		{"not a JWT", "not-a-token", 401},
		{"another secret", sign(t, otherSecret, nil), 401},
		{"expired", sign(t, testSecret, func(c *models.Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute)) }), 401},
		{"no session id", sign(t, testSecret, func(c *models.Claims) { c.SessionID = "" }), 401},
		{"subject not an id", sign(t, testSecret, func(c *models.Claims) { c.Subject = "admin" }), 401},
		{"no issue time", sign(t, testSecret, func(c *models.Claims) { c.IssuedAt = nil }), 401},
		{"admin token on a user route", sign(t, testSecret, func(c *models.Claims) { c.Role = models.RoleAdmin }), 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := get(t, f, tc.token); status != tc.want {
				t.Fatalf("status %d (%s), want %d", status, body, tc.want)
			}
		})
	}
}

func TestRequireTokenRefusesAnotherAlgorithm(t *testing.T) {
	c := &models.Claims{Role: models.RoleUser, SessionID: uuid.NewString(), RegisteredClaims: jwt.RegisteredClaims{
		Subject: uuid.NewString(), IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Minute)),
	}}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := get(t, guardedApp(middleware.RequireToken(testSecret, models.RoleUser)), none); status != 401 {
		t.Fatalf("an unsigned token got %d, want 401", status)
	}
}

func TestOptionalTokenPassesWithoutAHeaderButNotWithABadToken(t *testing.T) {
	f := guardedApp(middleware.OptionalToken(testSecret, models.RoleAdmin))
	if status, body := get(t, f, ""); status != 200 || body != "none" {
		t.Fatalf("no header: %d %q, want 200 none", status, body)
	}
	if status, _ := get(t, f, "garbage"); status != 401 {
		t.Fatalf("bad token: %d, want 401", status)
	}
	if status, _ := get(t, f, sign(t, testSecret, nil)); status != 403 {
		t.Fatalf("user token on an admin route: %d, want 403", status)
	}
	if status, body := get(t, f, sign(t, testSecret, func(c *models.Claims) { c.Role = models.RoleAdmin })); status != 200 || body == "none" {
		t.Fatalf("admin token: %d %q, want 200 with the token", status, body)
	}
}
