// Package config loads the one typed Config from the environment (and a .env
// file). Every bad value is reported with the variable's name, so a wrong
// deployment fails at start-up with one clear line instead of at first use.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
)

// Config is everything the server can be told from outside.
type Config struct {
	HTTPAddr string
	Env      string // "development" or "production"
	DataDir  string

	DatabaseURL string // empty: embedded SQLite in DataDir
	RedisURL    string // empty: in-memory code store
	// RedisCluster: REDIS_URL names a Redis Cluster in go-redis's cluster
	// URL form (redis://h1:p1?addr=h2:p2&addr=h3:p3).
	RedisCluster bool

	S3Endpoint        string // empty: objects on local disk in DataDir
	S3AccessKey       string
	S3SecretKey       string
	S3Bucket          string
	S3UseSSL          bool
	S3PublicURL       string
	S3Region          string // S3_REGION: the bucket's region (AWS and others that check it)
	S3ForcePathStyle  bool   // S3_FORCE_PATH_STYLE: endpoint/bucket addressing; false: bucket.endpoint (AWS)
	S3SetBucketPolicy bool   // S3_SET_BUCKET_POLICY: set a public-read policy at start; false where the provider manages access

	SMTPHost     string // empty: mails are written to the log
	SMTPPort     int
	SMTPUsername string
	SMTPPassword string
	MailFrom     string

	JWTSecret []byte

	TokenTTL           time.Duration
	RefreshReuseGrace  time.Duration // REFRESH_REUSE_GRACE: a rotated refresh token still answers the same new pair
	SessionIdleTTL     time.Duration // SESSION_IDLE_TTL: a session without a refresh for this long ends
	SessionMaxTTL      time.Duration // SESSION_MAX_TTL: a session ends this long after sign-in whatever happens
	RefreshCookie      bool          // REFRESH_COOKIE: also hand the refresh token to browsers as an HttpOnly cookie
	CodeTTL            time.Duration
	ResetTTL           time.Duration
	CodeMaxAttempts    int
	CodeResendCooldown time.Duration
	BcryptCost         int
	AvatarMaxBytes     int64
	CORSOrigins        []string
	AuthRateLimit      int      // AUTH_RATE_LIMIT: requests per minute per client address to routes without a token
	ProxyHeader        string   // PROXY_HEADER: header holding the client address (e.g. X-Forwarded-For)
	TrustedProxies     []string // TRUSTED_PROXIES: proxies whose PROXY_HEADER is believed
	// CODE_FAILURE_BUDGET wrong codes per email within CODE_FAILURE_WINDOW
	// lock that email's codes; PASSWORD_FAILURE_BUDGET wrong passwords per
	// email within 15 minutes lock its password checks.
	CodeFailureBudget     int
	CodeFailureWindow     time.Duration
	PasswordFailureBudget int

	DefaultLocale    string        // DEFAULT_LOCALE: uz, ru or en, when neither account nor request names one
	AppName          string        // APP_NAME: the product name in every mail
	MailTemplatesDir string        // MAIL_TEMPLATES_DIR: overrides of the embedded mail templates
	PurgeAfter       time.Duration // ACCOUNT_PURGE_AFTER: self-deactivated accounts are erased after this; 0 never
	PurgeInterval    time.Duration // PURGE_INTERVAL: how often the purge job runs

	MetricsAddr     string // METRICS_ADDR: a listener of its own for /metrics (production serves it nowhere else)
	AvatarRateLimit int    // AVATAR_RATE_LIMIT: avatar uploads per user per hour (shared through Redis); 0 off
	AccessLog       bool   // ACCESS_LOG: one log line per request (default: on in production)
	OTelEndpoint    string // OTEL_EXPORTER_OTLP_ENDPOINT: OTLP/HTTP collector for traces; empty: no tracing
	// SHUTDOWN_DRAIN: after SIGTERM, /readyz answers 503 this long before the
	// server stops taking requests, so load balancers move away first.
	ShutdownDrain time.Duration
	// SHUTDOWN_TIMEOUT: how long in-flight requests may take to finish.
	ShutdownTimeout time.Duration

	AutoMigrate   bool // MIGRATE_ON_START: run pending migrations on `serve`
	LogLevel      string
	EnablePprof   bool // PPROF: expose /debug/pprof (off by default: it leaks internals)
	AdminEmail    string
	AdminPassword string
	AdminName     string
}

// Production reports whether APP_ENV=production.
func (c *Config) Production() bool { return c.Env == "production" }

