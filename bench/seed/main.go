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
//
// For the million-user workload rows are streamed into COPY instead of held
// in memory, only a sample of users gets sessions and tokens (-token-sample),
// every K-th user can be inactive (-inactive-every), an admin with a signed
// token is created (-admin-token) and a cursor of the admin list is minted at
// a given depth of the active group (-cursor-depth, -cursor-file).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
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
	// tokenSample is how many users, spread evenly over the seed, get
	// sessions, tokens and a line in the emails file; 0 is every user.
	tokenSample int
	// inactiveEvery makes every K-th user inactive; 0 keeps every user
	// active. A sample (-token-sample) holds only active users, whose tokens
	// must work; without one, inactive users get no token.
	inactiveEvery  int
	adminTokenFile string
	cursorDepth    int
	cursorFile     string
}

// sampleStep is the distance between two sampled users.
func (o options) sampleStep() int {
	if o.tokenSample <= 0 || o.tokenSample >= o.users {
		return 1
	}
	return o.users / o.tokenSample
}

func (o options) sampled(i int) bool {
	return i%o.sampleStep() == 0 && (o.tokenSample <= 0 || i/o.sampleStep() < o.tokenSample)
}

func (o options) active(i int) bool {
	return o.inactiveEvery <= 0 || i%o.inactiveEvery != o.inactiveEvery-1 || (o.tokenSample > 0 && o.sampled(i))
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
	fs.IntVar(&o.tokenSample, "token-sample", 0, "users (spread evenly) that get sessions, tokens and an emails line; 0: every user")
	fs.IntVar(&o.inactiveEvery, "inactive-every", 0, "make every K-th user inactive (never one of -token-sample; without it inactive users get no token); 0: none")
	fs.StringVar(&o.adminTokenFile, "admin-token", "", "create an admin with a session and write its access token to this file")
	fs.IntVar(&o.cursorDepth, "cursor-depth", 0, "mint the admin list cursor (status=active) that continues after this many active users")
	fs.StringVar(&o.cursorFile, "cursor-file", "", "file for the -cursor-depth cursor (line 1) and the email of the user it continues at (line 2)")
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
	case o.tokenSample < 0 || o.inactiveEvery < 0 || o.cursorDepth < 0:
		return o, errors.New("-token-sample, -inactive-every and -cursor-depth must not be negative")
	case (o.cursorDepth > 0) != (o.cursorFile != ""):
		return o, errors.New("-cursor-depth and -cursor-file go together")
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

// rowSource streams n rows into COPY, building each only when COPY asks
// for it, so a million users never sit in memory at once.
func rowSource(n int, row func(i int) []any) pgx.CopyFromSource {
	i := -1
	return pgx.CopyFromFunc(func() ([]any, error) {
		i++
		if i >= n {
			return nil, nil
		}
		return row(i), nil
	})
}

// copyUsers disables the users_count trigger during the COPY and rebuilds
// the counters from the rows afterwards, as the counters migration backfills
// them (same shard expression). Kept on, the trigger updates the same 32
// counter rows once per user inside one transaction, and each update walks
// every dead version the transaction left before it: 200,000 users took
// over five minutes.
func copyUsers(ctx context.Context, tx pgx.Tx, columns []string, src pgx.CopyFromSource) error {
	if _, err := tx.Exec(ctx, "ALTER TABLE users DISABLE TRIGGER users_count"); err != nil {
		return fmt.Errorf("disable the counters trigger: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"users"}, columns, src); err != nil {
		return fmt.Errorf("copy users: %w", err)
	}
	for _, q := range []string{
		"ALTER TABLE users ENABLE TRIGGER users_count",
		"UPDATE user_counts SET n = 0",
		`UPDATE user_counts c SET n = d.k
			FROM (SELECT active, get_byte(uuid_send(id), 15) % 16 AS shard, count(*) AS k
				FROM users GROUP BY 1, 2) d
			WHERE c.active = d.active AND c.shard = d.shard`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("rebuild the user counters: %w", err)
		}
	}
	return nil
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
	created := func(i int) time.Time { return base.Add(time.Duration(i*(o.products+1)) * time.Second) }
	ids := make([]uuid.UUID, o.users)
	for i := range ids {
		ids[i] = models.NewID()
	}
	email := func(i int) string { return fmt.Sprintf("%s%06d@example.com", o.emailPrefix, i) }
	now := time.Now()

	var accounts []account
	var sessions [][]any
	for i := range o.users {
		if !o.sampled(i) || !o.active(i) {
			continue
		}
		a := account{id: ids[i], email: email(i)}
		row := sessionRow(a.id, now, nil)
		a.sid = row[0].(uuid.UUID)
		sessions = append(sessions, row)
		for range o.refreshFiles {
			sessions = append(sessions, sessionRow(a.id, now, &a))
		}
		accounts = append(accounts, a)
	}

	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	users := rowSource(o.users, func(i int) []any {
		phone := fmt.Sprintf("+99890%07d", i)
		at := created(i)
		return []any{ids[i], email(i), string(hash), "First" + strconv.Itoa(i), "Last", &phone, nil, o.active(i), int64(1), at, at}
	})
	if err := copyUsers(ctx, tx,
		[]string{"id", "email", "password_hash", "first_name", "last_name", "phone", "avatar_key", "active", "token_version", "created_at", "updated_at"},
		users); err != nil {
		return nil, err
	}
	products := rowSource(o.users*o.products, func(k int) []any {
		i, j := k/o.products, k%o.products
		at := created(i).Add(time.Duration(j+1) * time.Second)
		return []any{
			models.NewID(), ids[i], fmt.Sprintf("Product %d of user %d", j+1, i),
			"A product seeded for the load test, with a description of typical length.",
			int64(10000 + 100*j), "UZS", at, at,
		}
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"products"},
		[]string{"id", "user_id", "name", "description", "price", "currency", "created_at", "updated_at"},
		products); err != nil {
		return nil, fmt.Errorf("copy products: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"sessions"}, sessionColumns, pgx.CopyFromRows(sessions)); err != nil {
		return nil, fmt.Errorf("copy sessions: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	// Fresh statistics, so the planner uses the indexes from the first
	// request, and the visibility map autovacuum keeps on a live database:
	// without it a freshly copied table makes every index-only scan (the
	// search's capped counts) visit the heap too.
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) users, products, sessions, user_counts"); err != nil {
		return nil, fmt.Errorf("vacuum: %w", err)
	}
	if o.adminTokenFile != "" {
		if err := seedAdmin(ctx, conn, o, string(hash)); err != nil {
			return nil, err
		}
	}
	if o.cursorFile != "" {
		if err := writeCursor(ctx, conn, o); err != nil {
			return nil, err
		}
	}
	return accounts, nil
}

// seedAdmin creates an admin with a live session and writes an access token
// of it, signed like the server signs one after the admin's sign-in.
func seedAdmin(ctx context.Context, conn *pgx.Conn, o options, hash string) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	id := models.NewID()
	email := "bench-admin@example.com"
	if _, err := conn.Exec(ctx, `INSERT INTO admins (id, email, name, password_hash, active, token_version, created_at, updated_at)
		VALUES ($1, $2, 'Bench Admin', $3, true, 1, $4, $4)`, id, email, hash, now); err != nil {
		return fmt.Errorf("insert admin: %w", err)
	}
	s, _ := app.NewSession(models.Owner{Role: models.RoleAdmin, ID: id}, app.Client{IP: "127.0.0.1", UserAgent: "seed"},
		now, 30*24*time.Hour, 90*24*time.Hour)
	if _, err := conn.Exec(ctx, `INSERT INTO sessions (id, admin_id, created_at, last_used_at, ip, user_agent, generation,
		refresh_hash, rotated_at, idle_expires_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		s.ID, id, s.CreatedAt, s.LastUsedAt, s.IP, s.UserAgent, s.Generation, s.RefreshHash, s.RotatedAt, s.IdleExpiresAt, s.ExpiresAt); err != nil {
		return fmt.Errorf("insert admin session: %w", err)
	}
	tok, err := signAccess(o, models.RoleAdmin, id, email, s.ID, now)
	if err != nil {
		return err
	}
	return os.WriteFile(o.adminTokenFile, []byte(tok+"\n"), 0o600)
}

// writeCursor finds the active user at depth cursorDepth in the admin
// list's order (one index walk, paid once here) and mints the cursor a page
// ending there would answer, with the email of the user it continues at.
func writeCursor(ctx context.Context, conn *pgx.Conn, o options) error {
	var pos models.UserPosition
	var next string
	err := conn.QueryRow(ctx, `SELECT created_at, id FROM users WHERE active
		ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1`, o.cursorDepth-1).Scan(&pos.CreatedAt, &pos.ID)
	if err != nil {
		return fmt.Errorf("find the user at depth %d: %w", o.cursorDepth, err)
	}
	err = conn.QueryRow(ctx, `SELECT email FROM users WHERE active AND (created_at, id) < ($1, $2)
		ORDER BY created_at DESC, id DESC LIMIT 1`, pos.CreatedAt, pos.ID).Scan(&next)
	if err != nil {
		return fmt.Errorf("find the user after depth %d: %w", o.cursorDepth, err)
	}
	c := app.UserCursor([]byte(o.secret), true, "", pos)
	return os.WriteFile(o.cursorFile, []byte(c+"\n"+next+"\n"), 0o600)
}

func signAccess(o options, role string, id uuid.UUID, email string, sid uuid.UUID, now time.Time) (string, error) {
	claims := models.Claims{
		Email: email, Role: role, Version: 1, SessionID: sid.String(),
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   id.String(),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(o.tokenTTL)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(o.secret))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// writeFiles signs one token per account with the same claims the server
// issues (models.Claims, HS256) and writes the token and email files.
func writeFiles(o options, accounts []account) error {
	now := time.Now()
	var tokens, emails strings.Builder
	for _, a := range accounts {
		s, err := signAccess(o, models.RoleUser, a.id, a.email, a.sid, now)
		if err != nil {
			return err
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
	fmt.Fprintf(os.Stderr, "seed: %d users, %d products, %d with tokens in %s, emails in %s (%.1fs)\n",
		o.users, o.users*o.products, len(accounts), o.tokensFile, o.emailsFile, time.Since(start).Seconds())
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
