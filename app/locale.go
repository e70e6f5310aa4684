package app

import (
	"context"

	"github.com/acme/accounts/i18n"
	"github.com/acme/accounts/models"
)

// accountLocaleKey carries the locale of the account a flow is mailing, so
// the mail helpers below need no extra parameter on every path.
type accountLocaleKey struct{}

// forAccount records the account's own locale (nil: none chosen) for the
// mails of this flow.
func forAccount(ctx context.Context, locale *string) context.Context {
	if locale == nil {
		return ctx
	}
	return context.WithValue(ctx, accountLocaleKey{}, *locale)
}

// mailLocale is the language of a mail: the account's locale, else the
// request's Accept-Language, else DEFAULT_LOCALE.
func (a *App) mailLocale(ctx context.Context) string {
	acct, _ := ctx.Value(accountLocaleKey{}).(string)
	return a.catalog.Pick(acct, i18n.FromRequest(ctx))
}

// Catalog is the language catalog, for the messages of the HTTP layer.
func (a *App) Catalog() *i18n.Catalog { return a.catalog }

// AppName is the product name shown in mails.
func (a *App) AppName() string { return a.opts.AppName }

// userLocale is the locale of the user with email, for a mail sent where
// the flow has not loaded the account; nil when there is none or the
// lookup fails (the mail then follows the request's language).
func (a *App) userLocale(ctx context.Context, email string) *string {
	u, err := models.UserByEmail(ctx, a.db, email)
	if err != nil {
		return nil
	}
	return u.Locale
}
