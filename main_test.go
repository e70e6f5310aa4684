package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/config"
	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/migrations"
	"github.com/acme/accounts/models"
)

const cliPassword = "a long admin passphrase"

// cliDatabase gives a test its own database for the binary: a DATA_DIR with
// the embedded SQLite file, or a fresh PostgreSQL schema when
// TEST_DATABASE_URL is set. It returns the variables that select it.
func cliDatabase(t *testing.T) map[string]string {
	t.Helper()
	vars := map[string]string{"DATA_DIR": t.TempDir()}
	base := os.Getenv(testenv.EnvDatabaseURL)
	if base == "" {
		return vars
	}
	ctx := context.Background()
	db, _, err := models.Open(ctx, base, "")
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	schema := "cli_" + testenv.RandomID()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", testenv.EnvDatabaseURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	vars["DATABASE_URL"] = u.String()
	return vars
}

// environ is a complete environment for the binary: nothing leaks in from
// the test process, so the outcome depends on vars alone.
func environ(vars map[string]string) []string {
	env := []string{"APP_ENV=development", "BCRYPT_COST=4", "CODE_RESEND_COOLDOWN=0s", "LOG_LEVEL=info"}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build the binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "accounts")
	out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type cliResult struct {
	code           int
	stdout, stderr string
}

// runBinary runs one command to its end. The working directory is empty, so
// no .env file is read.
func runBinary(t *testing.T, bin string, vars map[string]string, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = environ(vars)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return res
}

// serverProcess is a running `serve` process and the lines it has logged.
type serverProcess struct {
	base  string
	lines chan string
	mu    sync.Mutex
	log   []string
}

// startServer runs `serve` on a free port and waits until it listens.
func startServer(t *testing.T, bin string, vars map[string]string) *serverProcess {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	all := map[string]string{"HTTP_ADDR": addr}
	for k, v := range vars {
		all[k] = v
	}
	cmd := exec.Command(bin, "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = environ(all)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &serverProcess{base: "http://" + addr, lines: make(chan string, 1024)}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.log = append(s.log, sc.Text())
			s.mu.Unlock()
			select {
			case s.lines <- sc.Text():
			default: // nobody waits for old lines; the log keeps them
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { <-scanned; done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve did not stop cleanly: %v\nstderr: %s\nlog:\n%s", err, stderr.String(), s.logText())
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("serve ignored the interrupt\nlog:\n%s", s.logText())
		}
	})
	s.waitLine(t, func(l string) bool { return strings.Contains(l, "msg=listening") })
	return s
}

func (s *serverProcess) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.log, "\n")
}

// waitLine returns the first line from now on that satisfies match.
func (s *serverProcess) waitLine(t *testing.T, match func(string) bool) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l := <-s.lines:
			if match(l) {
				return l
			}
		case <-timeout:
			t.Fatalf("no expected line in the server log:\n%s", s.logText())
		}
	}
}

func (s *serverProcess) post(t *testing.T, path string, body any, out any) int {
	t.Helper()
	buf, _ := json.Marshal(body)
	resp, err := http.Post(s.base+path, "application/json", bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("POST %s: %v\n%s", path, err, data)
		}
	}
	return resp.StatusCode
}

