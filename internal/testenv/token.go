package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/acme/accounts/models"
)

// SignToken signs a token for the user with the given email using e.Secret,
// with any role and version, expiring after ttl (negative: already expired).
func (e *Env) SignToken(t testing.TB, email, role string, version int64, ttl time.Duration) string {
	t.Helper()
	u, err := models.UserByEmail(context.Background(), e.DB, email)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	now := time.Now()
	claims := models.Claims{
		Email: u.Email, Role: role, Version: version,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: u.ID.String(), IssuedAt: jwt.NewNumericDate(now.Add(-2 * time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(e.Secret)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return s
}
