package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Open connects to PostgreSQL when databaseURL is set, otherwise to an
// embedded SQLite file in dataDir, and checks the connection before returning.
// The second result names the backend for the start-up log.
func Open(ctx context.Context, databaseURL, dataDir string) (*bun.DB, string, error) {
	if databaseURL != "" {
		pgcfg, err := pgx.ParseConfig(databaseURL)
		if err != nil {
			return nil, "", fmt.Errorf("DATABASE_URL: %w", err)
		}
		// Bun writes argument values into the SQL text, so every query is
		// new to PostgreSQL: pgx's default (prepare and cache each statement)
		// then costs extra round trips and evictions for nothing. The simple
		// protocol sends the finished text in one round trip. A URL that
		// names default_query_exec_mode keeps its own choice.
		if !strings.Contains(databaseURL, "default_query_exec_mode") {
			pgcfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		}
		sqldb := stdlib.OpenDB(*pgcfg)
		// Enough connections to keep both cores busy while some wait on I/O,
		// few enough that many replicas do not exhaust PostgreSQL.
		n := 4 * runtime.GOMAXPROCS(0)
		sqldb.SetMaxOpenConns(n)
		sqldb.SetMaxIdleConns(n)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		db := bun.NewDB(sqldb, pgdialect.New())
		if err := ping(ctx, db); err != nil {
			db.Close()
			return nil, "", fmt.Errorf("DATABASE_URL: %w", err)
		}
		return db, "postgresql", nil
	}

	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, "", fmt.Errorf("DATA_DIR: %w", err)
	}
	path := filepath.Join(dataDir, "accounts.db")
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, "", fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// SQLite has one writer; a single connection turns lock contention into
	// plain queueing instead of SQLITE_BUSY errors under concurrent requests.
	sqldb.SetMaxOpenConns(1)
	db := bun.NewDB(sqldb, sqlitedialect.New())
	if err := ping(ctx, db); err != nil {
		db.Close()
		return nil, "", fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, "sqlite " + path, nil
}

func ping(ctx context.Context, db *bun.DB) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// Ping reports whether the database answers, as an UnavailableError if not.
func Ping(ctx context.Context, db bun.IDB) error {
	var one int
	if err := db.NewRaw("SELECT 1").Scan(ctx, &one); err != nil {
		// Whatever the driver says, a database that cannot answer SELECT 1 is down.
		if err = dbErr(err, "ping"); !errors.Is(err, ErrUnavailable) {
			err = Unavailable("database", err)
		}
		return err
	}
	return nil
}

// emailKeys are the unique constraints on an email column: the only unique
// business keys, whose violation is ErrEmailTaken. Any other unique violation
// (a colliding id) is a bug and stays an unmapped error.
var emailKeys = map[string]bool{"users_email_key": true, "admins_email_key": true}

// dbErr translates driver errors into the domain vocabulary, so callers never
// look at driver types: no rows is ErrNotFound, a violated email key is
// ErrEmailTaken, a lost connection is an outage of the database.
func dbErr(err error, op string) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	case emailKeys[uniqueViolation(err)]:
		return fmt.Errorf("%s: %w", op, ErrEmailTaken)
	case isConnectionError(err):
		return Unavailable("database", fmt.Errorf("%s: %w", op, err))
	}
	return fmt.Errorf("%s: %w", op, err)
}

// uniqueViolation names the unique constraint err violates, "" when it is
// no unique violation. PostgreSQL names the constraint; SQLite names the
// columns ("UNIQUE constraint failed: users.email"), which are turned into
// PostgreSQL's default name for the same key (users_email_key).
func uniqueViolation(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if pgErr.Code != "23505" {
			return ""
		}
		return pgErr.ConstraintName
	}
	var sqlErr *sqlite.Error
	if errors.As(err, &sqlErr) {
		if sqlErr.Code() != sqlite3.SQLITE_CONSTRAINT_UNIQUE && sqlErr.Code() != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return ""
		}
		msg := sqlErr.Error()
		i := strings.LastIndex(msg, "constraint failed: ")
		if i < 0 {
			return "unique"
		}
		cols, _, _ := strings.Cut(msg[i+len("constraint failed: "):], " (") // modernc appends " (2067)"
		return strings.NewReplacer(".", "_", ", ", "_").Replace(strings.TrimSpace(cols)) + "_key"
	}
	return ""
}

func isConnectionError(err error) bool {
	// Any failure to connect is an outage, whatever the server said: a
	// dropped or renamed database (3D000) or changed credentials (28P01)
	// arrive as a PgError inside the ConnectError and are no bug of ours.
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return isUnavailableSQLState(pgErr.Code)
	}
	// pgx's "conn closed": the connection broke under a transaction (the
	// server went away mid-request) and the statement never left; a plain
	// error that only says it is safe to retry.
	if pgconn.SafeToRetry(err) {
		return true
	}
	var sqlErr *sqlite.Error
	if errors.As(err, &sqlErr) {
		code := sqlErr.Code() & 0xff
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED || code == sqlite3.SQLITE_IOERR || code == sqlite3.SQLITE_CANTOPEN || code == sqlite3.SQLITE_FULL
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded) ||
		pgconn.Timeout(err) ||
		// database/sql does not export its "sql: database is closed".
		strings.Contains(err.Error(), "database is closed")
}

// isUnavailableSQLState reports the SQLSTATE classes that mean the database
// cannot serve us right now: 08 connection exceptions, 57P operator
// intervention (admin shutdown, crash, cannot connect now), 53 insufficient
// resources (too many connections), 3D000 the database is gone, 28 the
// credentials are refused.
func isUnavailableSQLState(code string) bool {
	for _, prefix := range []string{"08", "57P", "53", "3D000", "28"} {
		if strings.HasPrefix(code, prefix) {
			return true
		}
	}
	return false
}

// InTx runs fn in one transaction. Failing to begin or commit is translated
// like any other database error, so a database that is down is an outage
// (503), not a bug.
func InTx(ctx context.Context, db bun.IDB, fn func(ctx context.Context, tx bun.Tx) error) error {
	err := db.RunInTx(ctx, nil, fn)
	if err != nil && !errors.Is(err, ErrUnavailable) && isConnectionError(err) {
		return Unavailable("database", fmt.Errorf("transaction: %w", err))
	}
	return err
}