func (s *serverProcess) get(t *testing.T, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

var logCode = regexp.MustCompile(`\bcode=(\d{6})\b`)

// adminSignIn signs in through the running server's API, reading the mailed
// code from its log (the log mailer writes code=NNNNNN).
func (s *serverProcess) adminSignIn(t *testing.T, email, password string) string {
	t.Helper()
	if st := s.post(t, "/api/v1/admin/auth/login", map[string]string{"email": email, "password": password}, nil); st != http.StatusOK {
		t.Fatalf("admin login: %d\n%s", st, s.logText())
	}
	line := s.waitLine(t, func(l string) bool { return strings.Contains(l, "to="+email) && logCode.MatchString(l) })
	code := logCode.FindStringSubmatch(line)[1]
	var tok struct {
		Token string         `json:"token"`
		Admin map[string]any `json:"admin"`
	}
	if st := s.post(t, "/api/v1/admin/auth/login/verify", map[string]string{"email": email, "code": code}, &tok); st != http.StatusOK {
		t.Fatalf("admin verify: %d", st)
	}
	if tok.Token == "" || tok.Admin["email"] != email {
		t.Fatalf("token body: %+v", tok)
	}
	return tok.Token
}

func TestAdminCreateThenSignIn(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	vars := cliDatabase(t)
	email := "ops-" + testenv.RandomID() + "@example.com"

	res := runBinary(t, bin, vars, cliPassword+"\n", "admin", "create", "--email", " "+strings.ToUpper(email)+" ", "--name", "Operations", "--password-stdin")
	if res.code != 0 {
		t.Fatalf("admin create: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	if lines := strings.Split(strings.TrimSpace(res.stdout), "\n"); len(lines) != 1 || !strings.Contains(lines[0], email) {
		t.Fatalf("want one line naming %s, got:\n%s", email, res.stdout)
	}
	if strings.Contains(res.stdout+res.stderr, cliPassword) {
		t.Fatal("the password was echoed")
	}

	res = runBinary(t, bin, vars, "", "admin", "create", "--email", strings.ToUpper(email), "--name", "Again", "--password", cliPassword)
	if res.code == 0 || !strings.Contains(res.stderr, "already exists") || !strings.Contains(res.stderr, email) {
		t.Fatalf("duplicate email: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}

	res = runBinary(t, bin, vars, "", "admin", "create", "--email", "not-an-email", "--name", "", "--password", "short")
	if res.code == 0 {
		t.Fatalf("invalid input accepted: %s", res.stdout)
	}
	for _, want := range []string{"--email must be a valid email address", "--name is required", "--password must be 8 to 72 bytes"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}

	s := startServer(t, bin, vars)
	tok := s.adminSignIn(t, email, cliPassword)
	if st, body := s.get(t, "/api/v1/admin/users", tok); st != http.StatusOK || !strings.Contains(body, `"inactive"`) {
		t.Fatalf("admin users with the CLI admin's token: %d %s", st, body)
	}
	if st, _ := s.get(t, "/api/v1/users/me", tok); st != http.StatusForbidden {
		t.Fatalf("admin token on /users/me: %d", st)
	}
}

func TestServeSeedsFirstAdmin(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	vars := cliDatabase(t)
	email := "seed-" + testenv.RandomID() + "@example.com"
	vars["ADMIN_EMAIL"], vars["ADMIN_PASSWORD"], vars["ADMIN_NAME"] = email, cliPassword, "Seeded"

	s := startServer(t, bin, vars)
	if !strings.Contains(s.logText(), "first admin created") {
		t.Fatalf("no seed line in the log:\n%s", s.logText())
	}
	s.adminSignIn(t, email, cliPassword)
}

// TestAdminCommandErrors drives run() in-process: argument mistakes must
// fail with a message naming what to fix, before anything is written.
func TestAdminCommandErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		args  []string
		stdin string
		want  string // in the error; "" means success
		out   string // in stdout
	}{
		{name: "no subcommand", args: []string{"admin"}, want: "missing subcommand"},
		{name: "unknown subcommand", args: []string{"admin", "delete"}, want: `unknown subcommand "delete"`},
		{name: "help", args: []string{"admin", "create", "-h"}, out: "--password-stdin"},
		{name: "admin help", args: []string{"admin", "help"}, out: "usage: accounts admin create"},
		{name: "unknown flag", args: []string{"admin", "create", "--role", "x"}, want: "flag provided but not defined: -role"},
		{name: "stray argument", args: []string{"admin", "create", "--email", "a@b.co", "extra"}, want: `unexpected argument "extra"`},
		{name: "no password", args: []string{"admin", "create", "--email", "a@b.co", "--name", "A"}, want: "--password P or --password-stdin"},
		{name: "both password sources", args: []string{"admin", "create", "--email", "a@b.co", "--name", "A", "--password", cliPassword, "--password-stdin"}, stdin: cliPassword, want: "not both"},
		{name: "empty stdin", args: []string{"admin", "create", "--email", "a@b.co", "--name", "A", "--password-stdin"}, want: "standard input holds no password"},
		{name: "73-byte password", args: []string{"admin", "create", "--email", "a@b.co", "--name", "A", "--password", strings.Repeat("x", 73)}, want: "--password must be 8 to 72 bytes"},
		{name: "101-character name", args: []string{"admin", "create", "--email", "a@b.co", "--name", strings.Repeat("n", 101), "--password", cliPassword}, want: "--name must be at most 100 characters"},
		{name: "crlf on stdin", args: []string{"admin", "create", "--email", "crlf@b.co", "--name", "A", "--password-stdin"}, stdin: cliPassword + "\r\nignored\n", out: "created admin crlf@b.co"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			getenv := func(k string) string {
				return map[string]string{"DATA_DIR": dir, "BCRYPT_COST": "4"}[k]
			}
			var out bytes.Buffer
			err := run(context.Background(), c.args, getenv, strings.NewReader(c.stdin), &out)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if !strings.Contains(out.String(), c.out) {
				t.Fatalf("stdout %q lacks %q", out.String(), c.out)
			}
		})
	}
}

func TestSeedAdmin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _, err := models.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := migrations.Up(ctx, db); err != nil {
		t.Fatal(err)
	}
	a := app.New(app.Deps{DB: db, Options: app.Options{BcryptCost: 4}})
	log := slog.New(slog.DiscardHandler)

	if err := seedAdmin(ctx, &config.Config{}, a, log); err != nil {
		t.Fatalf("no ADMIN_EMAIL: %v", err)
	}
	bad := &config.Config{AdminEmail: "first@example.com", AdminPassword: "short", AdminName: "Admin"}
	if err := seedAdmin(ctx, bad, a, log); err == nil || !strings.Contains(err.Error(), "ADMIN_PASSWORD must be 8 to 72 bytes") {
		t.Fatalf("short ADMIN_PASSWORD: %v", err)
	}
	first := &config.Config{AdminEmail: " First@Example.com", AdminPassword: cliPassword, AdminName: "Admin"}
	if err := seedAdmin(ctx, first, a, log); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if _, err := models.AdminByEmail(ctx, db, "first@example.com"); err != nil {
		t.Fatalf("seeded admin: %v", err)
	}
	// Any admin present: later starts leave the table alone, whatever the variables say.
	for _, cfg := range []*config.Config{first, {AdminEmail: "second@example.com", AdminPassword: cliPassword, AdminName: "Admin"}} {
		if err := seedAdmin(ctx, cfg, a, log); err != nil {
			t.Fatalf("seed again: %v", err)
		}
	}
	if n, _ := models.CountAdmins(ctx, db); n != 1 {
		t.Fatalf("%d admins, want 1", n)
	}
}

