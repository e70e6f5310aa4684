package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	redisstore "github.com/gofiber/storage/redis/v3"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel/trace"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/config"
	"github.com/acme/accounts/i18n"
	"github.com/acme/accounts/internal/periodic"
	"github.com/acme/accounts/internal/tracing"
	"github.com/acme/accounts/mail"
	"github.com/acme/accounts/middleware"
	"github.com/acme/accounts/migrations"
	"github.com/acme/accounts/models"
	"github.com/acme/accounts/routes"
	"github.com/acme/accounts/storage"
)

// keyPrefix namespaces every key the server keeps in Redis.
const keyPrefix = "acct:"

// backends are the concrete dependencies chosen by the configuration.
type backends struct {
	db         *bun.DB
	codes      *storage.Codes
	pwBudget   *storage.Budget
	redis      redis.UniversalClient // nil without Redis
	objects    app.ObjectStore
	uploadsDir string
	mailer     app.Mailer
	closers    []func() error
}

func (b *backends) Close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		_ = b.closers[i]()
	}
}

func loadConfig(getenv func(string) string) (*config.Config, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	if !cfg.Production() {
		if err := cfg.EnsureDevSecret(); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Production() {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openBackends connects to every dependency, logging one line per backend so
// an operator sees at once what the server runs on.
func openBackends(ctx context.Context, cfg *config.Config, log *slog.Logger, metrics *middleware.Metrics) (*backends, error) {
	b := &backends{}
	ok := false
	defer func() {
		if !ok {
			b.Close()
		}
	}()

	db, dbName, err := models.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	b.db = db
	b.closers = append(b.closers, db.Close)
	log.Info("backend", "database", dbName)

	codeOpts := storage.CodeOptions{
		Secret:      derive(cfg.JWTSecret, "one-time-codes"),
		TTL:         cfg.CodeTTL,
		ResetTTL:    cfg.ResetTTL,
		MaxAttempts: cfg.CodeMaxAttempts,
		Cooldown:    cfg.CodeResendCooldown,
		Prefix:      keyPrefix,
		OnEvent:     metrics.CodeEvent,
		// The budgets bound guesses per email whatever the codes' own limits.
		FailureBudget: cfg.CodeFailureBudget,
		FailureWindow: cfg.CodeFailureWindow,
	}
	budgetOpts := storage.BudgetOptions{Limit: cfg.PasswordFailureBudget, Window: storage.PasswordFailureWindow, Prefix: keyPrefix}
	if cfg.RedisURL != "" {
		client, addr, err := newRedisClient(cfg)
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, client.Close)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = client.Ping(pctx).Err()
		cancel()
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: cannot reach %s: %w", addr, err)
		}
		// Built from a pinged client: redisstore.New would panic on a bad URL.
		store := redisstore.NewFromConnection(client)
		b.codes = storage.NewRedisCodes(store, codeOpts)
		b.pwBudget = storage.NewRedisBudget(client, "password", budgetOpts)
		b.redis = client
		log.Info("backend", "codes", "redis "+addr)
	} else {
		b.codes = storage.NewMemoryCodes(codeOpts)
		b.pwBudget = storage.NewMemoryBudget("password", budgetOpts)
		log.Info("backend", "codes", "memory (codes are lost on restart)")
	}

	if cfg.S3Endpoint != "" {
		objects, err := storage.NewS3Objects(ctx, storage.S3Options{
			Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey,
			Bucket: cfg.S3Bucket, UseSSL: cfg.S3UseSSL, PublicURL: cfg.S3PublicURL, Region: cfg.S3Region,
			VirtualHostStyle: !cfg.S3ForcePathStyle, SkipBucketPolicy: !cfg.S3SetBucketPolicy,
		})
		if err != nil {
			return nil, fmt.Errorf("S3_ENDPOINT: %w", err)
		}
		b.objects = objects
		log.Info("backend", "objects", "s3 "+cfg.S3Endpoint+"/"+cfg.S3Bucket)
	} else {
		b.uploadsDir = filepath.Join(cfg.DataDir, "uploads")
		objects, err := storage.NewLocalObjects(b.uploadsDir, "/uploads")
		if err != nil {
			return nil, fmt.Errorf("DATA_DIR: %w", err)
		}
		b.objects = objects
		log.Info("backend", "objects", "local disk "+b.uploadsDir)
	}

	if cfg.SMTPHost != "" {
		m, err := mail.NewSMTP(mail.SMTPOptions{
			Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword,
			From: cfg.MailFrom, Timeout: 10 * time.Second,
		})
		if err != nil {
			return nil, fmt.Errorf("SMTP_HOST: %w", err)
		}
		b.mailer = m
		log.Info("backend", "mail", fmt.Sprintf("smtp %s:%d", cfg.SMTPHost, cfg.SMTPPort))
	} else {
		b.mailer = mail.NewLog(log)
		log.Info("backend", "mail", "log (each mail is written to this log)")
	}
	ok = true
	return b, nil
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

// derive gives each use of the one configured secret its own key.
func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

func newApp(cfg *config.Config, b *backends, tpl *mail.Templates, log *slog.Logger, metrics *middleware.Metrics) *app.App {
	return app.New(app.Deps{
		DB: b.db, Codes: b.codes, PasswordBudget: b.pwBudget, Mailer: b.mailer, Objects: b.objects, Events: metrics, Log: log, Templates: tpl,
		Options: app.Options{
			TokenTTL: cfg.TokenTTL, RefreshReuseGrace: cfg.RefreshReuseGrace, SessionIdleTTL: cfg.SessionIdleTTL,
			SessionMaxTTL: cfg.SessionMaxTTL, CodeTTL: cfg.CodeTTL, ResetTTL: cfg.ResetTTL, BcryptCost: cfg.BcryptCost,
			JWTSecret: cfg.JWTSecret, AvatarMaxBytes: cfg.AvatarMaxBytes, CPUSlots: cfg.CPUSlots,
			AppName: cfg.AppName, PurgeAfter: cfg.PurgeAfter,
		},
	})
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

// runPurge erases self-deactivated accounts past ACCOUNT_PURGE_AFTER and
// retries leftover avatar objects, at start and every PURGE_INTERVAL.
func runPurge(ctx context.Context, a *app.App, every time.Duration, log *slog.Logger) {
	periodic.Run(ctx, every, func(ctx context.Context) {
		res, err := a.Purge(ctx)
		switch {
		case err != nil:
			log.ErrorContext(ctx, "purge failed; retried on the next run", "err", err)
		case res.Erased > 0 || res.ObjectsDeleted > 0 || res.ObjectsLeft > 0:
			log.InfoContext(ctx, "purge", "erased", res.Erased, "objects_deleted", res.ObjectsDeleted, "objects_left", res.ObjectsLeft)
		}
	})
}

func serve(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stdout)
	cfg.CPUSlots = runtime.GOMAXPROCS(0)
	tpl, err := newTemplates(cfg)
	if err != nil {
		return err
	}
	metrics := middleware.NewMetrics()
	b, err := openBackends(ctx, cfg, log, metrics)
	if err != nil {
		return err
	}
	defer b.Close()

	if cfg.AutoMigrate {
		n, err := migrations.Up(ctx, b.db)
		if err != nil {
			return err
		}
		log.Info("migrations applied", "count", n)
	}
	a := newApp(cfg, b, tpl, log, metrics)
	// Mails sent after their answer finish before the backends close.
	defer a.WaitBackground()
	purgeCtx, stopPurge := context.WithCancel(ctx)
	purgeDone := make(chan struct{})
	go func() { runPurge(purgeCtx, a, cfg.PurgeInterval, log); close(purgeDone) }()
	// The purge stops (and finishes its current step) before the backends close.
	defer func() { stopPurge(); <-purgeDone }()
	if err := seedAdmin(ctx, cfg, a, log); err != nil {
		return err
	}

	var authLimiter middleware.Limiter
	if cfg.AuthRateLimit > 0 {
		authLimiter = storage.NewRateLimiter(b.redis, keyPrefix+"addr:", cfg.AuthRateLimit, time.Minute, nil)
	}
	// Shared through Redis like the per-address limit, so replicas together
	// allow each user AVATAR_RATE_LIMIT uploads an hour.
	var avatarLimiter middleware.Limiter
	if cfg.AvatarRateLimit > 0 {
		avatarLimiter = storage.NewRateLimiter(b.redis, keyPrefix+"avatar:", cfg.AvatarRateLimit, time.Hour, nil)
	}
	tr, err := tracing.New(ctx, cfg.OTelEndpoint, "accounts")
	if err != nil {
		return err
	}
	defer func() {
		// Spans still buffered go out before exit, within a bound.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = tr.Shutdown(sctx)
		cancel()
	}()
	var draining atomic.Bool
	server := routes.New(a, routes.Options{
		JWTSecret: cfg.JWTSecret, Metrics: metrics, Log: log, CORSOrigins: cfg.CORSOrigins,
		AvatarMaxBytes: cfg.AvatarMaxBytes, UploadsDir: b.uploadsDir, EnablePprof: cfg.EnablePprof,
		AuthLimiter: authLimiter,
		ProxyHeader: cfg.ProxyHeader, TrustedProxies: cfg.TrustedProxies,
		RefreshCookie: cfg.RefreshCookie, Development: !cfg.Production(),
		ServeMetrics: !cfg.Production(), AvatarLimiter: avatarLimiter,
		AccessLog: cfg.AccessLog, Draining: draining.Load,
		Tracer: tracer(cfg, tr), Propagator: tr.Propagator,
	})
	cleanupCtx, stopCleanup := context.WithCancel(ctx)
	defer stopCleanup()
	go cleanSessions(cleanupCtx, a, log, sessionCleanupInterval)
	// bcrypt runs one per core on low-priority threads (app.Passwords); as
	// many extra Ps let requests run beside them, and the kernel then gives
	// the request threads the CPU first. Pools above were sized by cores.
	runtime.GOMAXPROCS(2 * cfg.CPUSlots)

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	log.Info("listening", "addr", ln.Addr().String(), "env", cfg.Env, "docs", "http://"+displayAddr(ln.Addr().String())+"/docs")

	errc := make(chan error, 2)
	if cfg.MetricsAddr != "" {
		stopMetrics, err := serveMetrics(cfg.MetricsAddr, metrics, errc)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopMetrics()
		log.Info("metrics", "addr", cfg.MetricsAddr)
	}
	go func() { errc <- server.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Readiness fails first, so a load balancer stops sending new requests;
	// then the listener closes and in-flight requests finish.
	draining.Store(true)
	log.Info("shutting down", "drain", cfg.ShutdownDrain.String(), "timeout", cfg.ShutdownTimeout.String())
	select {
	case <-time.After(cfg.ShutdownDrain):
	case err := <-errc:
		return err
	}
	if err := server.ShutdownWithTimeout(cfg.ShutdownTimeout); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// tracer is the provider the routes start spans with: none without an
// endpoint, so untraced servers pay nothing per request.
func tracer(cfg *config.Config, tr *tracing.Tracing) trace.TracerProvider {
	if cfg.OTelEndpoint == "" {
		return nil
	}
	return tr.Provider
}

// serveMetrics serves /metrics on a listener of its own, so production can
// keep it off the public one; a failure of that listener stops the server
// through errc, like the main one.
func serveMetrics(addr string, metrics *middleware.Metrics, errc chan<- error) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.HTTPHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("METRICS_ADDR: %w", err)
		}
	}()
	return func() { _ = srv.Close() }, nil
}

// sessionCleanupInterval is how often ended sessions are deleted. Ended
// sessions are refused by their expiry column at once; deleting them only
// keeps the table small, so every few minutes is plenty.
const sessionCleanupInterval = 10 * time.Minute

// cleanSessions deletes ended sessions at start and then every interval
// until ctx ends. Each run is a few batched deletes over the expiry index,
// so replicas running it at once only find less to do.
func cleanSessions(ctx context.Context, a *app.App, log *slog.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := a.DeleteEndedSessions(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("session clean-up failed", "err", err)
		case n > 0:
			log.Info("ended sessions deleted", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func displayAddr(addr string) string {
	if strings.HasPrefix(addr, "[::]:") || strings.HasPrefix(addr, "0.0.0.0:") {
		return "localhost" + addr[strings.LastIndex(addr, ":"):]
	}
	return addr
}

func migrate(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	db, name, err := models.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := migrations.Up(ctx, db)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "applied %d migration(s) to %s\n", n, name)
	return err
}

// healthcheck lets a container without a shell or curl check itself.
func healthcheck(ctx context.Context, getenv func(string) string) error {
	addr := getenv("HTTP_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("healthcheck: status " + resp.Status)
	}
	return nil
}
