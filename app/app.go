// Package app holds the account flows (register, login, password reset,
// profile, avatars, admin) as plain Go over small interfaces. It knows nothing
// of HTTP: routes call it, and only main builds its concrete dependencies.
package app

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/uptrace/bun"
	"golang.org/x/sync/semaphore"

	"github.com/acme/accounts/i18n"
	"github.com/acme/accounts/internal/avatarimage"
	"github.com/acme/accounts/internal/work"
	"github.com/acme/accounts/mail"
	"github.com/acme/accounts/models"
	"github.com/acme/accounts/storage"
)

// Code purposes, named once in models; the flows use these short names.
const (
	PurposeRegister   = models.PurposeRegister
	PurposeLogin      = models.PurposeLogin
	PurposePassword   = models.PurposePassword
	PurposeAdminLogin = models.PurposeAdminLogin
	PurposeReactivate = models.PurposeReactivate
)

// CodeStore keeps one-time codes and their cooldowns (storage.Codes).
type CodeStore interface {
	Issue(ctx context.Context, purpose, email string, payload []byte) (string, error)
	Reissue(ctx context.Context, purpose, email string) (string, error)
	CooldownLeft(ctx context.Context, purpose, email string) (time.Duration, error)
	StartCooldown(ctx context.Context, purpose, email string) (time.Duration, error)
	Consume(ctx context.Context, purpose, email, code string) ([]byte, error)
	MarkVerified(ctx context.Context, purpose, email, code string) error
	ConsumeVerified(ctx context.Context, purpose, email, code string) ([]byte, error)
	Discard(ctx context.Context, purpose, email string) error
	Restore(ctx context.Context, purpose, email, code string, payload []byte, verified bool) (bool, error)
	Pending(ctx context.Context, purpose, email string) ([]byte, bool, error)
	Ping(ctx context.Context) error
}

// PasswordBudget is the password failure budget per email (storage.Budget):
// a try is taken before each password check and settled after it.
type PasswordBudget interface {
	Take(ctx context.Context, email string) (storage.Try, error)
	// Failed returns the lock the failure started (0: none).
	Failed(ctx context.Context, t storage.Try) (time.Duration, error)
	Succeeded(ctx context.Context, t storage.Try) error
}

// Mailer hands a message to the mail server (or the log).
type Mailer interface {
	Send(ctx context.Context, msg mail.Message) error
}

// ObjectStore keeps public objects such as avatars (S3 or local disk).
type ObjectStore interface {
	Put(ctx context.Context, key string, body []byte, contentType string) error
	Delete(ctx context.Context, key string) error
	URL(key string) string
	Ping(ctx context.Context) error
}

// Events counts what happens to codes, for metrics.
type Events interface {
	CodeEvent(purpose, event string)
}

// Options are the tunables of the flows, from config.
type Options struct {
	TokenTTL time.Duration
	// RefreshReuseGrace is how long a just-rotated refresh token still
	// answers the same new pair (two tabs refreshing at once).
	RefreshReuseGrace time.Duration
	SessionIdleTTL    time.Duration // a session ends without a refresh for this long
	SessionMaxTTL     time.Duration // and this long after sign-in in any case
	CodeTTL           time.Duration
	ResetTTL          time.Duration
	BcryptCost        int
	JWTSecret         []byte
	AvatarMaxBytes    int64
	// CPUSlots bounds concurrent bcrypt and image decoding; 0 means
	// GOMAXPROCS. main sets it to the core count before raising GOMAXPROCS.
	CPUSlots int
	// AppName is the product name the mails carry (APP_NAME).
	AppName string
	// PurgeAfter is how long a self-deactivated account is kept before the
	// purge erases it (ACCOUNT_PURGE_AFTER); 0 keeps it forever.
	PurgeAfter time.Duration
}

// Deps are everything the flows need; main builds them.
type Deps struct {
	DB    *bun.DB
	Codes CodeStore
	// PasswordBudget counts wrong passwords per email (shared through Redis
	// when configured); nil: one in process memory.
	PasswordBudget PasswordBudget
	Mailer         Mailer
	Objects        ObjectStore
	Events         Events           // optional
	Log            *slog.Logger     // optional
	Now            func() time.Time // optional; tests inject a clock
	// Templates render the mails in every language; nil: the embedded
	// ones with English as the default.
	Templates *mail.Templates
	Options   Options
}

