package app

import (
	"context"
	"fmt"

	"github.com/acme/accounts/models"
)

// ChangePasswordInput replaces the signed-in user's password.
type ChangePasswordInput struct {
	CurrentPassword string `json:"current_password" validate:"required,max=72"`
	NewPassword     string `json:"new_password" validate:"required,password"`
}

// ChangePassword checks the current password, stores the new one and returns
// a fresh session. Bumping the token version revokes every token issued
// before, including the one that made this request, so a stolen token dies
// with the old password.
func (a *App) ChangePassword(ctx context.Context, u *models.User, in ChangePasswordInput) (*Session, error) {
	if err := a.validate(in); err != nil {
		return nil, err
	}
	ok, err := a.passwords.Check(ctx, u.PasswordHash, in.CurrentPassword)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("change password of %s: %w", u.ID, models.ErrInvalidCredentials)
	}
	hash, err := a.passwords.Hash(ctx, in.NewPassword)
	if err != nil {
		return nil, err
	}
	now := a.Now()
	version, err := models.SetUserPassword(ctx, a.db, u.ID, hash, now)
	if err != nil {
		return nil, err
	}
	next := *u
	next.PasswordHash, next.TokenVersion, next.UpdatedAt = hash, version, now
	return a.userSession(&next)
}

// Deactivate soft-deletes the signed-in user: the account and its data stay,
// but it is inactive and every token is revoked, so signing in answers
// ErrAccountInactive and no reset code is mailed to it.
func (a *App) Deactivate(ctx context.Context, u *models.User) error {
	if _, err := models.SetUserActive(ctx, a.db, u.ID, false, a.Now()); err != nil {
		return fmt.Errorf("deactivate %s: %w", u.ID, err)
	}
	return nil
}
