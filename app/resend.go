package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/acme/accounts/models"
)

// ResendInput asks for a fresh code of a pending flow.
type ResendInput struct {
	Email   string `json:"email" validate:"required,max=254,email"`
	Purpose string `json:"purpose" validate:"required,purpose"`
}

// ResendCode mails a fresh code for a pending flow, replacing the old one.
// For password resets it answers the same whether or not a flow is pending,
// and the cooldown is checked first, so it cannot be used to probe accounts.
func (a *App) ResendCode(ctx context.Context, in ResendInput) (*CodeSent, error) {
	in.Email = normEmail(in.Email)
	if err := a.validate(in); err != nil {
		return nil, err
	}
	sent := &CodeSent{Email: in.Email, ExpiresIn: a.opts.CodeTTL}
	if in.Purpose == PurposePassword {
		if err := a.refuseWhileCooling(ctx, in.Purpose, in.Email); err != nil {
			return nil, err
		}
	}
	code, err := a.codes.Reissue(ctx, in.Purpose, in.Email)
	if in.Purpose == PurposePassword && errors.Is(err, models.ErrInvalidCode) {
		if _, err := a.codes.StartCooldown(ctx, in.Purpose, in.Email); err != nil {
			return nil, fmt.Errorf("resend password code: %w", err)
		}
		return sent, nil
	}
	if err != nil {
		return nil, fmt.Errorf("resend %s code: %w", in.Purpose, err)
	}
	if in.Purpose != PurposeRegister && in.Purpose != PurposeAdminLogin {
		ctx = forAccount(ctx, a.userLocale(ctx, in.Email))
	}
	// Keep the pending flow if the mail fails: the user may resend once the
	// mail server is back, without starting over.
	if in.Purpose == PurposePassword {
		// As forgot-password: after the answer, which must not tell whether
		// a reset was pending (and so whether the account exists).
		a.mailLater(ctx, in.Purpose, in.Email, code, false)
		return sent, nil
	}
	if err := a.mailCode(ctx, in.Purpose, in.Email, code, false); err != nil {
		return nil, err
	}
	return sent, nil
}
