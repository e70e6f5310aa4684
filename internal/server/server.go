// Package server is the composition root: the one place that turns a Config
// into concrete dependencies (database, Redis, object storage, mail), the
// app on top of them and its HTTP routes. `serve`, `admin create`, `migrate`
// and the tests' environments all build through it, so what is tested is
// the wiring that runs; tests change only what Options allow (the clock, the
// mailer, key and bucket names).
package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	redisstore "github.com/gofiber/storage/redis/v3"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/config"
	"github.com/acme/accounts/i18n"
	"github.com/acme/accounts/internal/tracing"
	"github.com/acme/accounts/mail"
	"github.com/acme/accounts/middleware"
	"github.com/acme/accounts/migrations"
	"github.com/acme/accounts/models"
	"github.com/acme/accounts/routes"
	"github.com/acme/accounts/storage"
)

// DefaultKeyPrefix namespaces every key the server keeps in Redis.
const DefaultKeyPrefix = "acct:"

// Option changes one thing New builds; the defaults are production's.
type Option func(*options)

type options struct {
	now         func() time.Time
	mailer      app.Mailer
	keyPrefix   string
	wrapObjects func(app.ObjectStore) app.ObjectStore
	appLog      *slog.Logger
}

// WithClock gives the app, the code store, the budgets and the limiters a
// clock of the caller's (tests move it forward).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithMailer sends mail through m instead of SMTP_HOST or the log.
func WithMailer(m app.Mailer) Option { return func(o *options) { o.mailer = m } }

// WithKeyPrefix namespaces the Redis keys (one prefix per test).
func WithKeyPrefix(p string) Option { return func(o *options) { o.keyPrefix = p } }

// WrapObjects wraps the object store the app uses (a test makes it fail);
// Server.Objects stays the real one.
func WrapObjects(wrap func(app.ObjectStore) app.ObjectStore) Option {
	return func(o *options) { o.wrapObjects = wrap }
}

// WithAppLog sends the app's log lines to l instead of the server's log.
func WithAppLog(l *slog.Logger) Option { return func(o *options) { o.appLog = l } }

// Server is the API built from a Config.
type Server struct {
	Config *config.Config
	Log    *slog.Logger
	DB     *bun.DB
	DBName string
	// Redis is nil without REDIS_URL; a *redis.ClusterClient with REDIS_CLUSTER.
	Redis   redis.UniversalClient
	Codes   *storage.Codes
	Objects app.ObjectStore
	S3      *storage.S3Objects    // nil when objects live on local disk
	Local   *storage.LocalObjects // nil on S3
	Mailer  app.Mailer
	Metrics *middleware.Metrics
	App     *app.App
	HTTP    *fiber.App
	// CPUSlots is how many bcrypt hashes and image decodes run at once: the
	// cores Go saw when the server was built.
	CPUSlots int

	tracing  *tracing.Tracing
	draining atomic.Bool
	closers  []func() error
}

// New connects to every dependency the configuration names, builds the app
// and its routes, and logs one line per backend so an operator sees at once
// what the server runs on. With MIGRATE_ON_START it migrates the database.
// On error, whatever was opened is closed again.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (_ *Server, err error) {
	o := options{keyPrefix: DefaultKeyPrefix}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Server{Config: cfg, Log: log, Metrics: middleware.NewMetrics(), CPUSlots: runtime.GOMAXPROCS(0)}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	// The templates first: a broken override fails before any connection.
	tpl, err := newTemplates(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.openDatabase(ctx); err != nil {
		return nil, err
	}
	if cfg.AutoMigrate {
		n, err := migrations.Up(ctx, s.DB)
		if err != nil {
			return nil, err
		}
		log.Info("migrations applied", "count", n)
	}
	codes, budget, err := s.openCodes(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := s.openObjects(ctx); err != nil {
		return nil, err
	}
	if err := s.openMail(o); err != nil {
		return nil, err
	}
	objects := s.Objects
	if o.wrapObjects != nil {
		objects = o.wrapObjects(objects)
	}
	appLog := o.appLog
	if appLog == nil {
		appLog = log
	}
	s.App = app.New(app.Deps{
		DB: s.DB, Codes: codes, PasswordBudget: budget, Mailer: s.Mailer, Objects: objects, Events: s.Metrics,
		Log: appLog, Now: o.now, Templates: tpl, Options: appOptions(cfg, s.CPUSlots),
	})
	s.closers = append(s.closers, func() error { s.App.Close(); return nil })

	s.tracing, err = tracing.New(ctx, cfg.OTelEndpoint, "accounts")
	if err != nil {
		return nil, err
	}
	s.HTTP = routes.New(s.App, s.routeOptions(o))
	return s, nil
}

// NewStore is the migrated database and the app's flows on it, nothing
// else: for commands that only write rows (admin create), which must work
// while Redis, object storage or mail are unreachable.
func NewStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Server, error) {
	s := &Server{Config: cfg, Log: log, CPUSlots: runtime.GOMAXPROCS(0)}
	if err := s.openDatabase(ctx); err != nil {
		return nil, err
	}
	if _, err := migrations.Up(ctx, s.DB); err != nil {
		s.Close()
		return nil, err
	}
	s.App = app.New(app.Deps{DB: s.DB, Log: log, Options: appOptions(cfg, s.CPUSlots)})
	s.closers = append(s.closers, func() error { s.App.Close(); return nil })
	return s, nil
}

