package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/acme/accounts/models"
)

// AdminLogin is Login for administrators: it checks the password against the
// admins table and mails an admin_login code. Unknown email and wrong password
// give the same error after the same bcrypt work, so neither the answer nor
// its timing reveals which admin accounts exist.
func (a *App) AdminLogin(ctx context.Context, in LoginInput) (*CodeSent, error) {
	in.Email = normEmail(in.Email)
	if err := a.validate(in); err != nil {
		return nil, err
	}
	ad, err := models.AdminByEmail(ctx, a.db, in.Email)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return nil, err
	}
	hash := ""
	if ad != nil {
		hash = ad.PasswordHash
	}
	ok, err := a.passwords.Check(ctx, hash, in.Password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("admin login %s: %w", in.Email, models.ErrInvalidCredentials)
	}
	if !ad.Active {
		return nil, fmt.Errorf("admin login %s: %w", in.Email, models.ErrAccountInactive)
	}
	return a.issueAndMail(ctx, PurposeAdminLogin, in.Email, nil)
}

// VerifyAdminLogin consumes the admin_login code and returns an admin token.
// The code's purpose keeps it apart from user sign-in codes, so a user's code
// can never open an admin session for the same email.
//
// When the database is down the code is put back for another try.
func (a *App) VerifyAdminLogin(ctx context.Context, in VerifyInput) (_ *Session, err error) {
	if err := a.checkVerifyInput(&in); err != nil {
		return nil, err
	}
	if _, err := a.codes.Consume(ctx, PurposeAdminLogin, in.Email, in.Code); err != nil {
		return nil, fmt.Errorf("verify admin login: %w", err)
	}
	defer a.restoreOnOutage(ctx, &err, takenCode{purpose: PurposeAdminLogin, email: in.Email, code: in.Code})
	ad, err := models.AdminByEmail(ctx, a.db, in.Email)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("verify admin login: account gone: %w", models.ErrInvalidCode)
	}
	if err != nil {
		return nil, err
	}
	if !ad.Active {
		return nil, fmt.Errorf("verify admin login %s: %w", in.Email, models.ErrAccountInactive)
	}
	return a.adminSession(ad)
}
