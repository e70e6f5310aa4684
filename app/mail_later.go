package app

import (
	"context"
	"time"

	"github.com/acme/accounts/mail"
)

// Password-reset mail goes out after the answer. Forgot-password must answer
// alike for every email (API.md), and a synchronous send would not: only a
// real account waits for the SMTP server, and only a real account would get
// 503 while that server is down.
const (
	// laterMailSlots bounds the sends in flight; past it a reset mail is
	// dropped (and counted) rather than piling up goroutines during an SMTP
	// outage. The answer is the same either way.
	laterMailSlots = 64
	// laterMailTimeout bounds one background send, as no request does.
	laterMailTimeout = 30 * time.Second
)

// mailLater sends a code mail after the request has been answered; a failed
// send is logged and counted, and discards the code when discard is set.
func (a *App) mailLater(ctx context.Context, purpose, email, code string, discard bool) {
	started := a.later.Start(ctx, func(ctx context.Context) {
		if err := a.mailCode(ctx, purpose, email, code, discard); err != nil {
			a.events.CodeEvent(purpose, "mail_failed")
			a.log.ErrorContext(ctx, "code mail not sent", "purpose", purpose, "err", err)
		}
	})
	if !started {
		a.events.CodeEvent(purpose, "mail_dropped")
		a.log.WarnContext(ctx, "code mail dropped: too many sends in flight", "purpose", purpose)
		if discard {
			a.discardCode(ctx, purpose, email)
		}
	}
}

// WaitBackground waits until every mail sent after its answer has been
// handed over or given up; the server calls it when shutting down.
func (a *App) WaitBackground() { a.later.Wait() }

// Close waits for the background work and stops the password threads; the
// App serves nothing after it.
func (a *App) Close() {
	a.later.Wait()
	a.passwords.Close()
}

// sendLater hands a finished mail (a security notice) to the mailer after
// the answer, within the same bound on sends in flight as mailLater; what
// is the notice's kind, for metrics and the log.
func (a *App) sendLater(ctx context.Context, what string, msg mail.Message) {
	started := a.later.Start(ctx, func(ctx context.Context) {
		if err := a.mailer.Send(ctx, msg); err != nil {
			a.events.CodeEvent(what, "mail_failed")
			a.log.ErrorContext(ctx, "notice not sent", "kind", what, "err", err)
			return
		}
		a.events.CodeEvent(what, "sent")
	})
	if !started {
		a.events.CodeEvent(what, "mail_dropped")
		a.log.WarnContext(ctx, "notice dropped: too many sends in flight", "kind", what)
	}
}
