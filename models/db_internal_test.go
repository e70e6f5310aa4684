package models

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// TestOutagesAreUnavailable: the SQLSTATEs of a database that cannot serve
// us (gone, refusing our credentials, shutting down, out of connections)
// are outages (503); constraint and syntax errors stay what they are.
func TestOutagesAreUnavailable(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]bool{
		"3D000": true,  // invalid_catalog_name: the database was dropped or renamed
		"28P01": true,  // invalid_password
		"28000": true,  // invalid_authorization_specification
		"57P01": true,  // admin_shutdown
		"57P03": true,  // cannot_connect_now
		"08006": true,  // connection_failure
		"53300": true,  // too_many_connections
		"23505": false, // unique_violation
		"42P01": false, // undefined_table: a bug, not an outage
		"22021": false, // character_not_in_repertoire
	} {
		err := dbErr(&pgconn.PgError{Code: code}, "query")
		if got := errors.Is(err, ErrUnavailable); got != want {
			t.Errorf("SQLSTATE %s: unavailable %v, want %v (%v)", code, got, want, err)
		}
	}
}

// TestConnectingToAMissingDatabaseIsUnavailable: the real error of a pool
// that reconnects to a database that is gone (a ConnectError wrapping
// SQLSTATE 3D000) is an outage.
func TestConnectingToAMissingDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("needs PostgreSQL (TEST_DATABASE_URL); TestOutagesAreUnavailable covers the codes everywhere")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/no_such_database_here"
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(stdlib.GetConnector(*cfg))
	defer db.Close()
	_, err = db.ExecContext(context.Background(), "SELECT 1")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" {
		t.Fatalf("got %v, want SQLSTATE 3D000", err)
	}
	if err := dbErr(err, "query"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("%v is not an outage", err)
	}
}
