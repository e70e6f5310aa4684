package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/acme/accounts/models"
)

// Session is the token body every sign-in, refresh and password change
// answers: a short access token, the session's refresh token and the account.
type Session struct {
	ID               uuid.UUID // the session (the token's sid)
	Token            string
	ExpiresIn        time.Duration
	RefreshToken     string
	RefreshExpiresIn time.Duration
	User             *models.User  // set for role user
	Admin            *models.Admin // set for role admin
}

// signToken signs an access token of the session issued at iat. The same
// inputs give the same token, which lets two racing refreshes answer the
// same pair.
func (a *App) signToken(o models.Owner, email string, version int64, sid uuid.UUID, iat time.Time) (string, error) {
	claims := models.Claims{
		Email:     email,
		Role:      o.Role,
		SessionID: sid.String(),
		Version:   version,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   o.ID.String(),
			IssuedAt:  jwt.NewNumericDate(iat),
			ExpiresAt: jwt.NewNumericDate(iat.Add(a.opts.TokenTTL)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(a.opts.JWTSecret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// tokenBody answers the session's current pair: an access token issued at
// the last rotation and the refresh token rt.
func (a *App) tokenBody(s *models.Session, rt refreshToken, acct account, now time.Time) (*Session, error) {
	// RotatedAt is whole seconds, as JWT times are, so a second answer
	// for the same rotation signs exactly the same token.
	iat := s.RotatedAt
	tok, err := a.signToken(s.Owner(), acct.email, acct.version, s.ID, iat)
	if err != nil {
		return nil, err
	}
	return &Session{
		ID:               s.ID,
		Token:            tok,
		ExpiresIn:        max(a.opts.TokenTTL-now.Sub(iat).Truncate(time.Second), 0),
		RefreshToken:     rt.String(),
		RefreshExpiresIn: max(s.IdleExpiresAt.Sub(now), 0),
		User:             acct.user,
		Admin:            acct.admin,
	}, nil
}

// account is a user or an admin, with what tokens carry of it.
type account struct {
	owner   models.Owner
	email   string
	version int64
	active  bool
	user    *models.User
	admin   *models.Admin
}

func userAccount(u *models.User) account {
	return account{owner: models.Owner{Role: models.RoleUser, ID: u.ID}, email: u.Email, version: u.TokenVersion, active: u.Active, user: u}
}

func adminAccount(ad *models.Admin) account {
	return account{owner: models.Owner{Role: models.RoleAdmin, ID: ad.ID}, email: ad.Email, version: ad.TokenVersion, active: ad.Active, admin: ad}
}

// derive gives one use of the configured secret a key of its own.
func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}
