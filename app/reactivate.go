package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/acme/accounts/models"
)

// Reactivate is the first step of bringing back a self-deactivated account:
// the password is checked and a code of purpose reactivate is mailed.
// Unknown email, wrong password and an account that is already active give
// the same error after the same bcrypt work, so the answer tells nothing to
// someone without the password. An account an administrator deactivated
// stays out (ErrAccountInactive), as at login.
func (a *App) Reactivate(ctx context.Context, in LoginInput) (*CodeSent, error) {
	in.Email = normEmail(in.Email)
	if err := a.validate(in); err != nil {
		return nil, err
	}
	u, err := models.UserByEmail(ctx, a.db, in.Email)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return nil, err
	}
	hash := ""
	who := auditEvent{actorType: models.ActorAnonymous, detail: map[string]any{"purpose": PurposeReactivate}}
	if u != nil {
		hash = u.PasswordHash
		who.targetID = ptr(u.ID)
	}
	ok, err := a.checkPassword(ctx, who, in.Email, hash, in.Password)
	if err != nil {
		return nil, fmt.Errorf("reactivate %s: %w", in.Email, err)
	}
	if !ok || u.Active {
		return nil, fmt.Errorf("reactivate %s: %w", in.Email, models.ErrInvalidCredentials)
	}
	if !selfDeactivated(u) {
		return nil, fmt.Errorf("reactivate %s: deactivated by an administrator: %w", in.Email, models.ErrAccountInactive)
	}
	return a.issueAndMail(forAccount(ctx, u.Locale), PurposeReactivate, in.Email, nil)
}

// VerifyReactivation consumes the code, switches the account back on and
// signs the user in. When the database is down the code is put back.
func (a *App) VerifyReactivation(ctx context.Context, in VerifyInput, c Client) (_ *Session, err error) {
	if err := a.checkVerifyInput(&in); err != nil {
		return nil, err
	}
	if _, err := a.codes.Consume(ctx, PurposeReactivate, in.Email, in.Code); err != nil {
		a.noticeIfSpent(ctx, PurposeReactivate, in.Email, err)
		return nil, fmt.Errorf("verify reactivation: %w", err)
	}
	defer a.restoreOnOutage(ctx, &err, takenCode{purpose: PurposeReactivate, email: in.Email, code: in.Code})
	u, err := models.UserByEmail(ctx, a.db, in.Email)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("verify reactivation: account gone: %w", models.ErrInvalidCode)
	}
	if err != nil {
		return nil, err
	}
	if u.Active {
		// Already back (another tab's code): this code has nothing to do.
		return nil, fmt.Errorf("verify reactivation %s: already active: %w", in.Email, models.ErrInvalidCode)
	}
	if !selfDeactivated(u) {
		// An administrator stepped in after the code was mailed.
		return nil, fmt.Errorf("verify reactivation %s: %w", in.Email, models.ErrAccountInactive)
	}
	var (
		back *models.User
		out  *Session
	)
	err = models.InTx(ctx, a.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if back, err = models.ReactivateSelfDeactivated(ctx, tx, u.ID, a.Now()); err != nil {
			return err
		}
		if out, err = a.startSession(ctx, tx, userAccount(back), c); err != nil {
			return err
		}
		return a.audit(ctx, tx, byUser(AuditUserReactivated, back.ID, map[string]any{"by": "self"}))
	})
	if errors.Is(err, models.ErrNotFound) {
		// Changed between the read and the write: purged or switched off by
		// an administrator; either way this code no longer applies.
		return nil, fmt.Errorf("verify reactivation %s: state changed: %w", in.Email, models.ErrAccountInactive)
	}
	if err != nil {
		return nil, err
	}
	a.log.InfoContext(ctx, "user reactivated their account", "user_id", back.ID)
	a.noteSignIn(ctx, back, false)
	return out, nil
}

func selfDeactivated(u *models.User) bool {
	return !u.Active && u.DeactivatedBy != nil && *u.DeactivatedBy == models.DeactivatedSelf
}
