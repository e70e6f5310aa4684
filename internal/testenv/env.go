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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/minio/minio-go/v7"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/config"
	"github.com/acme/accounts/internal/server"
	"github.com/acme/accounts/mail"
	"github.com/acme/accounts/models"
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
	// DatabaseProxy runs the server's PostgreSQL connections through
	// Env.DBProxy, which a test can cut and restore. Ignored on SQLite.
	DatabaseProxy bool
	// DatabaseUser connects the server as this PostgreSQL role instead of
	// the user of TEST_DATABASE_URL (the test creates it and may take its
	// login away). Ignored on SQLite.
	DatabaseUser *url.Userinfo
	// Production runs the server as APP_ENV=production does: /metrics only
	// on METRICS_ADDR, Secure cookies.
	Production bool
	// AvatarRateLimit is AVATAR_RATE_LIMIT (0 here: off).
	AvatarRateLimit int
	// WrapObjects, when set, wraps the object store the app uses (to make
	// it fail, say); Env.Objects stays the real one.
	WrapObjects func(app.ObjectStore) app.ObjectStore
	// AppLog, when set, receives the app's log (to check what it logs).
	AppLog *slog.Logger
	// ServerLog, when set, receives the server's own log: the error
	// handler's lines and the start-up lines. Without it they are dropped.
	ServerLog *slog.Logger
}

// Env is one isolated server and its backends.
type Env struct {
	T       testing.TB
	Server  *server.Server
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
	// DBProxy is the proxy of a DatabaseProxy Env on PostgreSQL, else nil.
	DBProxy *DBProxy

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

// NeedReal skips a test that only a real service can run (name as in Real),
// saying why, or fails it in the real-service run, which must skip nothing.
func NeedReal(t testing.TB, name, why string) {
	t.Helper()
	if Real(name) {
		return
	}
	if RequireServices() {
		t.Fatalf("%s=1 but no real %s: %s", EnvRequireServices, name, why)
	}
	t.Skipf("needs a real %s: %s", name, why)
}

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
	id := RandomID()
	e := &Env{T: t, Clock: NewClock(), Secret: []byte(NewSecret()), Cfg: cfg, prefix: "t" + id + ":", mailSeen: map[string]int{}}
	conf := e.serverConfig(t, id)
	opts := []server.Option{server.WithClock(e.Clock.Now), server.WithKeyPrefix(e.prefix), server.WithAppLog(cfg.AppLog)}
	if cfg.WrapObjects != nil {
		opts = append(opts, server.WrapObjects(cfg.WrapObjects))
	}
	if conf.SMTPHost == "" {
		e.Capture = mail.NewCapture()
		opts = append(opts, server.WithMailer(e.Capture))
	} else if base := os.Getenv(EnvMailpitURL); base != "" {
		e.Mailpit = &Mailpit{BaseURL: base}
	}
	serverLog := cfg.ServerLog
	if serverLog == nil {
		serverLog = slog.New(slog.DiscardHandler)
	}
	srv, err := server.New(context.Background(), conf, serverLog, opts...)
	if err != nil {
		t.Fatalf("build the server: %v", err)
	}
	t.Cleanup(srv.Close)
	e.Server, e.Fiber, e.App, e.DB, e.Codes, e.Objects, e.S3 = srv, srv.HTTP, srv.App, srv.DB, srv.Codes, srv.Objects, srv.S3
	switch c := srv.Redis.(type) {
	case *redis.Client:
		e.Redis = c
		t.Cleanup(func() { cleanRedis(c, e.prefix) })
	case *redis.ClusterClient:
		e.RedisCluster = c
		t.Cleanup(func() {
			_ = c.ForEachMaster(context.Background(), func(_ context.Context, node *redis.Client) error {
				cleanRedis(node, e.prefix)
				return nil
			})
		})
	}
	if srv.S3 != nil {
		t.Cleanup(func() { removeBucket(srv.S3.Client(), conf.S3Bucket) })
	} else {
		e.Uploads = filepath.Join(conf.DataDir, "uploads")
	}
	return e
}

