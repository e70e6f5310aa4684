// Package testenv builds a complete API server for tests, on the embedded
// backends (SQLite, in-memory codes, local disk, captured mail) or on real
// services when TEST_* variables point at them. Each Env is isolated: its own
// database or schema, Redis key prefix, bucket and recipients, so tests run in
// parallel.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	redisstore "github.com/gofiber/storage/redis/v3"
	"github.com/minio/minio-go/v7"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/i18n"
	"github.com/acme/accounts/mail"
	"github.com/acme/accounts/middleware"
	"github.com/acme/accounts/migrations"
	"github.com/acme/accounts/models"
	"github.com/acme/accounts/routes"
	"github.com/acme/accounts/storage"
)

// Variables that switch a backend from embedded to real.
const (
	EnvDatabaseURL      = "TEST_DATABASE_URL"
	EnvRedisURL         = "TEST_REDIS_URL"
	EnvRedisClusterURL  = "TEST_REDIS_CLUSTER_URL" // a Redis Cluster, for the tests that ask for one
	EnvS3Endpoint       = "TEST_S3_ENDPOINT"
	EnvS3AccessKey      = "TEST_S3_ACCESS_KEY"
	EnvS3SecretKey      = "TEST_S3_SECRET_KEY"
	EnvRequireServices  = "TEST_REQUIRE_SERVICES" // 1: a missing service fails the test instead of skipping it
	EnvRedisServerBin   = "TEST_REDIS_SERVER_BIN"
	EnvMinioBin         = "TEST_MINIO_BIN"
	defaultTestPassword = "correct horse battery"
)

// Password is the password the helpers register users with.
const Password = defaultTestPassword

// Config tunes one Env. Zero values take the API's defaults, except
// Cooldown, which defaults to off so tests can send several codes.
type Config struct {
	CodeTTL     time.Duration
	ResetTTL    time.Duration
	MaxAttempts int
	Cooldown    time.Duration
	TokenTTL    time.Duration
	// Sessions: zero takes the API's defaults (10s grace, 30 and 90 days).
	ReuseGrace     time.Duration
	NoReuseGrace   bool // a grace of zero (ReuseGrace 0 means the default)
	SessionIdleTTL time.Duration
	SessionMaxTTL  time.Duration
	RefreshCookie  bool
	CORSOrigins    []string
	AvatarMax      int64
	RedisURL       string // overrides TEST_REDIS_URL (a private redis-server)
	// RedisCluster runs the code, budget and rate-limit stores on the Redis
	// Cluster of TEST_REDIS_CLUSTER_URL, as REDIS_CLUSTER=true does.
	RedisCluster bool
	S3Endpoint   string // overrides TEST_S3_ENDPOINT (a private MinIO)
	SMTPAddr     string // overrides the SMTP server (a dead port)
	RateLimit    int    // AUTH_RATE_LIMIT; 0 (the default here) turns it off
	ProxyHeader  string // PROXY_HEADER, trusted from the test client's address
	// CodeFailureBudget, CodeFailureWindow and PasswordFailureBudget are the
	// failure budgets per email (10, 1h and 10 when zero, as in the API).
	CodeFailureBudget     int
	CodeFailureWindow     time.Duration
	PasswordFailureBudget int
	// PurgeAfter is ACCOUNT_PURGE_AFTER (0 here: the purge erases nobody).
	PurgeAfter time.Duration
	// DefaultLocale and AppName are DEFAULT_LOCALE and APP_NAME ("en" and
	// "Accounts" when empty).
	DefaultLocale string
	AppName       string
	// OwnDatabase gives the Env a PostgreSQL database of its own instead of
	// a schema (Env.DatabaseName names it), so a test can drop or rename it.
	OwnDatabase bool
	// NoMetricsRoute keeps /metrics off the API listener, as production does.
	NoMetricsRoute bool
	// AvatarRateLimit is AVATAR_RATE_LIMIT (0 here: off).
	AvatarRateLimit int
	// WrapObjects, when set, wraps the object store the app uses (to make
	// it fail, say); Env.Objects stays the real one.
	WrapObjects func(app.ObjectStore) app.ObjectStore
	// AppLog, when set, receives the app's log (to check what it logs).
	AppLog *slog.Logger
}

