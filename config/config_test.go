package config

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	t.Chdir(t.TempDir()) // no .env here
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.DataDir != "./data" || c.S3Bucket != "avatars" || c.CodeTTL != 10*time.Minute ||
		c.ResetTTL != 30*time.Minute || c.CodeMaxAttempts != 5 || c.CodeResendCooldown != time.Minute ||
		c.BcryptCost != 10 || c.AvatarMaxBytes != 5<<20 || c.TokenTTL != 15*time.Minute || c.Production() || !c.AutoMigrate ||
		!c.S3ForcePathStyle || !c.S3SetBucketPolicy || c.S3Region != "" || c.MetricsAddr != "" || c.AvatarRateLimit != 30 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestEveryBadValueIsNamed(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Load(env(map[string]string{
		"APP_ENV":              "staging",
		"CODE_TTL":             "ten minutes",
		"CODE_MAX_ATTEMPTS":    "0",
		"BCRYPT_COST":          "99",
		"DATABASE_URL":         "mysql://x",
		"REDIS_URL":            "localhost:6379",
		"S3_ENDPOINT":          "http://minio:9000",
		"CODE_RESEND_COOLDOWN": "-1s",
		"S3_USE_SSL":           "maybe",
		"PROXY_HEADER":         "X-Forwarded-For",
		"S3_FORCE_PATH_STYLE":  "sometimes",
		"S3_SET_BUCKET_POLICY": "2",
		"AVATAR_RATE_LIMIT":    "-1",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"APP_ENV", "CODE_TTL", "CODE_MAX_ATTEMPTS", "BCRYPT_COST", "DATABASE_URL", "REDIS_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "CODE_RESEND_COOLDOWN", "S3_USE_SSL", "TRUSTED_PROXIES", "S3_FORCE_PATH_STYLE", "S3_SET_BUCKET_POLICY", "AVATAR_RATE_LIMIT"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
}

// production is a production environment that passes every start-up rule,
// so each test changes only the variable it is about.
func production(t *testing.T, overrides map[string]string) map[string]string {
	t.Helper()
	m := map[string]string{"APP_ENV": "production", "JWT_SECRET": drawSecret(t), "SMTP_HOST": "smtp.example.com"}
	for k, v := range overrides {
		m[k] = v
	}
	return m
}

// drawSecret is what the documentation advises: openssl rand -base64 48.
func drawSecret(t *testing.T) string {
	t.Helper()
	buf := make([]byte, 48)
	if _, err := rand.Read(buf); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf)
}

// refusedNaming asserts that Load refuses vars with one line naming key.
func refusedNaming(t *testing.T, key string, vars map[string]string) {
	t.Helper()
	_, err := Load(env(vars))
	if err == nil || !strings.Contains(err.Error(), key) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("want one line naming %s, got %v", key, err)
	}
}

func TestProductionNeedsAStrongSecret(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := Load(env(production(t, nil)))
	if err != nil || !c.Production() {
		t.Fatalf("good secret: %v", err)
	}
	for name, secret := range map[string]string{
		"missing":             "",
		"short":               "short",
		"31 bytes":            strings.Repeat("0123456789abcdef", 2)[:31],
		"one byte repeated":   strings.Repeat("a", 32),
		"15 distinct bytes":   strings.Repeat("0123456789abcde", 4),
		".env.example":        "replace-with-the-output-of-openssl-rand-base64-48",
		"published, padded":   " replace-with-the-output-of-openssl-rand-base64-48 ",
		"old compose default": "change-me-change-me-change-me-change-me-change-me-0123456789",
	} {
		t.Run(name, func(t *testing.T) {
			refusedNaming(t, "JWT_SECRET", production(t, map[string]string{"JWT_SECRET": secret}))
		})
	}
	// The advised way to draw a secret always passes (64 base64 digits
	// with fewer than 16 different ones are as good as impossible).
	for range 200 {
		if _, err := Load(env(production(t, map[string]string{"JWT_SECRET": drawSecret(t)}))); err != nil {
			t.Fatalf("drawn secret: %v", err)
		}
	}
	// 16 distinct bytes is enough.
	if _, err := Load(env(production(t, map[string]string{"JWT_SECRET": strings.Repeat("0123456789abcdef", 2)}))); err != nil {
		t.Fatalf("16 distinct bytes: %v", err)
	}
}

// Development keeps working with a simple secret: it signs nothing that
// matters, and a generated one is used when it is unset.
func TestDevelopmentAcceptsASimpleSecret(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := Load(env(map[string]string{"JWT_SECRET": strings.Repeat("a", 32)}))
	if err != nil || string(c.JWTSecret) != strings.Repeat("a", 32) {
		t.Fatalf("development: %v", err)
	}
	refusedNaming(t, "JWT_SECRET", map[string]string{"JWT_SECRET": "short"})
}

func TestProductionNeedsSMTP(t *testing.T) {
	t.Chdir(t.TempDir())
	refusedNaming(t, "SMTP_HOST", production(t, map[string]string{"SMTP_HOST": ""}))
	// Development writes codes to the log on purpose.
	if _, err := Load(env(map[string]string{"APP_ENV": "development"})); err != nil {
		t.Fatalf("development without SMTP: %v", err)
	}
}

func TestDevSecretIsKeptInDataDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	c1, _ := Load(env(map[string]string{"DATA_DIR": dir}))
	if err := c1.EnsureDevSecret(); err != nil || len(c1.JWTSecret) < 32 {
		t.Fatalf("generate: %v", err)
	}
	c2, _ := Load(env(map[string]string{"DATA_DIR": dir}))
	if err := c2.EnsureDevSecret(); err != nil || string(c2.JWTSecret) != string(c1.JWTSecret) {
		t.Fatal("the development secret changed between starts")
	}
}