// Migrate applies the pending migrations to the configured database and
// reports how many ran and the database's name.
func Migrate(ctx context.Context, cfg *config.Config) (applied int, database string, err error) {
	db, name, err := models.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return 0, "", err
	}
	defer db.Close()
	n, err := migrations.Up(ctx, db)
	return n, name, err
}

// StartDraining makes /readyz answer 503, so load balancers stop sending
// new requests before the listener closes.
func (s *Server) StartDraining() { s.draining.Store(true) }

// Close waits for the mails still being sent after their answer, flushes
// buffered spans within a bound, and closes every backend, newest first.
func (s *Server) Close() {
	if s.tracing != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.tracing.Shutdown(ctx)
		cancel()
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		_ = s.closers[i]()
	}
	s.closers = nil
}

func (s *Server) openDatabase(ctx context.Context) error {
	db, name, err := models.Open(ctx, s.Config.DatabaseURL, s.Config.DataDir)
	if err != nil {
		return err
	}
	s.DB, s.DBName = db, name
	s.closers = append(s.closers, db.Close)
	s.Log.Info("backend", "database", name)
	return nil
}

// openCodes builds the one-time code store and the password failure budget:
// in Redis (shared by every instance) when configured, else in memory.
func (s *Server) openCodes(ctx context.Context, o options) (*storage.Codes, *storage.Budget, error) {
	cfg := s.Config
	codeOpts := storage.CodeOptions{
		Secret:      derive(cfg.JWTSecret, "one-time-codes"),
		TTL:         cfg.CodeTTL,
		ResetTTL:    cfg.ResetTTL,
		MaxAttempts: cfg.CodeMaxAttempts,
		Cooldown:    cfg.CodeResendCooldown,
		Prefix:      o.keyPrefix,
		Now:         o.now,
		OnEvent:     s.Metrics.CodeEvent,
		// The budgets bound guesses per email whatever the codes' own limits.
		FailureBudget: cfg.CodeFailureBudget,
		FailureWindow: cfg.CodeFailureWindow,
	}
	budgetOpts := storage.BudgetOptions{
		Limit: cfg.PasswordFailureBudget, Window: storage.PasswordFailureWindow, Prefix: o.keyPrefix, Now: o.now,
	}
	if cfg.RedisURL == "" {
		s.Codes = storage.NewMemoryCodes(codeOpts)
		s.Log.Info("backend", "codes", "memory (codes are lost on restart)")
		return s.Codes, storage.NewMemoryBudget("password", budgetOpts), nil
	}
	client, addr, err := newRedisClient(cfg)
	if err != nil {
		return nil, nil, err
	}
	s.closers = append(s.closers, client.Close)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = client.Ping(pctx).Err()
	cancel()
	if err != nil {
		return nil, nil, fmt.Errorf("REDIS_URL: cannot reach %s: %w", addr, err)
	}
	s.Redis = client
	// Built from a pinged client: redisstore.New would panic on a bad URL.
	s.Codes = storage.NewRedisCodes(redisstore.NewFromConnection(client), codeOpts)
	s.Log.Info("backend", "codes", "redis "+addr)
	return s.Codes, storage.NewRedisBudget(client, "password", budgetOpts), nil
}

// newRedisClient connects to one Redis or, with REDIS_CLUSTER, to a Redis
// Cluster; every multi-key script keeps its keys in one hash slot, so the
// stores work on either. It fails fast: a dead Redis should turn into a 503
// within the request's deadline, not after go-redis's default retries.
func newRedisClient(cfg *config.Config) (redis.UniversalClient, string, error) {
	const timeout = 2 * time.Second
	if cfg.RedisCluster {
		opts, err := redis.ParseClusterURL(cfg.RedisURL)
		if err != nil {
			return nil, "", fmt.Errorf("REDIS_URL: %w", err)
		}
		opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = timeout, timeout, timeout
		opts.MaxRetries = 1
		return redis.NewClusterClient(opts), "cluster " + strings.Join(opts.Addrs, ","), nil
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, "", fmt.Errorf("REDIS_URL: %w", err)
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = timeout, timeout, timeout
	opts.MaxRetries = 1
	// go-redis dials a dead server 5 times by default: ~1s per request
	// before its 503.
	opts.DialerRetries = 1
	return redis.NewClient(opts), opts.Addr, nil
}

// openObjects is S3 when S3_ENDPOINT is set, else a folder in DATA_DIR that
// the routes serve under /uploads.
func (s *Server) openObjects(ctx context.Context) error {
	cfg := s.Config
	if cfg.S3Endpoint != "" {
		objects, err := storage.NewS3Objects(ctx, storage.S3Options{
			Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey,
			Bucket: cfg.S3Bucket, UseSSL: cfg.S3UseSSL, PublicURL: cfg.S3PublicURL, Region: cfg.S3Region,
			VirtualHostStyle: !cfg.S3ForcePathStyle, SkipBucketPolicy: !cfg.S3SetBucketPolicy,
		})
		if err != nil {
			return fmt.Errorf("S3_ENDPOINT: %w", err)
		}
		s.S3, s.Objects = objects, objects
		s.Log.Info("backend", "objects", "s3 "+cfg.S3Endpoint+"/"+cfg.S3Bucket)
		return nil
	}
	dir := filepath.Join(cfg.DataDir, "uploads")
	local, err := storage.NewLocalObjects(dir, storage.DefaultLocalPublicBase)
	if err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
	}
	s.Local, s.Objects = local, local
	s.Log.Info("backend", "objects", "local disk "+dir)
	return nil
}

