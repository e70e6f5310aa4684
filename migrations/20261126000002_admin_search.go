package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// The admin user list filters by active and orders newest first; its search
// matches prefixes of the email and of the lower-cased names. These indexes
// serve exactly those predicates (text_pattern_ops lets LIKE 'x%' use a btree
// on PostgreSQL whatever the collation).
func registerAdminSearch(m *migrate.Migrations) {
	m.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return exec(ctx, db, adminSearchPG, adminSearchSQLite)
	}, func(ctx context.Context, db *bun.DB) error {
		drop := []string{
			"DROP INDEX IF EXISTS users_active_newest",
			"DROP INDEX IF EXISTS users_email_prefix",
			"DROP INDEX IF EXISTS users_first_name_prefix",
			"DROP INDEX IF EXISTS users_last_name_prefix",
		}
		return exec(ctx, db, drop, drop)
	})
}

var adminSearchPG = []string{
	`CREATE INDEX users_active_newest ON users (active, created_at DESC, id DESC)`,
	`CREATE INDEX users_email_prefix ON users (email text_pattern_ops)`,
	`CREATE INDEX users_first_name_prefix ON users (lower(first_name) text_pattern_ops)`,
	`CREATE INDEX users_last_name_prefix ON users (lower(last_name) text_pattern_ops)`,
}

var adminSearchSQLite = []string{
	`CREATE INDEX users_active_newest ON users (active, created_at DESC, id DESC)`,
	`CREATE INDEX users_email_prefix ON users (email)`,
	`CREATE INDEX users_first_name_prefix ON users (lower(first_name))`,
	`CREATE INDEX users_last_name_prefix ON users (lower(last_name))`,
}