// Env is one isolated server and its backends.
type Env struct {
	T       testing.TB
	Fiber   *fiber.App
	App     *app.App
	DB      *bun.DB
	Codes   *storage.Codes
	Objects app.ObjectStore
	Clock   *Clock
	Secret  []byte
	Capture *mail.Capture // embedded mail; nil on a real SMTP server
	Mailpit *Mailpit      // real mail; nil when captured
	Redis   *redis.Client // real Redis; nil in memory or on a cluster
	// RedisCluster is the cluster client of a Config.RedisCluster Env.
	RedisCluster *redis.ClusterClient
	S3           *storage.S3Objects
	Uploads      string // local objects folder; "" on S3
	Cfg          Config
	// DatabaseName is the PostgreSQL database of an OwnDatabase Env.
	DatabaseName string

	prefix   string
	mailMu   sync.Mutex
	mailSeen map[string]int
	vars     map[string]string
}

// Real reports whether name ("database", "redis", "s3", "smtp") is a real service here.
func Real(name string) bool {
	switch name {
	case "database":
		return os.Getenv(EnvDatabaseURL) != ""
	case "redis":
		return os.Getenv(EnvRedisURL) != ""
	case "s3":
		return os.Getenv(EnvS3Endpoint) != ""
	case "smtp":
		return os.Getenv(EnvMailpitSMTP) != ""
	}
	return false
}

// RequireServices is true in CI's real-service run: nothing may be skipped.
func RequireServices() bool { return os.Getenv(EnvRequireServices) == "1" }

// Backends describes which backends this process tests, for test names and logs.
func Backends() string {
	parts := []string{"sqlite", "memory", "disk", "capture"}
	if Real("database") {
		parts[0] = "postgres"
	}
	if Real("redis") {
		parts[1] = "redis"
	}
	if Real("s3") {
		parts[2] = "minio"
	}
	if Real("smtp") {
		parts[3] = "mailpit"
	}
	return strings.Join(parts, "+")
}

