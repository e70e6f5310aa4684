// Package i18n holds the product's languages (Uzbek in Latin script,
// Russian, English), picks one for a request, and looks messages up with
// CLDR plural rules. Mails and error messages use it; error codes never do.
package i18n

import (
	"context"
	"embed"
	"fmt"
	"path"
	"strings"
	"time"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// The supported locales, as the API spells them.
const (
	English = "en"
	Uzbek   = "uz" // Latin script
	Russian = "ru"
)

// Locales lists the supported locales in a stable order.
func Locales() []string { return []string{English, Uzbek, Russian} }

// Valid reports whether s is a supported locale exactly as the API takes it.
func Valid(s string) bool {
	switch s {
	case English, Uzbek, Russian:
		return true
	}
	return false
}

//go:embed locales/*.json
var localeFS embed.FS

// Catalog holds every translation and negotiates languages. It is safe for
// concurrent use once built.
type Catalog struct {
	bundle     *goi18n.Bundle
	localizers map[string]*goi18n.Localizer
	matcher    language.Matcher
	tags       []language.Tag
	def        string
}

// New loads the embedded translations; def is the locale used when neither
// the account nor the request names a supported one.
func New(def string) (*Catalog, error) {
	if def == "" {
		def = English
	}
	if !Valid(def) {
		return nil, fmt.Errorf("i18n: unsupported default locale %q", def)
	}
	// English is the bundle's fallback: a key missing in another language
	// (which the tests forbid) still reads as English, never as an id.
	bundle := goi18n.NewBundle(language.English)
	c := &Catalog{bundle: bundle, localizers: map[string]*goi18n.Localizer{}, def: def}
	for _, loc := range Locales() {
		p := path.Join("locales", loc+".json")
		if _, err := bundle.LoadMessageFileFS(localeFS, p); err != nil {
			return nil, fmt.Errorf("i18n: load %s: %w", p, err)
		}
		c.localizers[loc] = goi18n.NewLocalizer(bundle, loc)
	}
	// The default comes first: the matcher answers it when nothing matches.
	c.tags = []language.Tag{language.Make(def)}
	for _, loc := range Locales() {
		if loc != def {
			c.tags = append(c.tags, language.Make(loc))
		}
	}
	c.matcher = language.NewMatcher(c.tags)
	return c, nil
}

// Default is the configured fallback locale.
func (c *Catalog) Default() string { return c.def }

// Negotiate picks the supported locale that best fits an Accept-Language
// header, honouring quality values (q=0 excludes a language); "" when none
// fits, so the caller can fall back.
func (c *Catalog) Negotiate(acceptLanguage string) string {
	if strings.TrimSpace(acceptLanguage) == "" {
		return ""
	}
	tags, qs, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil {
		return ""
	}
	wanted := tags[:0:0]
	for i, t := range tags {
		if qs[i] > 0 {
			wanted = append(wanted, t)
		}
	}
	if len(wanted) == 0 {
		return ""
	}
	_, idx, conf := c.matcher.Match(wanted...)
	if conf == language.No {
		return ""
	}
	base, _ := c.tags[idx].Base()
	return base.String()
}

// Pick is the language of a mail or answer: the account's locale when it has
// a supported one, else the request's, else the default.
func (c *Catalog) Pick(account, request string) string {
	switch {
	case Valid(account):
		return account
	case Valid(request):
		return request
	}
	return c.def
}

// Has reports whether locale itself (not a fallback) has a message id.
func (c *Catalog) Has(locale, id string) bool {
	l, ok := c.localizers[locale]
	if !ok {
		return false
	}
	_, tag, err := l.LocalizeWithTag(&goi18n.LocalizeConfig{MessageID: id})
	return err == nil && tag == language.Make(locale)
}

// T renders message id in locale with data (a map or struct; nil for none).
// An unknown id renders as the id itself, so a gap shows up instead of
// vanishing; tests make sure there is none.
func (c *Catalog) T(locale, id string, data any) string {
	s, err := c.localize(locale, &goi18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

// N renders message id in the plural form that count takes in locale; the
// template sees .Count (and data's fields when data is a map).
func (c *Catalog) N(locale, id string, count int, data map[string]any) string {
	td := map[string]any{"Count": count}
	for k, v := range data {
		td[k] = v
	}
	s, err := c.localize(locale, &goi18n.LocalizeConfig{MessageID: id, PluralCount: count, TemplateData: td})
	if err != nil {
		return id
	}
	return s
}

func (c *Catalog) localize(locale string, cfg *goi18n.LocalizeConfig) (string, error) {
	l, ok := c.localizers[locale]
	if !ok {
		l = c.localizers[c.def]
	}
	return l.Localize(cfg)
}

// In renders how long until something happens ("in 5 minutes", "через 5
// минут", "5 daqiqadan keyin"): seconds under a minute, else whole minutes
// rounded up, else whole hours when it is an exact number of them.
func (c *Catalog) In(locale string, d time.Duration) string {
	switch {
	case d < time.Minute:
		return c.N(locale, "time.in_seconds", max(int((d+time.Second-1)/time.Second), 1), nil)
	case d%time.Hour == 0:
		return c.N(locale, "time.in_hours", int(d/time.Hour), nil)
	}
	return c.N(locale, "time.in_minutes", int((d+time.Minute-1)/time.Minute), nil)
}

// For is how long something lasts ("for 10 minutes" spelled as each
// language says "valid for"), in whole minutes rounded down so a mail never
// promises more time than there is, at least one.
func (c *Catalog) For(locale string, d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return c.N(locale, "time.for_hours", int(d/time.Hour), nil)
	}
	return c.N(locale, "time.for_minutes", max(int(d/time.Minute), 1), nil)
}

type ctxKey struct{}

// WithRequest records the locale a request asked for (already negotiated),
// so flows deep below the HTTP layer can write mails in it.
func WithRequest(ctx context.Context, locale string) context.Context {
	return context.WithValue(ctx, ctxKey{}, locale)
}

// FromRequest is the locale recorded by WithRequest, "" when none.
func FromRequest(ctx context.Context) string {
	s, _ := ctx.Value(ctxKey{}).(string)
	return s
}