func TestDotEnvFillsUnsetVariables(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := writeFile(".env", "HTTP_ADDR=:9999\nCODE_TTL=\"5m\"\n"); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{"HTTP_ADDR": ":7000"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":7000" || c.CodeTTL != 5*time.Minute {
		t.Fatalf("addr %s ttl %s", c.HTTPAddr, c.CodeTTL)
	}
}

func writeFile(name, content string) error { return os.WriteFile(name, []byte(content), 0o600) }

func TestRedisClusterNeedsItsURL(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := Load(env(map[string]string{"REDIS_CLUSTER": "true"})); err == nil || !strings.Contains(err.Error(), "REDIS_CLUSTER") {
		t.Fatalf("REDIS_CLUSTER without REDIS_URL: %v", err)
	}
	c, err := Load(env(map[string]string{"REDIS_CLUSTER": "true", "REDIS_URL": "redis://10.0.0.1:7001?addr=10.0.0.2:7002"}))
	if err != nil || !c.RedisCluster {
		t.Fatalf("cluster config: %v", err)
	}
}

// TestDefaultsIgnoreTheEnvironmentAndDotEnv: the test environments start
// from Defaults, which must not pick up a developer's .env or variables.
func TestDefaultsIgnoreTheEnvironmentAndDotEnv(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("DATABASE_URL=postgres://elsewhere/db\nSMTP_HOST=smtp.example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	t.Setenv("REDIS_URL", "redis://elsewhere:6379/0")
	loaded, err := Load(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.DatabaseURL == "" || loaded.SMTPHost == "" || loaded.RedisURL == "" {
		t.Fatalf("Load did not read .env and the environment: %+v", loaded)
	}
	c, err := Defaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "" || c.SMTPHost != "" || c.RedisURL != "" || c.TokenTTL != 15*time.Minute {
		t.Fatalf("Defaults read something: database %q, smtp %q, redis %q, token ttl %s", c.DatabaseURL, c.SMTPHost, c.RedisURL, c.TokenTTL)
	}
}