// New builds a server on fresh, isolated backends and cleans them up after t.
func New(t testing.TB, cfg Config) *Env {
	t.Helper()
	checkRequired(t)
	if cfg.CodeTTL == 0 {
		cfg.CodeTTL = 10 * time.Minute
	}
	if cfg.ResetTTL == 0 {
		cfg.ResetTTL = 30 * time.Minute
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = 15 * time.Minute
	}
	if cfg.AvatarMax == 0 {
		cfg.AvatarMax = 5 << 20
	}
	if cfg.ReuseGrace == 0 && !cfg.NoReuseGrace {
		cfg.ReuseGrace = 10 * time.Second
	}
	if cfg.SessionMaxTTL == 0 {
		cfg.SessionMaxTTL = 90 * 24 * time.Hour
	}
	if cfg.SessionIdleTTL == 0 {
		cfg.SessionIdleTTL = min(30*24*time.Hour, cfg.SessionMaxTTL)
	}
	ctx := context.Background()
	id := RandomID()
	e := &Env{T: t, Clock: NewClock(), Secret: []byte("test-secret-test-secret-test-secret-0123"), Cfg: cfg, prefix: "t" + id + ":", mailSeen: map[string]int{}}

	if cfg.OwnDatabase && os.Getenv(EnvDatabaseURL) != "" {
		e.DB, e.DatabaseName = openOwnDB(t, id)
	} else {
		e.DB = openDB(t, id)
	}
	if _, err := migrations.Up(ctx, e.DB); err != nil {
		t.Fatalf("migrate: %v", err)
	}

	metrics := middleware.NewMetrics()
	codeOpts := storage.CodeOptions{
		Secret: []byte("code-secret"), TTL: cfg.CodeTTL, ResetTTL: cfg.ResetTTL, MaxAttempts: cfg.MaxAttempts,
		Cooldown: cfg.Cooldown, Prefix: e.prefix, Now: e.Clock.Now, OnEvent: metrics.CodeEvent,
		FailureBudget: cfg.CodeFailureBudget, FailureWindow: cfg.CodeFailureWindow,
	}
	budgetOpts := storage.BudgetOptions{Limit: cfg.PasswordFailureBudget, Prefix: e.prefix, Now: e.Clock.Now}
	var pwBudget *storage.Budget
	redisURL := cfg.RedisURL
	if redisURL == "" {
		redisURL = os.Getenv(EnvRedisURL)
	}
	var limiterClient redis.UniversalClient
	if cfg.RedisCluster {
		e.RedisCluster = openRedisCluster(t, e.prefix)
		store := redisstore.NewFromConnection(e.RedisCluster)
		e.Codes = storage.NewRedisCodes(store, codeOpts)
		pwBudget = storage.NewRedisBudget(e.RedisCluster, "password", budgetOpts)
		limiterClient = e.RedisCluster
	} else if redisURL != "" {
		opts, err := redis.ParseURL(redisURL)
		if err != nil {
			t.Fatalf("redis url: %v", err)
		}
		opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = time.Second, time.Second, time.Second
		opts.MaxRetries = 0
		opts.DialerRetries = 1 // as serve.go: a dead Redis answers at once
		e.Redis = redis.NewClient(opts)
		if err := e.Redis.Ping(ctx).Err(); err != nil {
			t.Fatalf("redis %s: %v", opts.Addr, err)
		}
		t.Cleanup(func() { cleanRedis(e.Redis, e.prefix); e.Redis.Close() })
		store := redisstore.NewFromConnection(e.Redis)
		e.Codes = storage.NewRedisCodes(store, codeOpts)
		pwBudget = storage.NewRedisBudget(e.Redis, "password", budgetOpts)
		limiterClient = e.Redis
	} else {
		e.Codes = storage.NewMemoryCodes(codeOpts)
		pwBudget = storage.NewMemoryBudget("password", budgetOpts)
	}

	endpoint := cfg.S3Endpoint
	if endpoint == "" {
		endpoint = os.Getenv(EnvS3Endpoint)
	}
	if endpoint != "" {
		bucket := "t-" + id
		s3, err := storage.NewS3Objects(ctx, storage.S3Options{
			Endpoint: endpoint, AccessKey: os.Getenv(EnvS3AccessKey), SecretKey: os.Getenv(EnvS3SecretKey), Bucket: bucket,
		})
		if err != nil {
			t.Fatalf("s3: %v", err)
		}
		e.S3, e.Objects = s3, s3
		t.Cleanup(func() { removeBucket(s3.Client(), bucket) })
	} else {
		e.Uploads = t.TempDir()
		local, err := storage.NewLocalObjects(e.Uploads, "/uploads")
		if err != nil {
			t.Fatalf("local objects: %v", err)
		}
		e.Objects = local
	}

	var mailer app.Mailer
	smtpAddr := cfg.SMTPAddr
	if smtpAddr == "" {
		smtpAddr = os.Getenv(EnvMailpitSMTP)
	}
	if smtpAddr != "" {
		host, portStr, err := net.SplitHostPort(smtpAddr)
		if err != nil {
			t.Fatalf("smtp addr: %v", err)
		}
		port, _ := strconv.Atoi(portStr)
		m, err := mail.NewSMTP(mail.SMTPOptions{Host: host, Port: port, From: "no-reply@example.com", Timeout: 3 * time.Second})
		if err != nil {
			t.Fatalf("smtp: %v", err)
		}
		mailer = m
		if base := os.Getenv(EnvMailpitURL); base != "" {
			e.Mailpit = &Mailpit{BaseURL: base}
		}
	} else {
		e.Capture = mail.NewCapture()
		mailer = e.Capture
	}

	if cfg.DefaultLocale == "" {
		cfg.DefaultLocale = i18n.English
	}
	cat, err := i18n.New(cfg.DefaultLocale)
	if err != nil {
		t.Fatalf("i18n: %v", err)
	}
	tpl, err := mail.NewTemplates(cat, cfg.AppName, "")
	if err != nil {
		t.Fatalf("mail templates: %v", err)
	}
	objects := e.Objects
	if cfg.WrapObjects != nil {
		objects = cfg.WrapObjects(objects)
	}
	e.App = app.New(app.Deps{
		DB: e.DB, Codes: e.Codes, PasswordBudget: pwBudget, Mailer: mailer, Objects: objects, Events: metrics, Now: e.Clock.Now, Templates: tpl, Log: cfg.AppLog,
		Options: app.Options{
			TokenTTL: cfg.TokenTTL, RefreshReuseGrace: cfg.ReuseGrace, SessionIdleTTL: cfg.SessionIdleTTL,
			SessionMaxTTL: cfg.SessionMaxTTL, CodeTTL: cfg.CodeTTL, ResetTTL: cfg.ResetTTL, BcryptCost: 4,
			JWTSecret: e.Secret, AvatarMaxBytes: cfg.AvatarMax, AppName: cfg.AppName, PurgeAfter: cfg.PurgeAfter,
		},
	})
	var authLimiter middleware.Limiter
	if cfg.RateLimit > 0 {
		authLimiter = storage.NewRateLimiter(limiterClient, e.prefix+"addr:", cfg.RateLimit, time.Minute, e.Clock.Now)
	}
	var avatarLimiter middleware.Limiter
	if cfg.AvatarRateLimit > 0 {
		avatarLimiter = storage.NewRateLimiter(limiterClient, e.prefix+"avatar:", cfg.AvatarRateLimit, time.Hour, e.Clock.Now)
	}
	e.Fiber = routes.New(e.App, routes.Options{
		JWTSecret: e.Secret, Metrics: metrics, AvatarMaxBytes: cfg.AvatarMax, UploadsDir: e.Uploads,
		RequestTimeout: 10 * time.Second, AuthLimiter: authLimiter,
		ProxyHeader: cfg.ProxyHeader, TrustedProxies: []string{"0.0.0.0", "127.0.0.1"},
		RefreshCookie: cfg.RefreshCookie, CORSOrigins: cfg.CORSOrigins, ServeMetrics: !cfg.NoMetricsRoute,
		AvatarLimiter: avatarLimiter,
	})
	return e
}