// --help anywhere prints the command's help and runs nothing: no
// configuration is loaded, no database opened, no migration applied, no
// server started. DATA_DIR would be created by any of those (the development
// secret, the SQLite file), so it must still not exist afterwards; the
// unreachable DATABASE_URL would make a command that opens it fail.
func TestHelpRunsNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "usage: accounts [command]"},
		{[]string{"-h"}, "usage: accounts [command]"},
		{[]string{"serve", "--help"}, "usage: accounts serve"},
		{[]string{"serve", "-h"}, "usage: accounts serve"},
		{[]string{"migrate", "--help"}, "usage: accounts migrate"},
		{[]string{"migrate", "-help"}, "usage: accounts migrate"},
		{[]string{"healthcheck", "--help"}, "usage: accounts healthcheck"},
		{[]string{"version", "--help"}, "usage: accounts version"},
		{[]string{"admin", "--help"}, "usage: accounts admin create"},
		{[]string{"admin", "create", "--help"}, "usage: accounts admin create"},
		{[]string{"admin", "create", "--email", "a@b.co", "--name", "A", "--password", cliPassword, "-h"}, "usage: accounts admin create"},
		{[]string{"admin", "create", "--password-stdin", "stray", "--help"}, "usage: accounts admin create"},
		{[]string{"help", "migrate"}, "usage: accounts migrate"},
		{[]string{"help"}, "usage: accounts [command]"},
	}
	for _, c := range cases {
		for _, db := range []string{"sqlite", "postgres"} {
			t.Run(strings.Join(c.args, " ")+" "+db, func(t *testing.T) {
				t.Parallel()
				dataDir := filepath.Join(t.TempDir(), "data")
				vars := map[string]string{"DATA_DIR": dataDir, "HTTP_ADDR": "127.0.0.1:1"}
				if db == "postgres" {
					vars["DATABASE_URL"] = "postgres://postgres@127.0.0.1:1/accounts?connect_timeout=5"
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				var out bytes.Buffer
				started := time.Now()
				err := run(ctx, c.args, getenvFrom(vars), strings.NewReader(cliPassword+"\n"), &out)
				if err != nil {
					t.Fatalf("error %v, want help and no error", err)
				}
				if time.Since(started) > 2*time.Second {
					t.Errorf("help took %s: something ran", time.Since(started))
				}
				if !strings.HasPrefix(out.String(), c.want) {
					t.Errorf("stdout %q, want it to start with %q", out.String(), c.want)
				}
				if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
					t.Errorf("DATA_DIR was touched (%v): the command ran", err)
				}
			})
		}
	}
}

