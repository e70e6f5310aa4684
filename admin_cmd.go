package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/config"
	"github.com/acme/accounts/internal/server"
	"github.com/acme/accounts/models"
)

const adminUsage = `usage: accounts admin create --email E --name N (--password P | --password-stdin)

Creates an administrator in the configured database (DATABASE_URL, or the
SQLite file in DATA_DIR) after applying pending migrations.

  --email E          the admin's email (trimmed and lower-cased)
  --name N           the admin's display name, 1 to 100 characters
  --password P       the password, 8 to 72 bytes
  --password-stdin   read the password from the first line of standard input
                     instead, keeping it out of shell history and process lists
`

// adminCommand implements `accounts admin create`.
func adminCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("admin: missing subcommand\n" + adminUsage)
	}
	switch args[0] {
	case "create":
		return adminCreate(ctx, args[1:], getenv, stdin, stdout)
	case "help", "-h", "--help":
		_, err := io.WriteString(stdout, adminUsage)
		return err
	}
	return fmt.Errorf("admin: unknown subcommand %q\n%s", args[0], adminUsage)
}

func adminCreate(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("admin create", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned with the usage, printed once by main
	email := fs.String("email", "", "")
	name := fs.String("name", "", "")
	password := fs.String("password", "", "")
	fromStdin := fs.Bool("password-stdin", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			_, err = io.WriteString(stdout, adminUsage)
			return err
		}
		return fmt.Errorf("admin create: %w\n%s", err, adminUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("admin create: unexpected argument %q\n%s", fs.Arg(0), adminUsage)
	}
	passwordGiven := false
	fs.Visit(func(f *flag.Flag) { passwordGiven = passwordGiven || f.Name == "password" })
	switch {
	case passwordGiven && *fromStdin:
		return errors.New("admin create: give either --password or --password-stdin, not both")
	case *fromStdin:
		p, err := readPassword(stdin)
		if err != nil {
			return fmt.Errorf("admin create: --password-stdin: %w", err)
		}
		*password = p
	case !passwordGiven:
		return errors.New("admin create: a password is required: --password P or --password-stdin")
	}

	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	// Only the database and the hasher are needed to store an admin.
	store, err := server.NewStore(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer store.Close()
	ad, err := store.App.CreateAdmin(ctx, nil, app.CreateAdminInput{Name: *name, Email: *email, Password: *password})
	if err != nil {
		return adminInputError("admin create", *email, err, map[string]string{"email": "--email", "name": "--name", "password": "--password"})
	}
	_, err = fmt.Fprintf(stdout, "created admin %s (id %s) in %s\n", ad.Email, ad.ID, store.DBName)
	return err
}

// readPassword takes the first line of r, without its line ending, so both
// `echo pw |` and a file with a trailing newline work.
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("no standard input")
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("standard input holds no password")
	}
	return line, nil
}

// seedAdmin creates the first admin from ADMIN_EMAIL/ADMIN_PASSWORD (and
// ADMIN_NAME) when there is none yet, so a fresh deployment can be managed
// without a shell on the server. With any admin present it does nothing.
func seedAdmin(ctx context.Context, cfg *config.Config, a *app.App, log *slog.Logger) error {
	if cfg.AdminEmail == "" {
		return nil
	}
	ad, err := a.CreateFirstAdmin(ctx, app.CreateAdminInput{Name: cfg.AdminName, Email: cfg.AdminEmail, Password: cfg.AdminPassword})
	if err != nil {
		return adminInputError("config", cfg.AdminEmail, err, map[string]string{"email": "ADMIN_EMAIL", "name": "ADMIN_NAME", "password": "ADMIN_PASSWORD"})
	}
	if ad == nil {
		log.Debug("first admin not seeded: an admin exists")
		return nil
	}
	log.Info("first admin created", "email", ad.Email, "id", ad.ID.String())
	return nil
}

// adminInputError words a CreateAdmin failure for an operator: validation
// problems name the flag or variable to fix, a taken email says so plainly.
func adminInputError(prefix, email string, err error, names map[string]string) error {
	var verr *models.ValidationError
	if errors.As(err, &verr) {
		parts := make([]string, 0, len(verr.Fields))
		for field, msg := range verr.Fields {
			if n, ok := names[field]; ok {
				field = n
			}
			parts = append(parts, field+" "+msg)
		}
		sort.Strings(parts)
		return fmt.Errorf("%s: %s", prefix, strings.Join(parts, "; "))
	}
	if errors.Is(err, models.ErrEmailTaken) {
		return fmt.Errorf("%s: an admin with email %s already exists", prefix, strings.ToLower(strings.TrimSpace(email)))
	}
	return fmt.Errorf("%s: %w", prefix, err)
}