// App is the account service.
type App struct {
	db        *bun.DB
	codes     CodeStore
	pwBudget  PasswordBudget
	mailer    Mailer
	objects   ObjectStore
	events    Events
	log       *slog.Logger
	now       func() time.Time
	opts      Options
	passwords *Passwords
	// imageSlots bounds concurrent avatar decoding: a 40 MP image takes
	// about 160 MB while it is resized, so uploads queue instead of
	// multiplying that by the number of clients.
	imageSlots *work.Gate
	// profileGate admits GET /users/me's query to the connection pool in
	// arrival order: database/sql hands a freed connection to a random
	// waiter, which stretches the latency tail under load, so requests
	// queue here first and the pool's own queue stays empty.
	profileGate *work.Gate
	// decodeMemory holds avatarimage.DecodeBudget bytes of pixel memory, reserved
	// by each decode for what its image header says it needs.
	decodeMemory *semaphore.Weighted
	validator    *validator.Validate
	later        *work.Later
	purgeMu      sync.Mutex // one purge at a time in this process
	templates    *mail.Templates
	catalog      *i18n.Catalog
	users        signIn[models.User]
	admins       signIn[models.Admin]
	// refreshKey derives each refresh token from the previous one.
	refreshKey []byte
	// cursorKey signs the admin list's cursors.
	cursorKey []byte
}

// New builds the App from its dependencies.
func New(d Deps) *App {
	cpuSlots := d.Options.CPUSlots
	if cpuSlots <= 0 {
		cpuSlots = runtime.GOMAXPROCS(0)
	}
	a := &App{
		db:           d.DB,
		codes:        d.Codes,
		pwBudget:     d.PasswordBudget,
		mailer:       d.Mailer,
		objects:      d.Objects,
		events:       d.Events,
		log:          d.Log,
		now:          d.Now,
		opts:         d.Options,
		passwords:    NewPasswords(d.Options.BcryptCost, cpuSlots),
		imageSlots:   work.NewGate("image", cpuSlots),
		decodeMemory: semaphore.NewWeighted(avatarimage.DecodeBudget),
		validator:    newValidator(),
		later:        work.NewLater(laterMailSlots, laterMailTimeout),
		refreshKey:   derive(d.Options.JWTSecret, "refresh-tokens"),
		cursorKey:    derive(d.Options.JWTSecret, userCursorLabel),
	}
	if d.DB != nil {
		a.profileGate = work.NewGate("database connection", d.DB.DB.Stats().MaxOpenConnections)
	}
	if a.opts.SessionMaxTTL <= 0 {
		a.opts.SessionMaxTTL = 90 * 24 * time.Hour
	}
	if a.opts.SessionIdleTTL <= 0 || a.opts.SessionIdleTTL > a.opts.SessionMaxTTL {
		a.opts.SessionIdleTTL = min(30*24*time.Hour, a.opts.SessionMaxTTL)
	}
	if a.events == nil {
		a.events = noEvents{}
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.pwBudget == nil {
		a.pwBudget = storage.NewMemoryBudget("password", storage.BudgetOptions{Now: a.now})
	}
	a.templates = d.Templates
	if a.templates == nil {
		a.templates = defaultTemplates(a.opts.AppName)
	}
	a.catalog = a.templates.Catalog()
	a.users, a.admins = a.userSignIn(), a.adminSignIn()
	return a
}

// Now is the app's clock (UTC, microsecond precision as the databases store it).
func (a *App) Now() time.Time { return a.now().UTC().Truncate(time.Microsecond) }

// CodeTTL is how long a mailed code lives, for the API's expires_in.
func (a *App) CodeTTL() time.Duration { return a.opts.CodeTTL }

type noEvents struct{}

func (noEvents) CodeEvent(string, string) {}

// defaultTemplates are the embedded mails with English as the default, for
// callers that configure no language (tools, benchmarks). They are covered
// by the mail tests, so failing here is a bug in the binary.
func defaultTemplates(appName string) *mail.Templates {
	cat, err := i18n.New(i18n.English)
	if err == nil {
		var t *mail.Templates
		if t, err = mail.NewTemplates(cat, appName, ""); err == nil {
			return t
		}
	}
	panic("app: embedded mail templates: " + err.Error())
}
