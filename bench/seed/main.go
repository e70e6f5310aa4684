// Command seed fills a migrated benchmark database with users and their
// products straight through COPY (not through the API, which would spend the
// whole run in bcrypt), then writes what the load scripts rotate over: one
// signed access token per line (each of a live session, as the server
// checks), one email per line, and refresh tokens of two more sessions per
// user: one set for the server's refresh workload, one for the ceiling's (a
// rotated token must never be presented twice).
//
// Every user gets the same password; its bcrypt hash is computed once at the
// configured cost, so the login workload pays exactly the server's cost.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/models"
)

type options struct {
	databaseURL string
	secret      string
	users       int
	products    int
	password    string
	cost        int
	tokenTTL    time.Duration
	tokensFile  string
	emailsFile  string
	emailPrefix string
	// refreshFiles get one refresh token per user each, of sessions of
	// their own.
	refreshFiles []string
}

func parseFlags(args []string, getenv func(string) string) (options, error) {
	var o options
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.StringVar(&o.databaseURL, "database-url", getenv("DATABASE_URL"), "PostgreSQL URL of the migrated database (default $DATABASE_URL)")
	fs.IntVar(&o.users, "users", 10000, "users to create")
	fs.IntVar(&o.products, "products", 5, "products per user")
	fs.StringVar(&o.password, "password", "correct horse battery", "password of every seeded user")
	fs.IntVar(&o.cost, "cost", 10, "bcrypt cost of the password hash (the server's BCRYPT_COST)")
	fs.DurationVar(&o.tokenTTL, "token-ttl", time.Hour, "lifetime of the signed tokens")
	fs.StringVar(&o.tokensFile, "tokens", "tokens.txt", "file to write one access token per line to")
	fs.StringVar(&o.emailsFile, "emails", "emails.txt", "file to write one email per line to")
	fs.StringVar(&o.emailPrefix, "email-prefix", "bench-user-", "local part prefix of the seeded emails")
	refresh := fs.String("refresh", "refresh.txt,refresh-ceiling.txt", "comma-separated files, each to get one refresh token per user (of its own sessions)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.secret = getenv("JWT_SECRET")
	for _, f := range strings.Split(*refresh, ",") {
		if f = strings.TrimSpace(f); f != "" {
			o.refreshFiles = append(o.refreshFiles, f)
		}
	}
	switch {
	case o.databaseURL == "":
		return o, errors.New("no database: set DATABASE_URL or -database-url")
	case len(o.secret) < 32:
		return o, errors.New("JWT_SECRET must be set and at least 32 bytes (the server's secret)")
	case o.users < 1 || o.products < 0:
		return o, errors.New("-users must be positive and -products not negative")
	}
	return o, nil
}

// account is what the token files need of each seeded user.
type account struct {
	id      uuid.UUID
	email   string
	sid     uuid.UUID // the session of the access token
	refresh []string  // one refresh token per refresh file
}

// sessionColumns are the columns seed writes of each session.
var sessionColumns = []string{"id", "user_id", "created_at", "last_used_at", "ip", "user_agent", "generation",
	"refresh_hash", "rotated_at", "idle_expires_at", "expires_at"}

// sessionRow builds a session the way a sign-in does (app.NewSession).
func sessionRow(userID uuid.UUID, now time.Time, a *account) []any {
	s, rt := app.NewSession(models.Owner{Role: models.RoleUser, ID: userID}, app.Client{IP: "127.0.0.1", UserAgent: "seed"},
		now, 30*24*time.Hour, 90*24*time.Hour)
	if a != nil {
		a.refresh = append(a.refresh, rt)
	}
	return []any{s.ID, userID, s.CreatedAt, s.LastUsedAt, s.IP, s.UserAgent, s.Generation, s.RefreshHash, s.RotatedAt, s.IdleExpiresAt, s.ExpiresAt}
}

func seed(ctx context.Context, o options) ([]account, error) {
	conn, err := pgx.Connect(ctx, o.databaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)

	hash, err := bcrypt.GenerateFromPassword([]byte(o.password), o.cost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	// Rows are dated into the past, newest last, so ordering by created_at is
	// meaningful and nothing sits in the future of the server's clock.
	base := time.Now().UTC().Truncate(time.Microsecond).Add(-time.Duration(o.users*(o.products+1)) * time.Second)
	accounts := make([]account, o.users)
	users := make([][]any, o.users)
	products := make([][]any, 0, o.users*o.products)
	sessions := make([][]any, 0, o.users*(1+len(o.refreshFiles)))
	now := time.Now()
	for i := range users {
		id := models.NewID()
		email := fmt.Sprintf("%s%06d@example.com", o.emailPrefix, i)
		created := base.Add(time.Duration(i*(o.products+1)) * time.Second)
		accounts[i] = account{id: id, email: email}
		row := sessionRow(id, now, nil)
		accounts[i].sid = row[0].(uuid.UUID)
		sessions = append(sessions, row)
		for range o.refreshFiles {
			sessions = append(sessions, sessionRow(id, now, &accounts[i]))
		}
		phone := fmt.Sprintf("+99890%07d", i)
		users[i] = []any{id, email, string(hash), "First" + fmt.Sprint(i), "Last", &phone, nil, true, int64(1), created, created}
		for j := range o.products {
			at := created.Add(time.Duration(j+1) * time.Second)
			products = append(products, []any{
				models.NewID(), id, fmt.Sprintf("Product %d of user %d", j+1, i),
				"A product seeded for the load test, with a description of typical length.",
				int64(10000 + 100*j), "UZS", at, at,
			})
		}
	}

	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"users"},
		[]string{"id", "email", "password_hash", "first_name", "last_name", "phone", "avatar_key", "active", "token_version", "created_at", "updated_at"},
		pgx.CopyFromRows(users)); err != nil {
		return nil, fmt.Errorf("copy users: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"products"},
		[]string{"id", "user_id", "name", "description", "price", "currency", "created_at", "updated_at"},
		pgx.CopyFromRows(products)); err != nil {
		return nil, fmt.Errorf("copy products: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"sessions"}, sessionColumns, pgx.CopyFromRows(sessions)); err != nil {
		return nil, fmt.Errorf("copy sessions: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	// Fresh statistics, so the planner uses the indexes from the first request.
	if _, err := conn.Exec(ctx, "ANALYZE users; ANALYZE products; ANALYZE sessions"); err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	return accounts, nil
}

// writeFiles signs one token per account with the same claims the server
// issues (models.Claims, HS256) and writes the token and email files.
func writeFiles(o options, accounts []account) error {
	now := time.Now()
	var tokens, emails strings.Builder
	for _, a := range accounts {
		claims := models.Claims{
			Email: a.email, Role: models.RoleUser, Version: 1, SessionID: a.sid.String(),
			RegisteredClaims: jwt.RegisteredClaims{
				Subject:   a.id.String(),
				IssuedAt:  jwt.NewNumericDate(now),
				ExpiresAt: jwt.NewNumericDate(now.Add(o.tokenTTL)),
			},
		}
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(o.secret))
		if err != nil {
			return fmt.Errorf("sign token: %w", err)
		}
		tokens.WriteString(s + "\n")
		emails.WriteString(a.email + "\n")
	}
	if err := os.WriteFile(o.tokensFile, []byte(tokens.String()), 0o600); err != nil {
		return err
	}
	for i, f := range o.refreshFiles {
		var b strings.Builder
		for _, a := range accounts {
			b.WriteString(a.refresh[i] + "\n")
		}
		if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
			return err
		}
	}
	return os.WriteFile(o.emailsFile, []byte(emails.String()), 0o600)
}

func run(ctx context.Context, args []string, getenv func(string) string) error {
	o, err := parseFlags(args, getenv)
	if err != nil {
		return err
	}
	start := time.Now()
	accounts, err := seed(ctx, o)
	if err != nil {
		return err
	}
	if err := writeFiles(o, accounts); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seed: %d users, %d products, tokens in %s, emails in %s (%.1fs)\n",
		o.users, o.users*o.products, o.tokensFile, o.emailsFile, time.Since(start).Seconds())
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}
