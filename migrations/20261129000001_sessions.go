package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// A session is one sign-in of a user or an admin (exactly one of the two),
// carried on by rotating refresh tokens. Only a hash of the current refresh
// token is stored. idle_expires_at is the effective end (never later than
// expires_at, set to the revocation time when a session is ended), so the
// check on every request and the periodic clean-up both read one indexed
// column.
func registerSessions(m *migrate.Migrations) {
	m.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return exec(ctx, db, sessionsPG, sessionsSQLite)
	}, func(ctx context.Context, db *bun.DB) error {
		drop := []string{"DROP TABLE IF EXISTS sessions"}
		return exec(ctx, db, drop, drop)
	})
}

var sessionsPG = []string{
	`CREATE TABLE sessions (
		id uuid PRIMARY KEY,
		user_id uuid REFERENCES users (id) ON DELETE CASCADE,
		admin_id uuid REFERENCES admins (id) ON DELETE CASCADE,
		created_at timestamptz NOT NULL,
		last_used_at timestamptz NOT NULL,
		ip text NOT NULL DEFAULT '',
		user_agent text NOT NULL DEFAULT '',
		generation bigint NOT NULL DEFAULT 0,
		refresh_hash bytea NOT NULL,
		rotated_at timestamptz NOT NULL,
		idle_expires_at timestamptz NOT NULL,
		expires_at timestamptz NOT NULL,
		revoked_at timestamptz,
		CONSTRAINT sessions_one_owner CHECK ((user_id IS NULL) <> (admin_id IS NULL))
	)`,
	// A user's sessions, newest first (the session list; ending them all).
	`CREATE INDEX sessions_user_newest ON sessions (user_id, created_at DESC, id DESC) WHERE user_id IS NOT NULL`,
	`CREATE INDEX sessions_admin_newest ON sessions (admin_id, created_at DESC, id DESC) WHERE admin_id IS NOT NULL`,
	// The clean-up deletes by this column without scanning the table.
	`CREATE INDEX sessions_idle_expires ON sessions (idle_expires_at)`,
}

var sessionsSQLite = []string{
	`CREATE TABLE sessions (
		id TEXT PRIMARY KEY,
		user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
		admin_id TEXT REFERENCES admins (id) ON DELETE CASCADE,
		created_at TIMESTAMP NOT NULL,
		last_used_at TIMESTAMP NOT NULL,
		ip TEXT NOT NULL DEFAULT '',
		user_agent TEXT NOT NULL DEFAULT '',
		generation INTEGER NOT NULL DEFAULT 0,
		refresh_hash BLOB NOT NULL,
		rotated_at TIMESTAMP NOT NULL,
		idle_expires_at TIMESTAMP NOT NULL,
		expires_at TIMESTAMP NOT NULL,
		revoked_at TIMESTAMP,
		CHECK ((user_id IS NULL) <> (admin_id IS NULL))
	)`,
	`CREATE INDEX sessions_user_newest ON sessions (user_id, created_at DESC, id DESC) WHERE user_id IS NOT NULL`,
	`CREATE INDEX sessions_admin_newest ON sessions (admin_id, created_at DESC, id DESC) WHERE admin_id IS NOT NULL`,
	`CREATE INDEX sessions_idle_expires ON sessions (idle_expires_at)`,
}
