package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/acme/accounts/mail"
	"github.com/acme/accounts/models"
)

// ChangePasswordInput replaces the signed-in user's password.
type ChangePasswordInput struct {
	CurrentPassword string `json:"current_password" validate:"required,password_max"`
	NewPassword     string `json:"new_password" validate:"required,password"`
}

// ChangePassword checks the current password, stores the new one, ends
// every other session and gives the caller's session a fresh pair. Bumping
// the token version revokes every access token issued before, including the
// one that made this request, and the caller's old refresh token is
// replaced, so whatever was stolen dies with the old password.
func (a *App) ChangePassword(ctx context.Context, u *models.User, by TokenSession, in ChangePasswordInput) (*Session, error) {
	if err := a.validate(in); err != nil {
		return nil, err
	}
	ok, err := a.checkPassword(ctx, byUser("", u.ID, map[string]any{"purpose": "password_change"}), u.Email, u.PasswordHash, in.CurrentPassword)
	if err != nil {
		return nil, fmt.Errorf("change password of %s: %w", u.ID, err)
	}
	if !ok {
		return nil, fmt.Errorf("change password of %s: %w", u.ID, models.ErrInvalidCredentials)
	}
	hash, err := a.passwords.Hash(ctx, in.NewPassword)
	if err != nil {
		return nil, err
	}
	now := a.Now()
	owner := models.Owner{Role: models.RoleUser, ID: u.ID}
	var out *Session
	err = models.InTx(ctx, a.db, func(ctx context.Context, tx bun.Tx) error {
		version, err := models.SetUserPassword(ctx, tx, u.ID, hash, now)
		if err != nil {
			return err
		}
		ended, err := models.RevokeSessions(ctx, tx, owner, by.SessionID, now)
		if err != nil {
			return err
		}
		if err := a.audit(ctx, tx, byUser(AuditPasswordChanged, u.ID, map[string]any{"sessions_ended": ended})); err != nil {
			return err
		}
		rt := newRefreshToken(by.SessionID, 0)
		s, err := models.RenewSession(ctx, tx, owner, by.SessionID, rt.hash(), now, now.Add(a.opts.SessionIdleTTL))
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("change password: session %s: %w", by.SessionID, models.ErrSessionRevoked)
		}
		if err != nil {
			return err
		}
		rt.gen = s.Generation
		next := *u
		next.PasswordHash, next.TokenVersion, next.UpdatedAt = hash, version, now
		out, err = a.tokenBody(s, rt, userAccount(&next), now)
		return err
	})
	if err != nil {
		return nil, err
	}
	a.notify(ctx, u, mail.Notice{Kind: mail.NoticePasswordChanged, At: now})
	return out, nil
}

// Deactivate soft-deletes the signed-in user: the account and its data stay,
// but it is inactive, every session ends and every token is revoked, so
// signing in answers ErrAccountInactive and no reset code is mailed to it.
// It can come back through Reactivate until the purge erases it.
func (a *App) Deactivate(ctx context.Context, u *models.User) error {
	now := a.Now()
	var out *models.User
	err := models.InTx(ctx, a.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if out, err = models.SetUserActiveBy(ctx, tx, u.ID, false, models.DeactivatedSelf, now); err != nil {
			return err
		}
		n, err := models.RevokeSessions(ctx, tx, models.Owner{Role: models.RoleUser, ID: u.ID}, uuid.Nil, now)
		if err != nil {
			return err
		}
		return a.audit(ctx, tx, byUser(AuditUserDeactivated, u.ID, map[string]any{"by": "self", "sessions_ended": n}))
	})
	if err != nil {
		return fmt.Errorf("deactivate %s: %w", u.ID, err)
	}
	n := mail.Notice{Kind: mail.NoticeDeactivated, At: now}
	if a.opts.PurgeAfter > 0 {
		n.RestoreUntil = now.Add(a.opts.PurgeAfter)
	}
	a.notify(ctx, out, n)
	return nil
}
