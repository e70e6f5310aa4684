package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/acme/accounts/models"
	"github.com/acme/accounts/storage"
)

// checkPassword compares password with hash within email's password failure
// budget. The try is taken before bcrypt runs, so racing requests never get
// more checks than the budget, and it is taken for every email string alike,
// known or not, so neither answer nor timing tells accounts apart. Past the
// budget the answer is *models.TooManyAttemptsError, right password or not.
// The failure that spends the budget is audited as spent (who names the
// actor and the account, when known).
func (a *App) checkPassword(ctx context.Context, who auditEvent, email, hash, password string) (bool, error) {
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
	lock, err := a.pwBudget.Failed(ctx, try)
	if err != nil {
		return false, fmt.Errorf("count a wrong password of %s: %w", email, err)
	}
	if lock > 0 {
		a.auditBudgetSpent(ctx, who, "password", lock)
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

// noticeIfSpent sends the one notice mail, and records the event, when err
// says that this wrong code spent the email's code failure budget.
func (a *App) noticeIfSpent(ctx context.Context, purpose, email string, err error) {
	var spent *models.BudgetExhaustedError
	if !errors.As(err, &spent) {
		return
	}
	who := auditEvent{actorType: models.ActorAnonymous, detail: map[string]any{"purpose": purpose}}
	if purpose == PurposeAdminLogin {
		if ad, err := models.AdminByEmail(ctx, a.db, email); err == nil {
			who.targetID = ptr(ad.ID)
		}
	} else if u, err := models.UserByEmail(ctx, a.db, email); err == nil {
		who.targetID = ptr(u.ID)
	}
	a.auditBudgetSpent(ctx, who, "code", spent.Lock)
	a.NotifyBudgetExhausted(ctx, email, spent.Lock)
}

// auditBudgetSpent records the moment a failure budget is spent: once per
// email and window, however many refusals follow, so a flood of guesses
// cannot flood the log.
func (a *App) auditBudgetSpent(ctx context.Context, who auditEvent, budget string, lock time.Duration) {
	ev := who
	ev.action = AuditBudgetExhausted
	ev.detail = map[string]any{"budget": budget, "locked_seconds": int64(lock / time.Second)}
	for k, v := range who.detail {
		ev.detail[k] = v
	}
	a.auditRefusal(ctx, ev)
}
