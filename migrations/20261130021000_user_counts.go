package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// UserCountShards is how many counter rows each status has. A registration
// adds one to a single shard picked by its id, so concurrent registrations
// lock different rows instead of queueing on one; a total is the sum of the
// shards. It must match the shard expression of the triggers below (the low
// four bits of the id's last byte, random in UUIDv7 and v4).
const UserCountShards = 16

// The admin list answers exact group totals without counting rows: the
// counters are kept by triggers on users, in the same transaction as every
// insert, delete and change of active, so no code path can forget them.
func registerUserCounts(m *migrate.Migrations) {
	m.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return exec(ctx, db, userCountsPG, userCountsSQLite)
	}, func(ctx context.Context, db *bun.DB) error {
		return exec(ctx, db, []string{
			"DROP TRIGGER IF EXISTS users_count ON users",
			"DROP FUNCTION IF EXISTS users_count()",
			"DROP TRIGGER IF EXISTS users_count_truncate ON users",
			"DROP FUNCTION IF EXISTS users_count_truncate()",
			"DROP TABLE IF EXISTS user_counts",
		}, []string{
			"DROP TRIGGER IF EXISTS users_count_insert",
			"DROP TRIGGER IF EXISTS users_count_delete",
			"DROP TRIGGER IF EXISTS users_count_update",
			"DROP TABLE IF EXISTS user_counts",
		})
	})
}

var userCountsPG = []string{
	// Writers wait until the backfill below is committed with the trigger,
	// so no change falls between the count and the first trigger run.
	`LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`,
	`CREATE TABLE user_counts (
		active boolean NOT NULL,
		shard smallint NOT NULL,
		n bigint NOT NULL DEFAULT 0,
		PRIMARY KEY (active, shard)
	)`,
	`CREATE FUNCTION users_count() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF TG_OP IN ('DELETE', 'UPDATE') THEN
			UPDATE user_counts SET n = n - 1
			WHERE active = OLD.active AND shard = get_byte(uuid_send(OLD.id), 15) % 16;
		END IF;
		IF TG_OP IN ('INSERT', 'UPDATE') THEN
			UPDATE user_counts SET n = n + 1
			WHERE active = NEW.active AND shard = get_byte(uuid_send(NEW.id), 15) % 16;
		END IF;
		RETURN NULL;
	END $$`,
	`CREATE TRIGGER users_count AFTER INSERT OR DELETE OR UPDATE OF active, id ON users
		FOR EACH ROW EXECUTE FUNCTION users_count()`,
	// TRUNCATE fires no row triggers; it empties every shard.
	`CREATE FUNCTION users_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		UPDATE user_counts SET n = 0;
		RETURN NULL;
	END $$`,
	`CREATE TRIGGER users_count_truncate AFTER TRUNCATE ON users
		FOR EACH STATEMENT EXECUTE FUNCTION users_count_truncate()`,
	`INSERT INTO user_counts (active, shard, n)
		SELECT a, s, 0 FROM (VALUES (true), (false)) AS g(a), generate_series(0, 15) AS s`,
	`UPDATE user_counts c SET n = d.k
		FROM (SELECT active, get_byte(uuid_send(id), 15) % 16 AS shard, count(*) AS k
			FROM users GROUP BY 1, 2) d
		WHERE c.active = d.active AND c.shard = d.shard`,
}

var userCountsSQLite = []string{
	`CREATE TABLE user_counts (
		active BOOLEAN NOT NULL,
		shard INTEGER NOT NULL,
		n INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (active, shard)
	)`,
	`CREATE TRIGGER users_count_insert AFTER INSERT ON users BEGIN
		UPDATE user_counts SET n = n + 1
		WHERE active = NEW.active AND shard = ` + shardOf("NEW") + `;
	END`,
	`CREATE TRIGGER users_count_delete AFTER DELETE ON users BEGIN
		UPDATE user_counts SET n = n - 1
		WHERE active = OLD.active AND shard = ` + shardOf("OLD") + `;
	END`,
	`CREATE TRIGGER users_count_update AFTER UPDATE OF active, id ON users
		WHEN OLD.active IS NOT NEW.active OR OLD.id IS NOT NEW.id BEGIN
		UPDATE user_counts SET n = n - 1
		WHERE active = OLD.active AND shard = ` + shardOf("OLD") + `;
		UPDATE user_counts SET n = n + 1
		WHERE active = NEW.active AND shard = ` + shardOf("NEW") + `;
	END`,
	// One pass over users for the counts, then the empty shards.
	`INSERT INTO user_counts (active, shard, n)
		SELECT u.active, ` + shardOf("u") + `, count(*) FROM users u GROUP BY 1, 2`,
	`WITH RECURSIVE s(shard) AS (SELECT 0 UNION ALL SELECT shard + 1 FROM s WHERE shard < 15)
		INSERT OR IGNORE INTO user_counts (active, shard, n)
		SELECT a.active, s.shard, 0 FROM (SELECT 1 AS active UNION ALL SELECT 0) AS a, s`,
}

// shardOf is the SQLite shard of a row: ids are stored as canonical
// lower-case text, whose last hex digit is the same four bits PostgreSQL
// takes from the last byte.
func shardOf(row string) string {
	return "(instr('0123456789abcdef', lower(substr(" + row + ".id, -1))) - 1)"
}
