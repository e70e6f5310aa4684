package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/acme/accounts/models"
)

// CodeSent is the answer of every step that mails a code.
type CodeSent struct {
	Email     string
	ExpiresIn time.Duration
}

// mailCode renders and sends the code mail. When the mail cannot be handed
// over, the code (and any pending registration next to it) is discarded when
// discard is set, so a failed request leaves nothing behind.
func (a *App) mailCode(ctx context.Context, purpose, email, code string, discard bool) error {
	msg, err := a.templates.Code(a.mailLocale(ctx), purpose, email, code, a.opts.CodeTTL)
	if err != nil {
		return fmt.Errorf("render %s code mail: %w", purpose, err)
	}
	if err := a.mailer.Send(ctx, msg); err != nil {
		if discard {
			a.discardCode(ctx, purpose, email)
		}
		if !errors.Is(err, models.ErrUnavailable) {
			err = models.Unavailable("mail", err)
		}
		return fmt.Errorf("send %s code: %w", purpose, err)
	}
	a.events.CodeEvent(purpose, "sent")
	return nil
}

// discardCode drops the code (and any pending registration next to it) after
// its mail failed. The request's context may be the thing that ran out, so it
// cleans up on a context of its own.
func (a *App) discardCode(ctx context.Context, purpose, email string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := a.codes.Discard(cctx, purpose, email); err != nil {
		a.log.ErrorContext(ctx, "discard code after failed mail", "purpose", purpose, "err", err)
	}
}

// takenCode is a code that Consume or ConsumeVerified took, kept so that it
// can be put back.
type takenCode struct {
	purpose, email, code string
	payload              []byte
	verified             bool
}

// restoreOnOutage puts a taken code back when *errp says a dependency is
// down, so the user retries with the code in hand instead of starting over
// (and a registration keeps its pending details). Any other outcome leaves
// the code used up. Deferred right after the code is taken.
func (a *App) restoreOnOutage(ctx context.Context, errp *error, c takenCode) {
	if !errors.Is(*errp, models.ErrUnavailable) {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if _, err := a.codes.Restore(cctx, c.purpose, c.email, c.code, c.payload, c.verified); err != nil {
		a.log.ErrorContext(ctx, "restore code after an outage", "purpose", c.purpose, "err", err)
	}
}

// issueAndMail creates a fresh code for (purpose, email) and mails it.
func (a *App) issueAndMail(ctx context.Context, purpose, email string, payload []byte) (*CodeSent, error) {
	code, err := a.codes.Issue(ctx, purpose, email, payload)
	if err != nil {
		return nil, fmt.Errorf("issue %s code: %w", purpose, err)
	}
	if err := a.mailCode(ctx, purpose, email, code, true); err != nil {
		return nil, err
	}
	return &CodeSent{Email: email, ExpiresIn: a.opts.CodeTTL}, nil
}

// refuseWhileCooling answers 429 early, before expensive work such as bcrypt,
// when a code for (purpose, email) was mailed moments ago.
func (a *App) refuseWhileCooling(ctx context.Context, purpose, email string) error {
	left, err := a.codes.CooldownLeft(ctx, purpose, email)
	if err != nil {
		return fmt.Errorf("check %s cooldown: %w", purpose, err)
	}
	if left > 0 {
		return &models.RateLimitError{RetryAfter: left}
	}
	return nil
}
