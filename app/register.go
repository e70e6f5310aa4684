package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/acme/accounts/models"
)

// RegisterInput is a sign-up request.
type RegisterInput struct {
	FirstName string  `json:"first_name" validate:"required,min=1,max=100"`
	LastName  string  `json:"last_name" validate:"required,min=1,max=100"`
	Email     string  `json:"email" validate:"required,max=254,email"`
	Password  string  `json:"password" validate:"required,password"`
	Phone     *string `json:"phone" validate:"omitempty,phone"`
}

// pendingRegistration waits next to its code until the code is verified; only
// then does the account reach the database.
type pendingRegistration struct {
	FirstName    string  `json:"first_name"`
	LastName     string  `json:"last_name"`
	Email        string  `json:"email"`
	Phone        *string `json:"phone,omitempty"`
	PasswordHash string  `json:"password_hash"`
}

// Register validates a sign-up, keeps it pending and mails a code.
func (a *App) Register(ctx context.Context, in RegisterInput) (*CodeSent, error) {
	in.FirstName = strings.TrimSpace(in.FirstName)
	in.LastName = strings.TrimSpace(in.LastName)
	in.Email = normEmail(in.Email)
	if in.Phone != nil {
		p := strings.TrimSpace(*in.Phone)
		in.Phone = &p
		if p == "" {
			in.Phone = nil
		}
	}
	if err := a.validate(in); err != nil {
		return nil, err
	}
	exists, err := models.UserEmailExists(ctx, a.db, in.Email)
	if err != nil {
		return nil, err
	}
	if exists {
		return nil, fmt.Errorf("register %s: %w", in.Email, models.ErrEmailTaken)
	}
	if err := a.refuseWhileCooling(ctx, PurposeRegister, in.Email); err != nil {
		return nil, err
	}
	hash, err := a.passwords.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(pendingRegistration{
		FirstName: in.FirstName, LastName: in.LastName, Email: in.Email, Phone: in.Phone, PasswordHash: hash,
	})
	if err != nil {
		return nil, fmt.Errorf("encode pending registration: %w", err)
	}
	return a.issueAndMail(ctx, PurposeRegister, in.Email, payload)
}

// VerifyInput is an email with the code that was mailed to it.
type VerifyInput struct {
	Email string `json:"email" validate:"required,max=254,email"`
	Code  string `json:"code" validate:"required"`
}

func (a *App) checkVerifyInput(in *VerifyInput) error {
	in.Email = normEmail(in.Email)
	in.Code = strings.TrimSpace(in.Code)
	return a.validate(*in)
}

// VerifyRegistration consumes the registration code, creates the user and
// starts their first session.
// When the database is down the code is put back for another try.
func (a *App) VerifyRegistration(ctx context.Context, in VerifyInput, c Client) (_ *Session, err error) {
	if err := a.checkVerifyInput(&in); err != nil {
		return nil, err
	}
	payload, err := a.codes.Consume(ctx, PurposeRegister, in.Email, in.Code)
	if err != nil {
		return nil, fmt.Errorf("verify registration: %w", err)
	}
	defer a.restoreOnOutage(ctx, &err, takenCode{purpose: PurposeRegister, email: in.Email, code: in.Code, payload: payload})
	var p pendingRegistration
	if err := json.Unmarshal(payload, &p); err != nil || p.Email != in.Email {
		return nil, fmt.Errorf("verify registration: corrupt pending registration: %w", errors.Join(err, models.ErrInvalidCode))
	}
	now := a.Now()
	u := &models.User{
		ID:           models.NewID(),
		Email:        p.Email,
		PasswordHash: p.PasswordHash,
		FirstName:    p.FirstName,
		LastName:     p.LastName,
		Phone:        p.Phone,
		Active:       true,
		TokenVersion: 1,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	// The user and their first session in one transaction: a failure leaves
	// no account behind that the restored code could not create again.
	var out *Session
	err = models.InTx(ctx, a.db, func(ctx context.Context, tx bun.Tx) error {
		if err := models.InsertUser(ctx, tx, u); err != nil {
			return err
		}
		out, err = a.startSession(ctx, tx, userAccount(u), c)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Known from the start, so the first sign-in from here is not "new".
	a.noteSignIn(ctx, u, false)
	return out, nil
}
