package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// Account lifecycle and language: the user's chosen locale, who deactivated
// an account and when (only a self-deactivated one may come back, and only
// it is purged), the avatar objects an erasure still has to delete (retried
// until the object store answers), and the addresses and clients each
// account signed in from (for the new sign-in notice).
func registerAccountLifecycle(m *migrate.Migrations) {
	m.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return exec(ctx, db, lifecyclePG, lifecycleSQLite)
	}, func(ctx context.Context, db *bun.DB) error {
		return exec(ctx, db, lifecycleDownPG, lifecycleDownSQLite)
	})
}

var lifecyclePG = []string{
	`ALTER TABLE users ADD COLUMN locale text CHECK (locale IN ('uz', 'ru', 'en'))`,
	`ALTER TABLE users ADD COLUMN deactivated_by text CHECK (deactivated_by IN ('self', 'admin'))`,
	`ALTER TABLE users ADD COLUMN deactivated_at timestamptz`,
	// Accounts deactivated before this column existed count as an admin's:
	// nobody gets erased, or let back in, on a guess.
	`UPDATE users SET deactivated_by = 'admin', deactivated_at = updated_at WHERE NOT active`,
	// Serves the purge: self-deactivated accounts, oldest first.
	`CREATE INDEX users_self_deactivated ON users (deactivated_at) WHERE deactivated_by = 'self'`,
	`CREATE TABLE erasure_objects (
		object_key text PRIMARY KEY,
		user_id uuid NOT NULL,
		created_at timestamptz NOT NULL,
		attempts integer NOT NULL DEFAULT 0
	)`,
	`CREATE TABLE sign_in_sources (
		user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		kind text NOT NULL CHECK (kind IN ('ip', 'client')),
		value_hash text NOT NULL,
		last_seen_at timestamptz NOT NULL,
		PRIMARY KEY (user_id, kind, value_hash)
	)`,
}

var lifecycleSQLite = []string{
	`ALTER TABLE users ADD COLUMN locale TEXT CHECK (locale IN ('uz', 'ru', 'en'))`,
	`ALTER TABLE users ADD COLUMN deactivated_by TEXT CHECK (deactivated_by IN ('self', 'admin'))`,
	`ALTER TABLE users ADD COLUMN deactivated_at TIMESTAMP`,
	`UPDATE users SET deactivated_by = 'admin', deactivated_at = updated_at WHERE NOT active`,
	`CREATE INDEX users_self_deactivated ON users (deactivated_at) WHERE deactivated_by = 'self'`,
	`CREATE TABLE erasure_objects (
		object_key TEXT PRIMARY KEY,
		user_id TEXT NOT NULL,
		created_at TIMESTAMP NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0
	)`,
	`CREATE TABLE sign_in_sources (
		user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		kind TEXT NOT NULL CHECK (kind IN ('ip', 'client')),
		value_hash TEXT NOT NULL,
		last_seen_at TIMESTAMP NOT NULL,
		PRIMARY KEY (user_id, kind, value_hash)
	)`,
}

var lifecycleDownPG = []string{
	`DROP TABLE IF EXISTS sign_in_sources`,
	`DROP TABLE IF EXISTS erasure_objects`,
	`DROP INDEX IF EXISTS users_self_deactivated`,
	`ALTER TABLE users DROP COLUMN IF EXISTS deactivated_at`,
	`ALTER TABLE users DROP COLUMN IF EXISTS deactivated_by`,
	`ALTER TABLE users DROP COLUMN IF EXISTS locale`,
}

var lifecycleDownSQLite = []string{
	`DROP TABLE IF EXISTS sign_in_sources`,
	`DROP TABLE IF EXISTS erasure_objects`,
	`DROP INDEX IF EXISTS users_self_deactivated`,
	`ALTER TABLE users DROP COLUMN deactivated_at`,
	`ALTER TABLE users DROP COLUMN deactivated_by`,
	`ALTER TABLE users DROP COLUMN locale`,
}
