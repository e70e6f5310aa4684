package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"github.com/acme/accounts/internal/parse"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/acme/accounts/i18n"
	"github.com/acme/accounts/models"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// Template names: operators override any of them by putting a file of the
// same name in MAIL_TEMPLATES_DIR.
const (
	CodeText   = "code.txt.tmpl"
	CodeHTML   = "code.html.tmpl"
	NoticeText = "notice.txt.tmpl"
	NoticeHTML = "notice.html.tmpl"
)

// TemplateNames lists every mail template by name.
func TemplateNames() []string { return []string{CodeText, CodeHTML, NoticeText, NoticeHTML} }

// Security notices: sent after the fact, never carrying a code or a link
// that signs in.
const (
	NoticePasswordChanged = "password_changed"
	NoticePasswordReset   = "password_reset"
	NoticeDeactivated     = "deactivated"
	NoticeNewSignIn       = "new_sign_in"
	NoticeBudgetExhausted = "budget_exhausted"
)

// NoticeKinds lists every security notice.
func NoticeKinds() []string {
	return []string{NoticePasswordChanged, NoticePasswordReset, NoticeDeactivated, NoticeNewSignIn, NoticeBudgetExhausted}
}

// Notice is what a security notice tells.
type Notice struct {
	Kind   string
	To     string
	At     time.Time // when it happened
	IP     string    // where from, when known
	Client string    // the client (user agent), when known
	// ByAdmin: the deactivation was an administrator's, which the user cannot undo.
	ByAdmin bool
	// RestoreUntil is when a self-deactivated account is erased; zero: never.
	RestoreUntil time.Time
	// Wait is how long code checks stay paused (budget exhausted).
	Wait time.Duration
}

// Templates renders the mails in every language. The templates are parsed
// once, at start, and are safe for concurrent use.
type Templates struct {
	cat     *i18n.Catalog
	appName string
	text    map[string]*texttemplate.Template
	html    map[string]*htmltemplate.Template
}

