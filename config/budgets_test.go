package config

import (
	"strings"
	"testing"
	"time"
)

func TestFailureBudgetDefaults(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.CodeFailureBudget != 10 || c.CodeFailureWindow != time.Hour || c.PasswordFailureBudget != 10 {
		t.Fatalf("budgets: %d per %s, passwords %d", c.CodeFailureBudget, c.CodeFailureWindow, c.PasswordFailureBudget)
	}
	c, err = Load(env(map[string]string{"CODE_FAILURE_BUDGET": "3", "CODE_FAILURE_WINDOW": "2h", "PASSWORD_FAILURE_BUDGET": "5"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.CodeFailureBudget != 3 || c.CodeFailureWindow != 2*time.Hour || c.PasswordFailureBudget != 5 {
		t.Fatalf("set budgets: %+v", c)
	}
}

func TestBadFailureBudgetsAreNamed(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Load(env(map[string]string{
		"CODE_FAILURE_BUDGET":     "0",
		"CODE_FAILURE_WINDOW":     "soon",
		"PASSWORD_FAILURE_BUDGET": "many",
		"PROXY_HEADER":            "X-Forwarded-For",
		"TRUSTED_PROXIES":         "10.0.0.0/8,proxy.local",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"CODE_FAILURE_BUDGET", "CODE_FAILURE_WINDOW", "PASSWORD_FAILURE_BUDGET", "TRUSTED_PROXIES"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if strings.Contains(err.Error(), "10.0.0.0/8") {
		t.Errorf("a valid CIDR was refused: %v", err)
	}
}
