// Package middleware holds the request pipeline pieces: token check and
// account loading, request ids, deadlines, metrics, JSON body limits.
package middleware

import (
	"errors"
	"fmt"
	"time"

	jwtware "github.com/gofiber/contrib/jwt"
	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/acme/accounts/models"
)

const (
	tokenKey    = "token"
	accountKey  = "account"
	productsKey = "products"
)

// Clock is the time the session checks compare with (the app's clock).
type Clock func() time.Time

// RequireUser accepts only a valid user token whose account is active, whose
// token version is current and whose session is alive, and puts the user on
// the context. Account and session come from one query.
func RequireUser(secret []byte, db bun.IDB, now Clock) fiber.Handler {
	return requireRole(secret, models.RoleUser, func(c *fiber.Ctx, claims *models.Claims, id, sid uuid.UUID) error {
		u, err := models.UserInSession(c.UserContext(), db, id, sid, now())
		if err != nil {
			return revokedIfMissing(err)
		}
		return putUser(c, claims, u)
	})
}

// UserProducts are the products loaded along with the user.
type UserProducts struct {
	Items []models.Product
	Total int
}

// RequireUserWithProducts is RequireUser that also loads the user's newest
// products (at most limit) in the same query: the profile route then needs
// one database round trip instead of two.
func RequireUserWithProducts(secret []byte, db *bun.DB, now Clock, limit int) fiber.Handler {
	// database/sql hands a freed connection to a random waiter, which
	// stretches the latency tail under load; queueing on a channel first
	// serves requests in arrival order and keeps the pool's queue empty.
	gate := make(chan struct{}, max(db.Stats().MaxOpenConnections, 1))
	return requireRole(secret, models.RoleUser, func(c *fiber.Ctx, claims *models.Claims, id, sid uuid.UUID) error {
		ctx := c.UserContext()
		select {
		case gate <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("wait for a database connection: %w", ctx.Err())
		}
		u, items, total, err := models.UserWithProductsInSession(ctx, db, id, sid, now(), limit)
		<-gate
		if err != nil {
			return revokedIfMissing(err)
		}
		c.Locals(productsKey, &UserProducts{Items: items, Total: total})
		return putUser(c, claims, u)
	})
}

func putUser(c *fiber.Ctx, claims *models.Claims, u *models.User) error {
	if !current(claims, u.Email, u.Active, u.TokenVersion) {
		return fmt.Errorf("user token revoked: %w", models.ErrUnauthorized)
	}
	c.Locals(accountKey, u)
	return nil
}

// CurrentProducts are the products loaded by RequireUserWithProducts (nil
// on other routes).
func CurrentProducts(c *fiber.Ctx) *UserProducts {
	p, _ := c.Locals(productsKey).(*UserProducts)
	return p
}

// RequireAdmin is RequireUser for admin tokens, looked up in the admins table.
func RequireAdmin(secret []byte, db bun.IDB, now Clock) fiber.Handler {
	return requireRole(secret, models.RoleAdmin, func(c *fiber.Ctx, claims *models.Claims, id, sid uuid.UUID) error {
		a, err := models.AdminInSession(c.UserContext(), db, id, sid, now())
		if err != nil {
			return revokedIfMissing(err)
		}
		if !current(claims, a.Email, a.Active, a.TokenVersion) {
			return fmt.Errorf("admin token revoked: %w", models.ErrUnauthorized)
		}
		c.Locals(accountKey, a)
		return nil
	})
}

// CurrentUser is the user loaded by RequireUser.
func CurrentUser(c *fiber.Ctx) *models.User {
	u, _ := c.Locals(accountKey).(*models.User)
	return u
}

// CurrentAdmin is the admin loaded by RequireAdmin.
func CurrentAdmin(c *fiber.Ctx) *models.Admin {
	a, _ := c.Locals(accountKey).(*models.Admin)
	return a
}

// VerifyToken accepts a valid token of the role when the request carries
// one, without loading anything: the handler decides what the session
// allows (logout answers session_revoked for an ended one). A request with
// no Authorization header passes with no claims.
func VerifyToken(secret []byte, role string) fiber.Handler {
	check := requireRole(secret, role, func(*fiber.Ctx, *models.Claims, uuid.UUID, uuid.UUID) error { return nil })
	return func(c *fiber.Ctx) error {
		if len(c.Request().Header.Peek(fiber.HeaderAuthorization)) == 0 {
			return c.Next()
		}
		return check(c)
	}
}

// TokenSession is the account and session the verified token names; ok is
// false when the request carried no token.
func TokenSession(c *fiber.Ctx) (owner models.Owner, sid uuid.UUID, ok bool) {
	tok, _ := c.Locals(tokenKey).(*jwt.Token)
	if tok == nil {
		return models.Owner{}, uuid.Nil, false
	}
	claims, _ := tok.Claims.(*models.Claims)
	if claims == nil {
		return models.Owner{}, uuid.Nil, false
	}
	id, err1 := uuid.Parse(claims.Subject)
	sid, err2 := uuid.Parse(claims.SessionID)
	if err1 != nil || err2 != nil {
		return models.Owner{}, uuid.Nil, false
	}
	return models.Owner{Role: claims.Role, ID: id}, sid, true
}

type loadFunc func(c *fiber.Ctx, claims *models.Claims, id, sid uuid.UUID) error

func requireRole(secret []byte, role string, load loadFunc) fiber.Handler {
	return jwtware.New(jwtware.Config{
		SigningKey: jwtware.SigningKey{JWTAlg: jwtware.HS256, Key: secret},
		Claims:     &models.Claims{},
		ContextKey: tokenKey,
		ErrorHandler: func(_ *fiber.Ctx, err error) error {
			return fmt.Errorf("%v: %w", err, models.ErrUnauthorized)
		},
		SuccessHandler: func(c *fiber.Ctx) error {
			tok, _ := c.Locals(tokenKey).(*jwt.Token)
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
			if err := load(c, claims, id, sid); err != nil {
				return err
			}
			return c.Next()
		},
	})
}

// current compares the token with the account as it is now: same email, still
// active, same token version (password change, reset and deactivation bump it).
func current(claims *models.Claims, email string, active bool, version int64) bool {
	return active && claims.Email == email && claims.Version == version
}

func revokedIfMissing(err error) error {
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("token account gone: %w", models.ErrUnauthorized)
	}
	return err
}
