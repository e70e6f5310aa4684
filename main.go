// Command accounts is the account API server. main only calls run, so the
// whole program can be driven from tests with its own args and environment.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
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

const usage = `usage: accounts [command]

commands:
  serve          run the API server (default)
  migrate        apply pending database migrations and exit
  admin create   create an admin: --email E --name N (--password P | --password-stdin)
  healthcheck    exit 0 when the server on HTTP_ADDR answers /healthz (for container health checks)
`

// run dispatches the command line. getenv and stdin are parameters so tests
// can run commands without touching the process environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
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
	case "help", "-h", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

// oneLine folds a driver's multi-line message into the one line an operator
// reads at start-up.
func oneLine(err error) error {
	if err == nil || !strings.ContainsAny(err.Error(), "\n\t") {
		return err
	}
	return fmt.Errorf("%s", strings.Join(strings.Fields(err.Error()), " "))
}
