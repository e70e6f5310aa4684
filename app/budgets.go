package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/acme/accounts/models"
	"github.com/acme/accounts/storage"
)

// checkPassword compares password with hash within email's password failure
// budget. The try is taken before bcrypt runs, so racing requests never get
// more checks than the budget, and it is taken for every email string alike,
// known or not, so neither answer nor timing tells accounts apart. Past the
// budget the answer is *models.TooManyAttemptsError, right password or not.
func (a *App) checkPassword(ctx context.Context, email, hash, password string) (bool, error) {
	try, err := a.pwBudget.Take(ctx, email)
	if err != nil {
		return false, fmt.Errorf("password failure budget of %s: %w", email, err)
	}
	ok, err := a.passwords.Check(ctx, hash, password)
	if err != nil {
		// Nothing was compared: give the try back.
		a.giveBack(ctx, try)
		return false, err
	}
	if ok {
		a.giveBack(ctx, try)
		return true, nil
	}
	// An uncounted failure would be a free guess: without the count, the
	// answer is an outage, which tells nothing about the password.
	if err := a.pwBudget.Failed(ctx, try); err != nil {
		return false, fmt.Errorf("count a wrong password of %s: %w", email, err)
	}
	return false, nil
}

// giveBack returns a try that did not fail. Losing one only costs its owner
// a try, so a store error is logged, not answered.
func (a *App) giveBack(ctx context.Context, t storage.Try) {
	if err := a.pwBudget.Succeeded(ctx, t); err != nil {
		a.log.WarnContext(ctx, "give a password try back", "err", err)
	}
}

// noticeIfSpent sends the one notice mail when err says that this wrong code
// spent the email's code failure budget.
func (a *App) noticeIfSpent(ctx context.Context, email string, err error) {
	var spent *models.BudgetExhaustedError
	if errors.As(err, &spent) {
		a.NotifyBudgetExhausted(ctx, email, spent.Lock)
	}
}
