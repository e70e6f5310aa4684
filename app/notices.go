package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/acme/accounts/i18n"
	"github.com/acme/accounts/mail"
	"github.com/acme/accounts/models"
)

// newSourceWindow is how long an address or client stays known: a sign-in
// from one not seen for this long gets a notice.
const newSourceWindow = 30 * 24 * time.Hour

// clientKey carries who made a request (address and user agent) down to
// the flows, for the details of security notices.
type clientKey struct{}

type clientInfo struct{ ip, userAgent string }

// WithClient records the request's client address and user agent on ctx;
// the HTTP layer calls it for every request.
func WithClient(ctx context.Context, ip, userAgent string) context.Context {
	return context.WithValue(ctx, clientKey{}, clientInfo{ip: ip, userAgent: userAgent})
}

func clientOf(ctx context.Context) clientInfo {
	c, _ := ctx.Value(clientKey{}).(clientInfo)
	return c
}

// notify mails a security notice to u after the answer, never blocking the
// request nor failing it. Notices go only to accounts that are active (a
// deactivation notice to the account as it was just before), and never
// carry a code or a link that signs in.
func (a *App) notify(ctx context.Context, u *models.User, n mail.Notice) {
	if u == nil || (!u.Active && n.Kind != mail.NoticeDeactivated) {
		return
	}
	c := clientOf(ctx)
	n.To = u.Email
	if n.At.IsZero() {
		n.At = a.Now()
	}
	// An administrator's address is not the user's business.
	if !n.ByAdmin {
		if n.IP == "" {
			n.IP = c.ip
		}
		if n.Client == "" {
			n.Client = c.userAgent
		}
	}
	msg, err := a.templates.Notice(a.catalog.Pick(deref(u.Locale), i18n.FromRequest(ctx)), n)
	if err != nil {
		a.log.ErrorContext(ctx, "render notice", "kind", n.Kind, "err", err)
		return
	}
	a.sendLater(ctx, "notice_"+n.Kind, msg)
}

// NotifyBudgetExhausted sends the one notice of a code failure budget that
// has just run out, when email belongs to an active account; wait is how
// long until codes are checked again.
func (a *App) NotifyBudgetExhausted(ctx context.Context, email string, wait time.Duration) {
	u, err := models.UserByEmail(ctx, a.db, normEmail(email))
	if err != nil {
		return // no such account (or no database): nobody to tell
	}
	a.notify(ctx, u, mail.Notice{Kind: mail.NoticeBudgetExhausted, Wait: wait})
}

// noteSignIn records where u signed in from and, when the address or the
// client was not seen in the last 30 days, sends the new sign-in notice.
// Recording is best effort: a failure must not undo a sign-in.
func (a *App) noteSignIn(ctx context.Context, u *models.User, notifyIfNew bool) {
	c := clientOf(ctx)
	now := a.Now()
	ipHash, clientHash := sourceHash(c.ip), sourceHash(strings.TrimSpace(c.userAgent))
	seen, err := models.SeenSignInSources(ctx, a.db, u.ID, ipHash, clientHash, now.Add(-newSourceWindow))
	if err != nil {
		a.log.WarnContext(ctx, "read sign-in sources", "err", err)
		return
	}
	if err := models.TouchSignInSources(ctx, a.db, u.ID, ipHash, clientHash, now); err != nil {
		a.log.WarnContext(ctx, "record sign-in sources", "err", err)
	}
	if notifyIfNew && !seen {
		a.notify(ctx, u, mail.Notice{Kind: mail.NoticeNewSignIn, At: now})
	}
}

// sourceHash keeps addresses and clients as fixed-size digests: the table
// only needs to recognise them, not to show them.
func sourceHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
