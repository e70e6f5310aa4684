package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A mail template override that does not parse stops start-up, naming the
// file, before any backend is contacted.
func TestBrokenMailTemplateStopsStartup(t *testing.T) {
	t.Chdir(t.TempDir())
	dir := t.TempDir()
	bad := filepath.Join(dir, "code.html.tmpl")
	if err := os.WriteFile(bad, []byte("<p>{{.Code</p>"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	env := map[string]string{"DATA_DIR": t.TempDir(), "HTTP_ADDR": "127.0.0.1:0", "MAIL_TEMPLATES_DIR": dir}
	err := run(ctx, []string{"serve"}, getenvFrom(env), nil, &out)
	if err == nil {
		t.Fatal("started anyway")
	}
	if !strings.Contains(err.Error(), "MAIL_TEMPLATES_DIR") || !strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q should be one line naming MAIL_TEMPLATES_DIR and %s", err, bad)
	}
}
