package config

import (
	"strings"
	"testing"
	"time"
)

func TestSessionDefaults(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenTTL != 15*time.Minute || c.RefreshReuseGrace != 10*time.Second || c.SessionIdleTTL != 30*24*time.Hour ||
		c.SessionMaxTTL != 90*24*time.Hour || c.RefreshCookie {
		t.Fatalf("session defaults: %+v", c)
	}
}

func TestSessionLifetimesInDays(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := Load(env(map[string]string{"SESSION_IDLE_TTL": "7d", "SESSION_MAX_TTL": "14d", "REFRESH_REUSE_GRACE": "0s"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionIdleTTL != 7*24*time.Hour || c.SessionMaxTTL != 14*24*time.Hour || c.RefreshReuseGrace != 0 {
		t.Fatalf("lifetimes: %+v", c)
	}
}

func TestSessionBadValuesAreNamed(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"idle longer than max", map[string]string{"SESSION_IDLE_TTL": "10d", "SESSION_MAX_TTL": "5d"}, "SESSION_IDLE_TTL"},
		{"token outlives idle", map[string]string{"TOKEN_TTL": "2h", "SESSION_IDLE_TTL": "1h"}, "TOKEN_TTL"},
		{"negative grace", map[string]string{"REFRESH_REUSE_GRACE": "-1s"}, "REFRESH_REUSE_GRACE"},
		{"days not a number", map[string]string{"SESSION_MAX_TTL": "xd"}, "SESSION_MAX_TTL"},
		{"cookie flag", map[string]string{"REFRESH_COOKIE": "sometimes"}, "REFRESH_COOKIE"},
		{"cookie with any origin", map[string]string{"REFRESH_COOKIE": "true", "CORS_ORIGINS": "*"}, "CORS_ORIGINS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			_, err := Load(env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error naming %s, got %v", tc.want, err)
			}
		})
	}
}