// Load reads the configuration through getenv (os.Getenv in main; a map in
// tests). Values in a .env file in the working directory fill variables that
// getenv leaves empty. It returns one error naming every bad variable.
func Load(getenv func(string) string) (*Config, error) {
	return load(getenv, readDotEnv(".env"))
}

// Defaults is the configuration with nothing set: neither the environment
// nor a .env file is read, so a test environment built on it cannot reach a
// developer's own database or mail server by accident.
func Defaults() (*Config, error) {
	return load(func(string) string { return "" }, nil)
}

func load(getenv func(string) string, dotenv map[string]string) (*Config, error) {
	get := func(key string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return dotenv[key]
	}
	p := parser{get: get}

	c := &Config{
		HTTPAddr:              p.str("HTTP_ADDR", ":8080"),
		Env:                   p.oneOf("APP_ENV", "development", "development", "production"),
		DataDir:               p.str("DATA_DIR", "./data"),
		DatabaseURL:           p.str("DATABASE_URL", ""),
		RedisURL:              p.str("REDIS_URL", ""),
		RedisCluster:          p.boolean("REDIS_CLUSTER", false),
		S3Endpoint:            p.str("S3_ENDPOINT", ""),
		S3AccessKey:           p.str("S3_ACCESS_KEY", ""),
		S3SecretKey:           p.str("S3_SECRET_KEY", ""),
		S3Bucket:              p.str("S3_BUCKET", "avatars"),
		S3UseSSL:              p.boolean("S3_USE_SSL", false),
		S3PublicURL:           p.str("S3_PUBLIC_URL", ""),
		S3Region:              p.str("S3_REGION", ""),
		S3ForcePathStyle:      p.boolean("S3_FORCE_PATH_STYLE", true),
		S3SetBucketPolicy:     p.boolean("S3_SET_BUCKET_POLICY", true),
		SMTPHost:              p.str("SMTP_HOST", ""),
		SMTPPort:              p.integer("SMTP_PORT", 587, 1, 65535),
		SMTPUsername:          p.str("SMTP_USERNAME", ""),
		SMTPPassword:          p.str("SMTP_PASSWORD", ""),
		MailFrom:              p.str("MAIL_FROM", "no-reply@localhost"),
		TokenTTL:              p.duration("TOKEN_TTL", 15*time.Minute, time.Minute),
		RefreshReuseGrace:     p.duration("REFRESH_REUSE_GRACE", 10*time.Second, 0),
		SessionIdleTTL:        p.duration("SESSION_IDLE_TTL", 30*24*time.Hour, time.Minute),
		SessionMaxTTL:         p.duration("SESSION_MAX_TTL", 90*24*time.Hour, time.Minute),
		RefreshCookie:         p.boolean("REFRESH_COOKIE", false),
		CodeTTL:               p.duration("CODE_TTL", 10*time.Minute, time.Second),
		ResetTTL:              p.duration("RESET_TTL", 30*time.Minute, time.Second),
		CodeMaxAttempts:       p.integer("CODE_MAX_ATTEMPTS", 5, 1, 100),
		CodeResendCooldown:    p.duration("CODE_RESEND_COOLDOWN", 60*time.Second, 0),
		BcryptCost:            p.integer("BCRYPT_COST", 10, 4, 31),
		AvatarMaxBytes:        int64(p.integer("AVATAR_MAX_BYTES", 5<<20, 1024, 100<<20)),
		CORSOrigins:           p.list("CORS_ORIGINS"),
		AuthRateLimit:         p.integer("AUTH_RATE_LIMIT", 60, 0, 1_000_000),
		ProxyHeader:           p.str("PROXY_HEADER", ""),
		TrustedProxies:        p.list("TRUSTED_PROXIES"),
		CodeFailureBudget:     p.integer("CODE_FAILURE_BUDGET", 10, 1, 10_000),
		CodeFailureWindow:     p.duration("CODE_FAILURE_WINDOW", time.Hour, time.Minute),
		PasswordFailureBudget: p.integer("PASSWORD_FAILURE_BUDGET", 10, 1, 10_000),
		DefaultLocale:         p.oneOf("DEFAULT_LOCALE", "en", "en", "uz", "ru"),
		AppName:               p.str("APP_NAME", "Accounts"),
		MailTemplatesDir:      p.str("MAIL_TEMPLATES_DIR", ""),
		PurgeAfter:            p.days("ACCOUNT_PURGE_AFTER", 30*24*time.Hour),
		PurgeInterval:         p.duration("PURGE_INTERVAL", time.Hour, time.Second),
		MetricsAddr:           p.str("METRICS_ADDR", ""),
		AvatarRateLimit:       p.integer("AVATAR_RATE_LIMIT", 30, 0, 1_000_000),
		ShutdownDrain:         p.duration("SHUTDOWN_DRAIN", 0, 0),
		OTelEndpoint:          p.str("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
		ShutdownTimeout:       p.duration("SHUTDOWN_TIMEOUT", 20*time.Second, time.Second),
		AutoMigrate:           p.boolean("MIGRATE_ON_START", true),
		LogLevel:              p.oneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		EnablePprof:           p.boolean("PPROF", false),
		AdminEmail:            p.str("ADMIN_EMAIL", ""),
		AdminPassword:         p.str("ADMIN_PASSWORD", ""),
		AdminName:             p.str("ADMIN_NAME", "Admin"),
	}

	if c.DatabaseURL != "" {
		p.url("DATABASE_URL", c.DatabaseURL, "postgres", "postgresql")
	}
	if c.RedisURL != "" {
		p.url("REDIS_URL", c.RedisURL, "redis", "rediss")
	}
	c.AccessLog = p.boolean("ACCESS_LOG", c.Production())
	if c.OTelEndpoint != "" {
		p.url("OTEL_EXPORTER_OTLP_ENDPOINT", c.OTelEndpoint, "http", "https")
	}
	if c.RedisCluster && c.RedisURL == "" {
		p.fail("REDIS_CLUSTER", "needs REDIS_URL (redis://h1:p1?addr=h2:p2&addr=h3:p3)")
	}
	if c.S3Endpoint != "" {
		if strings.Contains(c.S3Endpoint, "://") {
			p.fail("S3_ENDPOINT", "must be host:port without a scheme (use S3_USE_SSL for https)")
		}
		if c.S3AccessKey == "" {
			p.fail("S3_ACCESS_KEY", "is required when S3_ENDPOINT is set")
		}
		if c.S3SecretKey == "" {
			p.fail("S3_SECRET_KEY", "is required when S3_ENDPOINT is set")
		}
		if c.S3PublicURL != "" {
			p.url("S3_PUBLIC_URL", c.S3PublicURL, "http", "https")
		}
	}
	if c.S3Bucket == "" {
		p.fail("S3_BUCKET", "must not be empty")
	}
	if c.SMTPHost != "" && !strings.Contains(c.MailFrom, "@") {
		p.fail("MAIL_FROM", "must be an email address")
	}
	// A client address header is only as good as the proxy that sets it:
	// believing it from anyone would let each request pick its own budget.
	if c.ProxyHeader != "" && len(c.TrustedProxies) == 0 {
		p.fail("TRUSTED_PROXIES", "is required when PROXY_HEADER is set")
	}
	for _, tp := range c.TrustedProxies {
		if !validAddressOrCIDR(tp) {
			p.fail("TRUSTED_PROXIES", fmt.Sprintf("must list IP addresses or CIDRs, got %q", tp))
		}
	}
	if c.SessionIdleTTL > c.SessionMaxTTL {
		p.fail("SESSION_IDLE_TTL", "must not be longer than SESSION_MAX_TTL")
	}
	if c.TokenTTL > c.SessionIdleTTL {
		p.fail("TOKEN_TTL", "must not be longer than SESSION_IDLE_TTL (an access token would outlive its session)")
	}
	// A credentialed CORS answer must name the origin: browsers refuse
	// cookies with a wildcard, and echoing any origin would let every site
	// use the refresh cookie.
	if c.RefreshCookie {
		for _, o := range c.CORSOrigins {
			if o == "*" {
				p.fail("CORS_ORIGINS", "must list the allowed origins, not *, when REFRESH_COOKIE=true")
			}
		}
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		p.fail("ADMIN_PASSWORD", "ADMIN_EMAIL and ADMIN_PASSWORD go together")
	}

	// Without SMTP every code goes to the log: whoever reads the log could
	// reset any password, and users would never get a mail.
	if c.Production() && c.SMTPHost == "" {
		p.fail("SMTP_HOST", "is required when APP_ENV=production (without it codes would only reach the log)")
	}

	// Anyone who knows the key can sign a token for any user id, so
	// production also refuses keys that are easy to guess or already public.
	// The advice is base64, not hex: 64 hex digits miss one of the 16 digits
	// about one time in four, which the distinct-byte rule would refuse.
	secret := get("JWT_SECRET")
	switch {
	case secret == "":
		if c.Production() {
			p.fail("JWT_SECRET", "is required when APP_ENV=production")
		}
	case len(secret) < 32:
		p.fail("JWT_SECRET", "must be at least 32 bytes")
	case c.Production() && distinctBytes(secret) < 16:
		p.fail("JWT_SECRET", "must have at least 16 distinct bytes (draw one with: openssl rand -base64 48)")
	case c.Production() && knownSecret(secret):
		p.fail("JWT_SECRET", "is a published example value (draw one with: openssl rand -base64 48)")
	default:
		c.JWTSecret = []byte(secret)
	}

	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// EnsureDevSecret gives development a stable signing key without set-up: it is
// generated once and kept in DATA_DIR, so tokens survive a restart.
func (c *Config) EnsureDevSecret() error {
	if len(c.JWTSecret) > 0 {
		return nil
	}
	path := filepath.Join(c.DataDir, "jwt_secret")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		c.JWTSecret = []byte(strings.TrimSpace(string(b)))
		return nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return fmt.Errorf("generate development JWT secret: %w", err)
	}
	secret := hex.EncodeToString(buf)
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("DATA_DIR: keep development JWT secret: %w", err)
	}
	c.JWTSecret = []byte(secret)
	return nil
}

