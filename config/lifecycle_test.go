package config

import (
	"strings"
	"testing"
	"time"
)

func TestLifecycleAndLanguageDefaults(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DefaultLocale != "en" || c.AppName != "Accounts" || c.MailTemplatesDir != "" ||
		c.PurgeAfter != 30*24*time.Hour || c.PurgeInterval != time.Hour {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestPurgeAfterForms(t *testing.T) {
	t.Chdir(t.TempDir())
	for raw, want := range map[string]time.Duration{"0": 0, "7d": 7 * 24 * time.Hour, "90m": 90 * time.Minute, "0d": 0} {
		c, err := Load(env(map[string]string{"ACCOUNT_PURGE_AFTER": raw}))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if c.PurgeAfter != want {
			t.Errorf("ACCOUNT_PURGE_AFTER=%s gives %s, want %s", raw, c.PurgeAfter, want)
		}
	}
}

func TestLifecycleAndLanguageBadValuesAreNamed(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Load(env(map[string]string{
		"DEFAULT_LOCALE":      "de",
		"ACCOUNT_PURGE_AFTER": "a month",
		"PURGE_INTERVAL":      "0s",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"DEFAULT_LOCALE", "ACCOUNT_PURGE_AFTER", "PURGE_INTERVAL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if _, err := Load(env(map[string]string{"ACCOUNT_PURGE_AFTER": "-1d"})); err == nil {
		t.Error("a negative ACCOUNT_PURGE_AFTER was accepted")
	}
}