// Commands without arguments refuse one instead of ignoring it while they
// do their work (migrate --dry-run must not migrate).
func TestCommandsRefuseUnexpectedArguments(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"migrate", "--dry-run"}, {"serve", "extra"}, {"healthcheck", "-v"}, {"version", "--short"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			dataDir := filepath.Join(t.TempDir(), "data")
			var out bytes.Buffer
			err := run(context.Background(), args, getenvFrom(map[string]string{"DATA_DIR": dataDir, "HTTP_ADDR": "127.0.0.1:1"}), nil, &out)
			if err == nil || !strings.Contains(err.Error(), "unexpected argument "+strconv.Quote(args[1])) || !strings.Contains(err.Error(), "usage: accounts "+args[0]) {
				t.Fatalf("error %v, want the unexpected argument named with the usage", err)
			}
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
				t.Errorf("DATA_DIR was touched (%v): the command ran", err)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, getenvFrom(nil), nil, &out); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.Contains(out.String(), "revision ") || !strings.Contains(out.String(), "go1.") {
			t.Fatalf("%v printed %q", args, out.String())
		}
	}

	info := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/acme/accounts", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "c45c81c17be8bef1fb185bd5166533e63022a294"},
			{Key: "vcs.time", Value: "2026-11-30T01:15:59Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	want := "github.com/acme/accounts v1.4.0\n" +
		"revision c45c81c17be8bef1fb185bd5166533e63022a294 of 2026-11-30T01:15:59Z with local changes\n" +
		"go1.26.8\n"
	if got := versionText(info, true); got != want {
		t.Fatalf("versionText:\n%s\nwant:\n%s", got, want)
	}
	info.Settings = nil
	if got := versionText(info, true); !strings.Contains(got, "revision unknown") {
		t.Fatalf("without VCS information: %q", got)
	}
	if got := versionText(nil, false); !strings.Contains(got, "no build information") {
		t.Fatalf("without build information: %q", got)
	}
}