func (s *Server) openMail(o options) error {
	cfg := s.Config
	switch {
	case o.mailer != nil:
		s.Mailer = o.mailer
	case cfg.SMTPHost != "":
		m, err := mail.NewSMTP(mail.SMTPOptions{
			Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword,
			From: cfg.MailFrom, Timeout: 10 * time.Second,
		})
		if err != nil {
			return fmt.Errorf("SMTP_HOST: %w", err)
		}
		s.Mailer = m
		s.Log.Info("backend", "mail", fmt.Sprintf("smtp %s:%d", cfg.SMTPHost, cfg.SMTPPort))
	default:
		s.Mailer = mail.NewLog(s.Log)
		s.Log.Info("backend", "mail", "log (each mail is written to this log)")
	}
	return nil
}

func (s *Server) routeOptions(o options) routes.Options {
	cfg := s.Config
	ro := routes.Options{
		JWTSecret: cfg.JWTSecret, Metrics: s.Metrics, Log: s.Log, CORSOrigins: cfg.CORSOrigins,
		AvatarMaxBytes: cfg.AvatarMaxBytes, EnablePprof: cfg.EnablePprof,
		ProxyHeader: cfg.ProxyHeader, TrustedProxies: cfg.TrustedProxies,
		RefreshCookie: cfg.RefreshCookie, Development: !cfg.Production(),
		// Production serves /metrics only on METRICS_ADDR.
		ServeMetrics: !cfg.Production(),
		AccessLog:    cfg.AccessLog, Draining: s.draining.Load,
		Propagator: s.tracing.Propagator,
	}
	if s.Local != nil {
		ro.Uploads = s.Local
	}
	// Untraced servers pay nothing per request.
	if cfg.OTelEndpoint != "" {
		ro.Tracer = s.tracing.Provider
	}
	// The limiters count in Redis when configured, so replicas share them.
	if cfg.AuthRateLimit > 0 {
		ro.AuthLimiter = storage.NewRateLimiter(s.Redis, o.keyPrefix+"addr:", cfg.AuthRateLimit, time.Minute, o.now)
	}
	if cfg.AvatarRateLimit > 0 {
		ro.AvatarLimiter = storage.NewRateLimiter(s.Redis, o.keyPrefix+"avatar:", cfg.AvatarRateLimit, time.Hour, o.now)
	}
	return ro
}

func appOptions(cfg *config.Config, cpuSlots int) app.Options {
	return app.Options{
		TokenTTL: cfg.TokenTTL, RefreshReuseGrace: cfg.RefreshReuseGrace, SessionIdleTTL: cfg.SessionIdleTTL,
		SessionMaxTTL: cfg.SessionMaxTTL, CodeTTL: cfg.CodeTTL, ResetTTL: cfg.ResetTTL, BcryptCost: cfg.BcryptCost,
		JWTSecret: cfg.JWTSecret, AvatarMaxBytes: cfg.AvatarMaxBytes, CPUSlots: cpuSlots,
		AppName: cfg.AppName, PurgeAfter: cfg.PurgeAfter,
	}
}

// newTemplates loads the languages and the mail templates, with the
// operator's overrides; a broken override stops start-up naming its file.
func newTemplates(cfg *config.Config) (*mail.Templates, error) {
	cat, err := i18n.New(cfg.DefaultLocale)
	if err != nil {
		return nil, fmt.Errorf("DEFAULT_LOCALE: %w", err)
	}
	tpl, err := mail.NewTemplates(cat, cfg.AppName, cfg.MailTemplatesDir)
	if err != nil {
		return nil, fmt.Errorf("MAIL_TEMPLATES_DIR: %w", err)
	}
	return tpl, nil
}

// derive gives each use of the one configured secret its own key.
func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// NewLogger is the server's log: JSON in production, text otherwise, at
// LOG_LEVEL.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Production() {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