type parser struct {
	get  func(string) string
	errs []string
}

func (p *parser) fail(key, msg string) { p.errs = append(p.errs, key+" "+msg) }

func (p *parser) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return errors.New("config: " + strings.Join(p.errs, "; "))
}

func (p *parser) str(key, def string) string {
	if v := strings.TrimSpace(p.get(key)); v != "" {
		return v
	}
	return def
}

func (p *parser) oneOf(key, def string, allowed ...string) string {
	v := p.str(key, def)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.fail(key, fmt.Sprintf("must be one of %s, got %q", strings.Join(allowed, ", "), v))
	return def
}

func (p *parser) boolean(key string, def bool) bool {
	v := p.str(key, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(key, fmt.Sprintf("must be true or false, got %q", v))
		return def
	}
	return b
}

func (p *parser) integer(key string, def, minV, maxV int) int {
	v := p.str(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < minV || n > maxV {
		p.fail(key, fmt.Sprintf("must be a whole number from %d to %d, got %q", minV, maxV, v))
		return def
	}
	return n
}

func (p *parser) duration(key string, def, minV time.Duration) time.Duration {
	v := p.str(key, "")
	if v == "" {
		return def
	}
	d, err := parseDuration(v)
	if err != nil || d < minV {
		p.fail(key, fmt.Sprintf("must be a duration such as 90s, 10m or 30d, at least %s, got %q", minV, v))
		return def
	}
	return d
}

// parseDuration is time.ParseDuration plus whole days ("30d"), the unit
// session lifetimes are thought of in.
func parseDuration(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("bad number of days %q", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

// days reads a duration that may also be given in days ("30d"), as
// retention periods usually are; "0" turns the feature off.
func (p *parser) days(key string, def time.Duration) time.Duration {
	v := p.str(key, "")
	switch {
	case v == "":
		return def
	case v == "0":
		return 0
	case strings.HasSuffix(v, "d"):
		n, err := strconv.Atoi(strings.TrimSuffix(v, "d"))
		if err == nil && n >= 0 && n <= 36500 {
			return time.Duration(n) * 24 * time.Hour
		}
	default:
		if d, err := time.ParseDuration(v); err == nil && d >= 0 {
			return d
		}
	}
	p.fail(key, fmt.Sprintf("must be a number of days such as 30d, a duration such as 720h, or 0 for never, got %q", v))
	return def
}

func (p *parser) list(key string) []string {
	var out []string
	for _, s := range strings.Split(p.str(key, ""), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) url(key, raw string, schemes ...string) {
	u, err := url.Parse(raw)
	if err != nil {
		p.fail(key, "is not a valid URL")
		return
	}
	for _, s := range schemes {
		if u.Scheme == s && u.Host != "" {
			return
		}
	}
	p.fail(key, fmt.Sprintf("must be a %s:// URL with a host", schemes[0]))
}

func validAddressOrCIDR(s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// readDotEnv returns the .env file's values; a missing or unreadable file is
// the same as an empty one, since .env is a development convenience.
func readDotEnv(path string) map[string]string {
	m, err := godotenv.Read(path)
	if err != nil {
		return map[string]string{}
	}
	return m
}