// serverConfig is the configuration the Env's server runs on: the API's
// defaults with the test's settings, on a database, Redis key prefix,
// bucket and mail capture of the Env's own.
func (e *Env) serverConfig(t testing.TB, id string) *config.Config {
	t.Helper()
	cfg := e.Cfg
	conf, err := config.Defaults()
	if err != nil {
		t.Fatalf("default config: %v", err)
	}
	conf.JWTSecret = e.Secret
	conf.BcryptCost = 4 // the lowest bcrypt allows: tests hash a lot
	conf.AutoMigrate = true
	conf.DataDir = t.TempDir()
	switch {
	case os.Getenv(EnvDatabaseURL) == "":
		// SQLite in DataDir.
	case cfg.OwnDatabase:
		conf.DatabaseURL, e.DatabaseName = ownDatabase(t, id)
	default:
		conf.DatabaseURL = ownSchema(t, id)
	}
	if conf.DatabaseURL != "" && cfg.DatabaseUser != nil {
		u, err := url.Parse(conf.DatabaseURL)
		if err != nil {
			t.Fatalf("%s: %v", EnvDatabaseURL, err)
		}
		u.User = cfg.DatabaseUser
		conf.DatabaseURL = u.String()
	}
	if conf.DatabaseURL != "" && cfg.DatabaseProxy {
		conf.DatabaseURL, e.DBProxy = proxyDatabase(t, conf.DatabaseURL)
	}
	conf.CodeTTL, conf.ResetTTL, conf.CodeMaxAttempts, conf.CodeResendCooldown = cfg.CodeTTL, cfg.ResetTTL, cfg.MaxAttempts, cfg.Cooldown
	conf.TokenTTL, conf.RefreshReuseGrace = cfg.TokenTTL, cfg.ReuseGrace
	conf.SessionIdleTTL, conf.SessionMaxTTL, conf.RefreshCookie = cfg.SessionIdleTTL, cfg.SessionMaxTTL, cfg.RefreshCookie
	conf.CORSOrigins, conf.AvatarMaxBytes = cfg.CORSOrigins, cfg.AvatarMax
	conf.AuthRateLimit, conf.AvatarRateLimit = cfg.RateLimit, cfg.AvatarRateLimit
	conf.ProxyHeader, conf.TrustedProxies = cfg.ProxyHeader, []string{"0.0.0.0", "127.0.0.1"}
	if cfg.CodeFailureBudget > 0 {
		conf.CodeFailureBudget = cfg.CodeFailureBudget
	}
	if cfg.CodeFailureWindow > 0 {
		conf.CodeFailureWindow = cfg.CodeFailureWindow
	}
	if cfg.PasswordFailureBudget > 0 {
		conf.PasswordFailureBudget = cfg.PasswordFailureBudget
	}
	conf.PurgeAfter = cfg.PurgeAfter
	if cfg.DefaultLocale != "" {
		conf.DefaultLocale = cfg.DefaultLocale
	}
	if cfg.AppName != "" {
		conf.AppName = cfg.AppName
	}
	if cfg.Production {
		conf.Env = "production"
	}

	conf.RedisURL = cfg.RedisURL
	if conf.RedisURL == "" {
		conf.RedisURL = os.Getenv(EnvRedisURL)
	}
	if cfg.RedisCluster {
		conf.RedisURL, conf.RedisCluster = redisClusterURL(t), true
	}
	conf.S3Endpoint = cfg.S3Endpoint
	if conf.S3Endpoint == "" {
		conf.S3Endpoint = os.Getenv(EnvS3Endpoint)
	}
	conf.S3AccessKey, conf.S3SecretKey, conf.S3Bucket = os.Getenv(EnvS3AccessKey), os.Getenv(EnvS3SecretKey), "t-"+id
	smtpAddr := cfg.SMTPAddr
	if smtpAddr == "" {
		smtpAddr = os.Getenv(EnvMailpitSMTP)
	}
	if smtpAddr != "" {
		host, port, err := net.SplitHostPort(smtpAddr)
		if err != nil {
			t.Fatalf("smtp addr: %v", err)
		}
		conf.SMTPHost = host
		conf.SMTPPort, _ = strconv.Atoi(port)
		conf.MailFrom = "no-reply@example.com"
	}
	return conf
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

// ownDatabase creates a PostgreSQL database for one test, dropped (with
// whatever connections remain) when the test ends, and returns its URL.
func ownDatabase(t testing.TB, id string) (string, string) {
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
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	})
	return u.String(), name
}

// ownSchema creates a PostgreSQL schema for one test, dropped when the test
// ends, and returns a database URL that selects it through search_path.
func ownSchema(t testing.TB, id string) string {
	t.Helper()
	ctx := context.Background()
	base := os.Getenv(EnvDatabaseURL)
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
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	return u.String()
}

// redisClusterURL is TEST_REDIS_CLUSTER_URL; without it the test is
// skipped, or fails when TEST_REQUIRE_SERVICES=1.
func redisClusterURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvRedisClusterURL)
	if url == "" {
		if RequireServices() {
			t.Fatalf("%s=1 but %s is not set (scripts/services.sh starts a cluster)", EnvRequireServices, EnvRedisClusterURL)
		}
		t.Skipf("no Redis Cluster: set %s (scripts/services.sh starts one)", EnvRedisClusterURL)
	}
	return url
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

// NewSecret draws a JWT_SECRET that production accepts (52 base32 digits,
// 260 random bits) for one test run. Tests draw theirs instead of writing one
// down: a strong-looking literal in the repository is one an operator might
// copy, and config must refuse every value the repository holds.
func NewSecret() string {
	return rand.Text() + rand.Text()
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