func checkRequired(t testing.TB) {
	if !RequireServices() {
		return
	}
	for _, k := range []string{EnvDatabaseURL, EnvRedisURL, EnvS3Endpoint, EnvS3AccessKey, EnvS3SecretKey, EnvMailpitSMTP, EnvMailpitURL} {
		if os.Getenv(k) == "" {
			t.Fatalf("%s=1 but %s is not set: the real-service run must not fall back to embedded backends", EnvRequireServices, k)
		}
	}
}

// openOwnDB creates a PostgreSQL database for one test and drops it (with
// whatever connections remain) when the test ends.
func openOwnDB(t testing.TB, id string) (*bun.DB, string) {
	t.Helper()
	ctx := context.Background()
	base := os.Getenv(EnvDatabaseURL)
	admin, _, err := models.Open(ctx, base, "")
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	name := "t_" + id
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvDatabaseURL, err)
	}
	u.Path = "/" + name
	db, _, err := models.Open(ctx, u.String(), "")
	if err != nil {
		t.Fatalf("postgres database: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	})
	return db, name
}

// openDB gives the test its own database: a fresh SQLite file, or a fresh
// PostgreSQL schema selected through search_path.
func openDB(t testing.TB, id string) *bun.DB {
	t.Helper()
	ctx := context.Background()
	base := os.Getenv(EnvDatabaseURL)
	if base == "" {
		db, _, err := models.Open(ctx, "", t.TempDir())
		if err != nil {
			t.Fatalf("sqlite: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	schema := "t_" + id
	admin, _, err := models.Open(ctx, base, "")
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvDatabaseURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, _, err := models.Open(ctx, u.String(), "")
	if err != nil {
		t.Fatalf("postgres schema: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	return db
}

// openRedisCluster connects to TEST_REDIS_CLUSTER_URL; without it the test
// is skipped, or fails when TEST_REQUIRE_SERVICES=1.
func openRedisCluster(t testing.TB, prefix string) *redis.ClusterClient {
	t.Helper()
	url := os.Getenv(EnvRedisClusterURL)
	if url == "" {
		if RequireServices() {
			t.Fatalf("%s=1 but %s is not set (scripts/services.sh starts a cluster)", EnvRequireServices, EnvRedisClusterURL)
		}
		t.Skipf("no Redis Cluster: set %s (scripts/services.sh starts one)", EnvRedisClusterURL)
	}
	opts, err := redis.ParseClusterURL(url)
	if err != nil {
		t.Fatalf("%s: %v", EnvRedisClusterURL, err)
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = time.Second, time.Second, time.Second
	c := redis.NewClusterClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis cluster %s: %v", url, err)
	}
	t.Cleanup(func() {
		_ = c.ForEachMaster(context.Background(), func(_ context.Context, node *redis.Client) error {
			cleanRedis(node, prefix)
			return nil
		})
		c.Close()
	})
	return c
}

func cleanRedis(c *redis.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
}

func removeBucket(c *minio.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err == nil {
			_ = c.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{})
		}
	}
	_ = c.RemoveBucket(ctx, bucket)
}

// RandomID is a short random lower-case hex string for names.
func RandomID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Email returns a recipient unique to this Env (Mailpit is shared by all tests).
func (e *Env) Email(name string) string {
	return fmt.Sprintf("%s-%s@example.com", name, RandomID())
}

// Clock is a settable clock for expiry tests; it starts at the real time.
type Clock struct {
	mu  sync.Mutex
	off time.Duration
}

// NewClock returns a clock at the real time.
func NewClock() *Clock { return &Clock{} }

// Now is the real time plus every Advance so far.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// AdminDB connects to TEST_DATABASE_URL itself (not an Env's schema), for
// tests that create, drop or rename databases.
func AdminDB(t testing.TB) *bun.DB {
	t.Helper()
	db, _, err := models.Open(context.Background(), os.Getenv(EnvDatabaseURL), "")
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
