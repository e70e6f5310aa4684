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

// ForgotInput starts a password reset.
type ForgotInput struct {
	Email string `json:"email" validate:"required,max=254,email"`
}

// ForgotPassword mails a reset code to an active account. Its answer is the
// same whether or not the account exists, the cooldown starts either way, and
// the mail goes out after the answer, so no sequence of requests reveals an
// account.
func (a *App) ForgotPassword(ctx context.Context, in ForgotInput) error {
	in.Email = normEmail(in.Email)
	if err := a.validate(in); err != nil {
		return err
	}
	u, err := models.UserByEmail(ctx, a.db, in.Email)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if u == nil || !u.Active {
		if _, err := a.codes.StartCooldown(ctx, PurposePassword, in.Email); err != nil {
			return fmt.Errorf("forgot password: %w", err)
		}
		return nil
	}
	code, err := a.codes.Issue(ctx, PurposePassword, in.Email, nil)
	var limited *models.RateLimitError
	if errors.As(err, &limited) {
		return nil // within the cooldown: answer as usual, send nothing
	}
	if err != nil {
		return fmt.Errorf("forgot password: issue code: %w", err)
	}
	// After the answer, so that neither its timing nor an SMTP outage tells
	// a real account from an unknown email.
	a.mailLater(forAccount(ctx, u.Locale), PurposePassword, in.Email, code, true)
	return nil
}

// VerifyPasswordCode checks a reset code and keeps it, marked verified, for
// the reset step.
func (a *App) VerifyPasswordCode(ctx context.Context, in VerifyInput) error {
	if err := a.checkVerifyInput(&in); err != nil {
		return err
	}
	if err := a.codes.MarkVerified(ctx, PurposePassword, in.Email, in.Code); err != nil {
		a.noticeIfSpent(ctx, PurposePassword, in.Email, err)
		return fmt.Errorf("verify password code: %w", err)
	}
	return nil
}

// ResetInput sets a new password with a verified code.
type ResetInput struct {
	Email    string `json:"email" validate:"required,max=254,email"`
	Code     string `json:"code" validate:"required"`
	Password string `json:"password" validate:"required,password"`
}

// ResetPassword replaces the password, ends every session and revokes every
// older token. When the database is down the verified code is put back for
// another try.
func (a *App) ResetPassword(ctx context.Context, in ResetInput) (err error) {
	in.Email = normEmail(in.Email)
	if err := a.validate(in); err != nil {
		return err
	}
	if _, err := a.codes.ConsumeVerified(ctx, PurposePassword, in.Email, in.Code); err != nil {
		a.noticeIfSpent(ctx, PurposePassword, in.Email, err)
		return fmt.Errorf("reset password: %w", err)
	}
	defer a.restoreOnOutage(ctx, &err, takenCode{purpose: PurposePassword, email: in.Email, code: in.Code, verified: true})
	u, err := models.UserByEmail(ctx, a.db, in.Email)
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("reset password: account gone: %w", models.ErrInvalidCode)
	}
	if err != nil {
		return err
	}
	if !u.Active {
		return fmt.Errorf("reset password %s: %w", in.Email, models.ErrAccountInactive)
	}
	hash, err := a.passwords.Hash(ctx, in.Password)
	if err != nil {
		return err
	}
	now := a.Now()
	err = models.InTx(ctx, a.db, func(ctx context.Context, tx bun.Tx) error {
		if _, err := models.SetUserPassword(ctx, tx, u.ID, hash, now); err != nil {
			return err
		}
		n, err := models.RevokeSessions(ctx, tx, models.Owner{Role: models.RoleUser, ID: u.ID}, uuid.Nil, now)
		if err != nil {
			return err
		}
		// The mailed code proves the mailbox, so the user is the actor.
		return a.audit(ctx, tx, byUser(AuditPasswordReset, u.ID, map[string]any{"sessions_ended": n}))
	})
	if err != nil {
		return err
	}
	a.notify(ctx, u, mail.Notice{Kind: mail.NoticePasswordReset, At: now})
	return nil
}
