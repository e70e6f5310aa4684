package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// A search of the admin list is ordered by the matched text, then id, within
// each status group. These indexes hold exactly that order per column, so a
// page is three index range scans merged, and a deep page a range start;
// the prefix LIKE is a range on them too, so they replace the prefix indexes.
// COLLATE "C" makes the order bytewise on PostgreSQL whatever the database's
// collation (which also lets LIKE 'x%' use them); SQLite's BINARY already is.
func registerSearchOrder(m *migrate.Migrations) {
	m.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return exec(ctx, db, searchOrderPG, searchOrderSQLite)
	}, func(ctx context.Context, db *bun.DB) error {
		// Back to the prefix indexes of 20261126000002.
		return exec(ctx, db, []string{
			"DROP INDEX IF EXISTS users_search_email",
			"DROP INDEX IF EXISTS users_search_first",
			"DROP INDEX IF EXISTS users_search_last",
			`CREATE INDEX users_email_prefix ON users (email text_pattern_ops)`,
			`CREATE INDEX users_first_name_prefix ON users (lower(first_name) text_pattern_ops)`,
			`CREATE INDEX users_last_name_prefix ON users (lower(last_name) text_pattern_ops)`,
		}, []string{
			"DROP INDEX IF EXISTS users_search_email",
			"DROP INDEX IF EXISTS users_search_first",
			"DROP INDEX IF EXISTS users_search_last",
			`CREATE INDEX users_email_prefix ON users (email)`,
			`CREATE INDEX users_first_name_prefix ON users (lower(first_name))`,
			`CREATE INDEX users_last_name_prefix ON users (lower(last_name))`,
		})
	})
}

var searchOrderPG = []string{
	"DROP INDEX IF EXISTS users_email_prefix",
	"DROP INDEX IF EXISTS users_first_name_prefix",
	"DROP INDEX IF EXISTS users_last_name_prefix",
	`CREATE INDEX users_search_email ON users (active, (email COLLATE "C"), id)`,
	`CREATE INDEX users_search_first ON users (active, (lower(first_name) COLLATE "C"), id)`,
	`CREATE INDEX users_search_last ON users (active, (lower(last_name) COLLATE "C"), id)`,
}

var searchOrderSQLite = []string{
	"DROP INDEX IF EXISTS users_email_prefix",
	"DROP INDEX IF EXISTS users_first_name_prefix",
	"DROP INDEX IF EXISTS users_last_name_prefix",
	`CREATE INDEX users_search_email ON users (active, email, id)`,
	`CREATE INDEX users_search_first ON users (active, lower(first_name), id)`,
	`CREATE INDEX users_search_last ON users (active, lower(last_name), id)`,
}
