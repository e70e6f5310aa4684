package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/acme/accounts/models"
)

// SignToken signs a token for the user with the given email using e.Secret,
// with any role and version, expiring after ttl (negative: already expired).
// It belongs to a new live session of the user, so only what the arguments
// change can make it fail.
func (e *Env) SignToken(t testing.TB, email, role string, version int64, ttl time.Duration) string {
	t.Helper()
	u, err := models.UserByEmail(context.Background(), e.DB, email)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	sid := e.StoreSession(t, models.Owner{Role: models.RoleUser, ID: u.ID})
	return e.signClaims(t, u.ID, u.Email, role, version, sid, ttl)
}

// StoreSession stores a live session of the owner straight in the database
// (its refresh token is unusable) and returns its id.
func (e *Env) StoreSession(t testing.TB, owner models.Owner) uuid.UUID {
	t.Helper()
	now := e.Clock.Now().UTC().Truncate(time.Microsecond)
	s := &models.Session{
		ID: models.NewID(), CreatedAt: now, LastUsedAt: now, RotatedAt: now, RefreshHash: []byte("unusable"),
		IdleExpiresAt: now.Add(e.Cfg.SessionIdleTTL), ExpiresAt: now.Add(e.Cfg.SessionMaxTTL),
	}
	if owner.Role == models.RoleAdmin {
		s.AdminID = &owner.ID
	} else {
		s.UserID = &owner.ID
	}
	if err := models.InsertSession(context.Background(), e.DB, s); err != nil {
		t.Fatalf("store session: %v", err)
	}
	return s.ID
}

func (e *Env) signClaims(t testing.TB, id uuid.UUID, email, role string, version int64, sid uuid.UUID, ttl time.Duration) string {
	t.Helper()
	now := time.Now()
	claims := models.Claims{
		Email: email, Role: role, Version: version, SessionID: sid.String(),
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: id.String(), IssuedAt: jwt.NewNumericDate(now.Add(-2 * time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(e.Secret)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return s
}
