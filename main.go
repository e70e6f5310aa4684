// Command accounts is the account API server. main only calls run, so the
// whole program can be driven from tests with its own args and environment.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "accounts:", err)
		os.Exit(1)
	}
}

const usage = `usage: accounts [command] [--help]

commands:
  serve          run the API server (default)
  migrate        apply pending database migrations and exit
  admin create   create an admin: --email E --name N (--password P | --password-stdin)
  healthcheck    exit 0 when the server on HTTP_ADDR answers /healthz (for container health checks)
  version        print the version and the source revision the binary was built from
  help [command] print this help, or the command's

--help (or -h) anywhere prints the command's help and runs nothing.
The configuration comes from environment variables and a .env file (see README.md).
`

const serveUsage = `usage: accounts serve

Runs the API server on HTTP_ADDR until interrupted. It first applies pending
migrations (unless MIGRATE_ON_START=false) and creates the first admin from
ADMIN_EMAIL and ADMIN_PASSWORD when there is none. The configuration comes
from environment variables and a .env file (see README.md).
`

const migrateUsage = `usage: accounts migrate

Applies pending database migrations to DATABASE_URL (or the SQLite file in
DATA_DIR), prints how many it applied, and exits.
`

const healthcheckUsage = `usage: accounts healthcheck

Exits 0 when the server on HTTP_ADDR answers GET /healthz with 200 within 3s,
and 1 otherwise. For container health checks on images without curl.
`

const versionUsage = `usage: accounts version   (or accounts --version)

Prints the module version, the source revision and its commit time, and the
Go version the binary was built with.
`

// run dispatches the command line. getenv and stdin are parameters so tests
// can run commands without touching the process environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	// Help is checked before anything else: an operator asking how a command
	// works must not have it migrate a database or start a server.
	if isHelpFlag(cmd) || helpRequested(args) {
		_, err := io.WriteString(stdout, usageOf(cmd))
		return err
	}
	switch cmd {
	case "serve", "migrate", "healthcheck", "version", "--version":
		// These take no arguments: an unknown flag such as --dry-run must
		// not be ignored while the command does its work.
		if len(args) > 0 {
			return fmt.Errorf("%s: unexpected argument %q\n%s", strings.TrimPrefix(cmd, "--"), args[0], usageOf(cmd))
		}
	}
	switch cmd {
	case "serve":
		return oneLine(serve(ctx, getenv, stdout))
	case "migrate":
		return oneLine(migrate(ctx, getenv, stdout))
	case "admin":
		return adminCommand(ctx, args, getenv, stdin, stdout)
	case "healthcheck":
		return healthcheck(ctx, getenv)
	case "version", "--version":
		info, ok := debug.ReadBuildInfo()
		_, err := io.WriteString(stdout, versionText(info, ok))
		return err
	case "help":
		topic := ""
		if len(args) > 0 {
			topic = args[0]
		}
		_, err := io.WriteString(stdout, usageOf(topic))
		return err
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

func isHelpFlag(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// helpRequested reports whether a help flag comes before "--", after which
// arguments are values, not flags.
func helpRequested(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelpFlag(a) {
			return true
		}
	}
	return false
}

// usageOf is the help of one command; the overview for anything else.
func usageOf(cmd string) string {
	switch cmd {
	case "serve":
		return serveUsage
	case "migrate":
		return migrateUsage
	case "admin":
		return adminUsage
	case "healthcheck":
		return healthcheckUsage
	case "version", "--version":
		return versionUsage
	}
	return usage
}

// versionText describes the build from the information the Go toolchain
// embeds: the main module's version and, when built inside a git checkout,
// the revision, its commit time and whether the tree had local changes.
func versionText(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "accounts: no build information in this binary\n"
	}
	vcs := map[string]string{}
	for _, s := range info.Settings {
		vcs[s.Key] = s.Value
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	revision := "unknown (built outside a git checkout, or with -buildvcs=false)"
	if r := vcs["vcs.revision"]; r != "" {
		revision = r
		if t := vcs["vcs.time"]; t != "" {
			revision += " of " + t
		}
		if vcs["vcs.modified"] == "true" {
			revision += " with local changes"
		}
	}
	path := info.Main.Path
	if path == "" {
		path = "accounts"
	}
	return fmt.Sprintf("%s %s\nrevision %s\n%s\n", path, version, revision, info.GoVersion)
}

// oneLine folds a driver's multi-line message into the one line an operator
// reads at start-up.
func oneLine(err error) error {
	if err == nil || !strings.ContainsAny(err.Error(), "\n\t") {
		return err
	}
	return fmt.Errorf("%s", strings.Join(strings.Fields(err.Error()), " "))
}
