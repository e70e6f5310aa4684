package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

func registerInit(m *migrate.Migrations) {
	m.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return exec(ctx, db, initPG, initSQLite)
	}, func(ctx context.Context, db *bun.DB) error {
		drop := []string{"DROP TABLE IF EXISTS products", "DROP TABLE IF EXISTS admins", "DROP TABLE IF EXISTS users"}
		return exec(ctx, db, drop, drop)
	})
}

var initPG = []string{
	`CREATE TABLE users (
		id uuid PRIMARY KEY,
		email text NOT NULL,
		password_hash text NOT NULL,
		first_name text NOT NULL,
		last_name text NOT NULL,
		phone text,
		avatar_key text,
		active boolean NOT NULL DEFAULT true,
		token_version bigint NOT NULL DEFAULT 1,
		created_at timestamptz NOT NULL,
		updated_at timestamptz NOT NULL,
		CONSTRAINT users_email_key UNIQUE (email),
		CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email)))
	)`,
	`CREATE TABLE products (
		id uuid PRIMARY KEY,
		user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		name text NOT NULL,
		description text NOT NULL DEFAULT '',
		price bigint NOT NULL CHECK (price >= 0),
		currency text NOT NULL DEFAULT 'UZS',
		created_at timestamptz NOT NULL,
		updated_at timestamptz NOT NULL
	)`,
	// Serves "a user's products, newest first" for GET /users/me and /products.
	`CREATE INDEX products_user_newest ON products (user_id, created_at DESC, id DESC)`,
	`CREATE TABLE admins (
		id uuid PRIMARY KEY,
		email text NOT NULL,
		name text NOT NULL,
		password_hash text NOT NULL,
		active boolean NOT NULL DEFAULT true,
		token_version bigint NOT NULL DEFAULT 1,
		created_at timestamptz NOT NULL,
		updated_at timestamptz NOT NULL,
		CONSTRAINT admins_email_key UNIQUE (email),
		CONSTRAINT admins_email_normalised CHECK (email = lower(btrim(email)))
	)`,
}

var initSQLite = []string{
	`CREATE TABLE users (
		id TEXT PRIMARY KEY,
		email TEXT NOT NULL UNIQUE CHECK (email = lower(trim(email))),
		password_hash TEXT NOT NULL,
		first_name TEXT NOT NULL,
		last_name TEXT NOT NULL,
		phone TEXT,
		avatar_key TEXT,
		active BOOLEAN NOT NULL DEFAULT 1,
		token_version INTEGER NOT NULL DEFAULT 1,
		created_at TIMESTAMP NOT NULL,
		updated_at TIMESTAMP NOT NULL
	)`,
	`CREATE TABLE products (
		id TEXT PRIMARY KEY,
		user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		name TEXT NOT NULL,
		description TEXT NOT NULL DEFAULT '',
		price INTEGER NOT NULL CHECK (price >= 0),
		currency TEXT NOT NULL DEFAULT 'UZS',
		created_at TIMESTAMP NOT NULL,
		updated_at TIMESTAMP NOT NULL
	)`,
	`CREATE INDEX products_user_newest ON products (user_id, created_at DESC, id DESC)`,
	`CREATE TABLE admins (
		id TEXT PRIMARY KEY,
		email TEXT NOT NULL UNIQUE CHECK (email = lower(trim(email))),
		name TEXT NOT NULL,
		password_hash TEXT NOT NULL,
		active BOOLEAN NOT NULL DEFAULT 1,
		token_version INTEGER NOT NULL DEFAULT 1,
		created_at TIMESTAMP NOT NULL,
		updated_at TIMESTAMP NOT NULL
	)`,
}