// NewTemplates parses the embedded templates and, when dir is set, the
// files in it that override them by name. A template that does not parse or
// render is an error naming its file, so a broken override stops start-up
// rather than the first mail.
func NewTemplates(cat *i18n.Catalog, appName, dir string) (*Templates, error) {
	if cat == nil {
		return nil, errors.New("mail: no language catalog")
	}
	if strings.TrimSpace(appName) == "" {
		appName = "Accounts"
	}
	t := &Templates{cat: cat, appName: appName, text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	overrides, err := overrideFiles(dir)
	if err != nil {
		return nil, err
	}
	for _, name := range TemplateNames() {
		var (
			src  []byte
			file = "templates/" + name
		)
		if p, ok := overrides[name]; ok {
			file = p
			src, err = os.ReadFile(p)
		} else {
			src, err = templateFS.ReadFile(file)
		}
		if err != nil {
			return nil, fmt.Errorf("mail template %s: %w", file, err)
		}
		if strings.Contains(name, ".html.") {
			tpl, err := htmltemplate.New(name).Option("missingkey=error").Parse(string(src))
			if err != nil {
				return nil, fmt.Errorf("mail template %s: %w", file, err)
			}
			t.html[name] = tpl
		} else {
			tpl, err := texttemplate.New(name).Option("missingkey=error").Parse(string(src))
			if err != nil {
				return nil, fmt.Errorf("mail template %s: %w", file, err)
			}
			t.text[name] = tpl
		}
		if err := t.trial(name); err != nil {
			return nil, fmt.Errorf("mail template %s: %w", file, err)
		}
	}
	return t, nil
}

// Catalog is the language catalog the mails are written from.
func (t *Templates) Catalog() *i18n.Catalog { return t.cat }

// overrideFiles maps template names to the files of dir that replace them.
// A *.tmpl file that matches no template is refused: it is a typo that
// would otherwise be silently ignored.
func overrideFiles(dir string) (map[string]string, error) {
	out := map[string]string{}
	if dir == "" {
		return out, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("mail templates folder: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tmpl") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if !slices.Contains(TemplateNames(), e.Name()) {
			return nil, fmt.Errorf("mail template %s: no embedded template has this name (known: %s)", p, strings.Join(TemplateNames(), ", "))
		}
		out[e.Name()] = p
	}
	return out, nil
}

// trial renders a template once per language with every variant of its
// data, so an override that names a missing field fails at start.
func (t *Templates) trial(name string) error {
	at := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	for _, loc := range i18n.Locales() {
		var err error
		switch name {
		case CodeText, CodeHTML:
			for _, p := range models.CodePurposes() {
				_, err = t.render(name, t.codeData(loc, p, "000000", 10*time.Minute))
				if err != nil {
					return err
				}
			}
		case NoticeText, NoticeHTML:
			for _, k := range NoticeKinds() {
				n := Notice{Kind: k, At: at, IP: "192.0.2.1", Client: "trial", RestoreUntil: at, Wait: time.Minute}
				if _, err = t.render(name, t.noticeData(loc, n)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (t *Templates) render(name string, data any) (string, error) {
	var b bytes.Buffer
	var err error
	if tpl, ok := t.html[name]; ok {
		err = tpl.Execute(&b, data)
	} else {
		err = t.text[name].Execute(&b, data)
	}
	if err != nil {
		return "", err
	}
	return b.String(), nil
}

// common is what every mail shows: the product and its language.
type common struct {
	AppName  string
	Lang     string
	Subject  string
	Greeting string
	Heading  string
	Footer   string
}

// CodeData is what the code templates render.
type CodeData struct {
	common
	Purpose    string
	Intro      string
	Code       string
	Expiry     string // "10 minutes" in the mail's language
	ExpiryLine string // the sentence that says it
	NeverShare string
	Ignore     string
}

func (t *Templates) common(loc, prefix string) common {
	app := map[string]any{"AppName": t.appName}
	return common{
		AppName:  t.appName,
		Lang:     loc,
		Subject:  t.cat.T(loc, prefix+".subject", app),
		Greeting: t.cat.T(loc, "mail.greeting", nil),
		Heading:  t.cat.T(loc, prefix+".heading", app),
		Footer:   t.cat.T(loc, "mail.footer", app),
	}
}

func (t *Templates) codeData(loc, purpose, code string, ttl time.Duration) CodeData {
	prefix := "mail.code." + purpose
	app := map[string]any{"AppName": t.appName}
	expiry := t.cat.For(loc, ttl)
	return CodeData{
		common:     t.common(loc, prefix),
		Purpose:    purpose,
		Intro:      t.cat.T(loc, prefix+".intro", app),
		Code:       code,
		Expiry:     expiry,
		ExpiryLine: t.cat.T(loc, "mail.code.validity", map[string]any{"Validity": expiry}),
		NeverShare: t.cat.T(loc, "mail.code.never_share", app),
		Ignore:     t.cat.T(loc, prefix+".ignore", app),
	}
}

// Code renders the mail that carries a one-time code for purpose in locale.
// In the plain-text part the code stands alone on its own line, so people
// and tests can pick it out; ttl is shown in whole minutes.
func (t *Templates) Code(locale, purpose, to, code string, ttl time.Duration) (Message, error) {
	if !slices.Contains(models.CodePurposes(), purpose) {
		return Message{}, fmt.Errorf("mail: unknown code purpose %q", purpose)
	}
	// Anything but the bare digits could break the "alone on its line" promise.
	if !parse.IsCode(code) {
		return Message{}, fmt.Errorf("mail: a code must be %d decimal digits", parse.CodeLength)
	}
	if ttl <= 0 {
		return Message{}, fmt.Errorf("mail: code lifetime must be positive, got %s", ttl)
	}
	d := t.codeData(t.cat.Pick(locale, ""), purpose, code, ttl)
	return t.message(to, d.Subject, CodeText, CodeHTML, d)
}

// NoticeData is what the notice templates render.
type NoticeData struct {
	common
	Kind    string
	Body    string
	Extra   string   // a second paragraph, when the notice has one
	Details []string // when, from which address and client
	NotYou  string
	Time    string
	IP      string
	Client  string
}

func (t *Templates) noticeData(loc string, n Notice) NoticeData {
	prefix := "mail.notice." + n.Kind
	app := map[string]any{"AppName": t.appName}
	d := NoticeData{common: t.common(loc, prefix), Kind: n.Kind, IP: n.IP, Client: n.Client}
	switch n.Kind {
	case NoticeDeactivated:
		if n.ByAdmin {
			d.Body = t.cat.T(loc, prefix+".body_admin", app)
		} else {
			d.Body = t.cat.T(loc, prefix+".body_self", app)
			if n.RestoreUntil.IsZero() {
				d.Extra = t.cat.T(loc, prefix+".restore_any_time", app)
			} else {
				d.Extra = t.cat.T(loc, prefix+".restore_until", map[string]any{"Until": n.RestoreUntil.UTC().Format("2006-01-02")})
			}
		}
	case NoticeBudgetExhausted:
		d.Body = t.cat.T(loc, prefix+".body", map[string]any{"AppName": t.appName, "Wait": t.cat.In(loc, n.Wait)})
	default:
		d.Body = t.cat.T(loc, prefix+".body", app)
	}
	if !n.At.IsZero() {
		d.Time = n.At.UTC().Format("2006-01-02 15:04 UTC")
		d.Details = append(d.Details, t.cat.T(loc, "mail.notice.when", map[string]any{"Time": d.Time}))
	}
	if n.IP != "" {
		d.Details = append(d.Details, t.cat.T(loc, "mail.notice.ip", map[string]any{"IP": n.IP}))
	}
	if n.Client != "" {
		d.Details = append(d.Details, t.cat.T(loc, "mail.notice.client", map[string]any{"Client": n.Client}))
	}
	d.NotYou = t.cat.T(loc, "mail.notice.not_you", app)
	return d
}

// Notice renders a security notice in locale.
func (t *Templates) Notice(locale string, n Notice) (Message, error) {
	if !slices.Contains(NoticeKinds(), n.Kind) {
		return Message{}, fmt.Errorf("mail: unknown notice %q", n.Kind)
	}
	// A client string is the caller's to choose; keep it to one short line
	// so it cannot reshape the mail (or pose as a code on a line of its own).
	n.Client = oneLine(n.Client, 200)
	n.IP = oneLine(n.IP, 64)
	d := t.noticeData(t.cat.Pick(locale, ""), n)
	return t.message(n.To, d.Subject, NoticeText, NoticeHTML, d)
}

func (t *Templates) message(to, subject, textName, htmlName string, data any) (Message, error) {
	text, err := t.render(textName, data)
	if err != nil {
		return Message{}, fmt.Errorf("mail: render %s: %w", textName, err)
	}
	html, err := t.render(htmlName, data)
	if err != nil {
		return Message{}, fmt.Errorf("mail: render %s: %w", htmlName, err)
	}
	return Message{To: to, Subject: subject, Text: text, HTML: html}, nil
}

// oneLine flattens s to a single line of at most n bytes (cut on a rune).
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
