package config

import (
	"os"
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
		c.BcryptCost != 10 || c.AvatarMaxBytes != 5<<20 || c.TokenTTL != 15*time.Minute || c.Production() || !c.AutoMigrate {
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
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"APP_ENV", "CODE_TTL", "CODE_MAX_ATTEMPTS", "BCRYPT_COST", "DATABASE_URL", "REDIS_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "CODE_RESEND_COOLDOWN", "S3_USE_SSL", "TRUSTED_PROXIES"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
}

func TestProductionNeedsALongSecret(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := Load(env(map[string]string{"APP_ENV": "production"})); err == nil || !strings.Contains(err.Error(), "JWT_SECRET") {
		t.Fatalf("missing secret: %v", err)
	}
	if _, err := Load(env(map[string]string{"APP_ENV": "production", "JWT_SECRET": "short"})); err == nil || !strings.Contains(err.Error(), "JWT_SECRET") {
		t.Fatalf("short secret: %v", err)
	}
	c, err := Load(env(map[string]string{"APP_ENV": "production", "JWT_SECRET": strings.Repeat("s", 32)}))
	if err != nil || !c.Production() {
		t.Fatalf("good secret: %v", err)
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
