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
	if sent, err := a.keepPendingRegistration(ctx, in); sent != nil || err != nil {
		return sent, err
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

// keepPendingRegistration decides a registration of an email that already
// has one pending. Only the mailbox's owner can verify either, and the code
// mail does not show whose details it confirms, so a stranger must not be
// able to swap in their own names and password: the first registration
// stays as it is and its code is mailed again (under the cooldown), and the
// mailbox owner finishes it or lets it expire. Sending the same password
// proves it is the same person, who may correct their names or phone: then
// (nil, nil) lets the new details replace the pending ones as usual.
func (a *App) keepPendingRegistration(ctx context.Context, in RegisterInput) (*CodeSent, error) {
	raw, ok, err := a.codes.Pending(ctx, PurposeRegister, in.Email)
	if err != nil {
		return nil, fmt.Errorf("register %s: read pending registration: %w", in.Email, err)
	}
	var p pendingRegistration
	if !ok || json.Unmarshal(raw, &p) != nil || p.PasswordHash == "" {
		return nil, nil
	}
	same, err := a.passwords.Check(ctx, p.PasswordHash, in.Password)
	if err != nil || same {
		return nil, err
	}
	code, err := a.codes.Reissue(ctx, PurposeRegister, in.Email)
	if errors.Is(err, models.ErrInvalidCode) {
		return nil, nil // expired in the meantime: a fresh registration
	}
	if err != nil {
		return nil, fmt.Errorf("register %s: resend pending code: %w", in.Email, err)
	}
	// Keep the pending registration if the mail fails, as a resend does.
	if err := a.mailCode(ctx, PurposeRegister, in.Email, code, false); err != nil {
		return nil, err
	}
	return &CodeSent{Email: in.Email, ExpiresIn: a.opts.CodeTTL}, nil
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
		a.noticeIfSpent(ctx, PurposeRegister, in.Email, err)
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
		if out, err = a.startSession(ctx, tx, userAccount(u), c); err != nil {
			return err
		}
		return a.audit(ctx, tx, byUser(AuditSignedUp, u.ID, nil))
	})
	if err != nil {
		return nil, err
	}
	// Known from the start, so the first sign-in from here is not "new".
	a.noteSignIn(ctx, u, false)
	return out, nil
}
