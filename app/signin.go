package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/acme/accounts/models"
)

// signIn is the two-step sign-in by password and then emailed code, for one
// kind of account (A is models.User or models.Admin). Users and admins differ
// only in the fields below; the steps, and the care that keeps them from
// revealing which accounts exist, are written once.
type signIn[A any] struct {
	name    string // "login" or "admin login", for error context
	purpose string // the code purpose, which keeps the two kinds' codes apart
	byEmail func(context.Context, bun.IDB, string) (*A, error)
	creds   func(*A) (hash string, active bool)
	account func(*A) account
	locale  func(*A) *string // the account's mail language; nil: none
	// signedIn runs after a successful verify (optional): the new sign-in
	// notice for users.
	signedIn func(context.Context, *A)
	// audited is the action a sign-in is recorded as.
	audited string
}

// start checks the password and mails a code. Unknown email and wrong
// password give the same error after the same bcrypt work, so neither the
// answer nor its timing reveals which accounts exist.
func (s signIn[A]) start(ctx context.Context, a *App, in LoginInput) (*CodeSent, error) {
	in.Email = normEmail(in.Email)
	if err := a.validate(in); err != nil {
		return nil, err
	}
	acct, err := s.byEmail(ctx, a.db, in.Email)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return nil, err
	}
	hash, active := "", false
	who := auditEvent{actorType: models.ActorAnonymous, detail: map[string]any{"purpose": s.purpose}}
	if acct != nil {
		hash, active = s.creds(acct)
		who.targetID = ptr(s.account(acct).owner.ID)
	}
	ok, err := a.checkPassword(ctx, who, in.Email, hash, in.Password)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", s.name, in.Email, err)
	}
	if !ok {
		return nil, fmt.Errorf("%s %s: %w", s.name, in.Email, models.ErrInvalidCredentials)
	}
	if !active {
		return nil, fmt.Errorf("%s %s: %w", s.name, in.Email, models.ErrAccountInactive)
	}
	return a.issueAndMail(forAccount(ctx, s.locale(acct)), s.purpose, in.Email, nil)
}

// verify consumes the code and starts a session. When the database is down
// the code is put back for another try.
func (s signIn[A]) verify(ctx context.Context, a *App, in VerifyInput, c Client) (_ *Session, err error) {
	if err := a.checkVerifyInput(&in); err != nil {
		return nil, err
	}
	if _, err := a.codes.Consume(ctx, s.purpose, in.Email, in.Code); err != nil {
		a.noticeIfSpent(ctx, s.purpose, in.Email, err)
		return nil, fmt.Errorf("verify %s: %w", s.name, err)
	}
	defer a.restoreOnOutage(ctx, &err, takenCode{purpose: s.purpose, email: in.Email, code: in.Code})
	acct, err := s.byEmail(ctx, a.db, in.Email)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("verify %s: account gone: %w", s.name, models.ErrInvalidCode)
	}
	if err != nil {
		return nil, err
	}
	if _, active := s.creds(acct); !active {
		return nil, fmt.Errorf("verify %s %s: %w", s.name, in.Email, models.ErrAccountInactive)
	}
	// The session and its event together: a sign-in the log cannot record
	// does not happen.
	acc := s.account(acct)
	var sess *Session
	err = models.InTx(ctx, a.db, func(ctx context.Context, tx bun.Tx) error {
		if sess, err = a.startSession(ctx, tx, acc, c); err != nil {
			return err
		}
		return a.audit(ctx, tx, auditEvent{action: s.audited, actorType: acc.owner.Role, actorID: ptr(acc.owner.ID), targetID: ptr(acc.owner.ID)})
	})
	if err != nil {
		return nil, err
	}
	if s.signedIn != nil {
		s.signedIn(ctx, acct)
	}
	return sess, nil
}
