package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// The audit log: who did what to which account, from where. It is
// append-only in the database itself (triggers refuse UPDATE and DELETE),
// so no code path, bug or stolen application credential can rewrite
// history through ordinary statements. There are no foreign keys: erasing
// a user deletes the row, and their trail stays, naming them only by id.
func registerAuditEvents(m *migrate.Migrations) {
	m.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return exec(ctx, db, auditPG, auditSQLite)
	}, func(ctx context.Context, db *bun.DB) error {
		return exec(ctx, db, auditDownPG, auditDownSQLite)
	})
}

var auditPG = []string{
	`CREATE TABLE audit_events (
		id uuid PRIMARY KEY,
		at timestamptz NOT NULL,
		actor_type text NOT NULL CHECK (actor_type IN ('user', 'admin', 'system', 'anonymous')),
		actor_id uuid,
		action text NOT NULL,
		target_id uuid,
		ip text NOT NULL DEFAULT '',
		user_agent text NOT NULL DEFAULT '',
		detail text NOT NULL DEFAULT '{}' CHECK (length(detail) <= 2048)
	)`,
	// Newest first, overall and within each filter; id breaks ties of the
	// same microsecond (UUID v7 ids grow with time).
	`CREATE INDEX audit_events_at ON audit_events (at DESC, id DESC)`,
	`CREATE INDEX audit_events_actor ON audit_events (actor_id, at DESC, id DESC)`,
	`CREATE INDEX audit_events_target ON audit_events (target_id, at DESC, id DESC)`,
	`CREATE INDEX audit_events_action ON audit_events (action, at DESC, id DESC)`,
	`CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
	END
	$$`,
	`CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
		FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`,
	`CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
		FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`,
}

var auditSQLite = []string{
	`CREATE TABLE audit_events (
		id TEXT PRIMARY KEY,
		at TIMESTAMP NOT NULL,
		actor_type TEXT NOT NULL CHECK (actor_type IN ('user', 'admin', 'system', 'anonymous')),
		actor_id TEXT,
		action TEXT NOT NULL,
		target_id TEXT,
		ip TEXT NOT NULL DEFAULT '',
		user_agent TEXT NOT NULL DEFAULT '',
		detail TEXT NOT NULL DEFAULT '{}' CHECK (length(detail) <= 2048)
	)`,
	`CREATE INDEX audit_events_at ON audit_events (at DESC, id DESC)`,
	`CREATE INDEX audit_events_actor ON audit_events (actor_id, at DESC, id DESC)`,
	`CREATE INDEX audit_events_target ON audit_events (target_id, at DESC, id DESC)`,
	`CREATE INDEX audit_events_action ON audit_events (action, at DESC, id DESC)`,
	`CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
	BEGIN
		SELECT RAISE(ABORT, 'audit_events is append-only');
	END`,
	`CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
	BEGIN
		SELECT RAISE(ABORT, 'audit_events is append-only');
	END`,
}

// Rolling back drops the table whole (DROP is not DELETE: no trigger
// fires), which is what taking the feature out means.
var auditDownPG = []string{
	`DROP TABLE IF EXISTS audit_events`,
	`DROP FUNCTION IF EXISTS audit_events_append_only()`,
}

var auditDownSQLite = []string{
	`DROP TABLE IF EXISTS audit_events`,
}
