package app

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/acme/accounts/models"
)

// Session is what a successful sign-in returns: a bearer token and the account.
type Session struct {
	Token     string
	ExpiresIn time.Duration
	User      *models.User  // set for role user
	Admin     *models.Admin // set for role admin
}

func (a *App) signToken(id uuid.UUID, email, role string, version int64) (string, error) {
	now := a.now()
	claims := models.Claims{
		Email:   email,
		Role:    role,
		Version: version,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   id.String(),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(a.opts.TokenTTL)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(a.opts.JWTSecret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

func (a *App) userSession(u *models.User) (*Session, error) {
	tok, err := a.signToken(u.ID, u.Email, models.RoleUser, u.TokenVersion)
	if err != nil {
		return nil, err
	}
	return &Session{Token: tok, ExpiresIn: a.opts.TokenTTL, User: u}, nil
}

func (a *App) adminSession(ad *models.Admin) (*Session, error) {
	tok, err := a.signToken(ad.ID, ad.Email, models.RoleAdmin, ad.TokenVersion)
	if err != nil {
		return nil, err
	}
	return &Session{Token: tok, ExpiresIn: a.opts.TokenTTL, Admin: ad}, nil
}
