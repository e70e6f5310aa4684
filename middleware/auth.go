// Package middleware holds the request pipeline pieces: token verification,
// request ids, deadlines, metrics, body and URL limits, client addresses and
// rate limits. It checks what a request carries; whether an account still
// accepts a token is the app's call.
package middleware

import (
	"fmt"

	jwtware "github.com/gofiber/contrib/jwt"
	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/acme/accounts/models"
)

const (
	jwtKey   = "jwt"
	tokenKey = "token"
)

// Token is what a verified access token says: the account and session it
// names, and the account's email and token version when it was issued.
type Token struct {
	Owner     models.Owner
	SessionID uuid.UUID
	Email     string
	Version   int64
}

// RequireToken accepts only a valid, unexpired access token of the role
// (HS256 with secret) and puts it on the context (CurrentToken). A token of
// another role is 403, a missing or bad one 401.
func RequireToken(secret []byte, role string) fiber.Handler {
	return jwtware.New(jwtware.Config{
		SigningKey: jwtware.SigningKey{JWTAlg: jwtware.HS256, Key: secret},
		Claims:     &models.Claims{},
		ContextKey: jwtKey,
		ErrorHandler: func(_ *fiber.Ctx, err error) error {
			return fmt.Errorf("%v: %w", err, models.ErrUnauthorized)
		},
		SuccessHandler: func(c *fiber.Ctx) error {
			tok, _ := c.Locals(jwtKey).(*jwt.Token)
			claims, ok := tok.Claims.(*models.Claims)
			if !ok {
				return models.ErrUnauthorized
			}
			if claims.Role != role {
				return fmt.Errorf("%s token on a %s route: %w", claims.Role, role, models.ErrForbidden)
			}
			id, err := uuid.Parse(claims.Subject)
			sid, serr := uuid.Parse(claims.SessionID)
			if err != nil || serr != nil || claims.IssuedAt == nil || claims.ExpiresAt == nil {
				return fmt.Errorf("token without valid sub, sid, iat or exp: %w", models.ErrUnauthorized)
			}
			c.Locals(tokenKey, &Token{
				Owner: models.Owner{Role: role, ID: id}, SessionID: sid,
				Email: claims.Email, Version: claims.Version,
			})
			return c.Next()
		},
	})
}

// OptionalToken is RequireToken for routes that also serve requests without
// a token (logout names its session by a refresh token then): a request with
// no Authorization header passes with no token on the context.
func OptionalToken(secret []byte, role string) fiber.Handler {
	require := RequireToken(secret, role)
	return func(c *fiber.Ctx) error {
		if len(c.Request().Header.Peek(fiber.HeaderAuthorization)) == 0 {
			return c.Next()
		}
		return require(c)
	}
}

// CurrentToken is the token RequireToken verified; nil when the request
// carried none.
func CurrentToken(c *fiber.Ctx) *Token {
	t, _ := c.Locals(tokenKey).(*Token)
	return t
}
