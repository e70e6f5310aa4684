package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/acme/accounts/models"
)

// LoginInput is the first step of a sign-in.
type LoginInput struct {
	Email    string `json:"email" validate:"required,max=254,email"`
	Password string `json:"password" validate:"required,max=72"`
}

// Login checks the password and mails a sign-in code. Unknown email and wrong
// password give the same error after the same bcrypt work, so neither the
// answer nor its timing reveals which accounts exist.
func (a *App) Login(ctx context.Context, in LoginInput) (*CodeSent, error) {
	in.Email = normEmail(in.Email)
	if err := a.validate(in); err != nil {
		return nil, err
	}
	u, err := models.UserByEmail(ctx, a.db, in.Email)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return nil, err
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	}
	ok, err := a.passwords.Check(ctx, hash, in.Password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("login %s: %w", in.Email, models.ErrInvalidCredentials)
	}
	if !u.Active {
		return nil, fmt.Errorf("login %s: %w", in.Email, models.ErrAccountInactive)
	}
	return a.issueAndMail(ctx, PurposeLogin, in.Email, nil)
}

// VerifyLogin consumes the sign-in code and returns a token. When the
// database is down the code is put back for another try.
func (a *App) VerifyLogin(ctx context.Context, in VerifyInput) (_ *Session, err error) {
	if err := a.checkVerifyInput(&in); err != nil {
		return nil, err
	}
	if _, err := a.codes.Consume(ctx, PurposeLogin, in.Email, in.Code); err != nil {
		return nil, fmt.Errorf("verify login: %w", err)
	}
	defer a.restoreOnOutage(ctx, &err, takenCode{purpose: PurposeLogin, email: in.Email, code: in.Code})
	u, err := models.UserByEmail(ctx, a.db, in.Email)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("verify login: account gone: %w", models.ErrInvalidCode)
	}
	if err != nil {
		return nil, err
	}
	if !u.Active {
		return nil, fmt.Errorf("verify login %s: %w", in.Email, models.ErrAccountInactive)
	}
	return a.userSession(u)
}
