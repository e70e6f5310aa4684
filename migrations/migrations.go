// Package migrations holds the versioned schema changes, embedded in the binary
// and applied through bun/migrate. Tables are never created ad hoc at start-up:
// every change is a numbered step that runs once per database.
package migrations

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

// New returns every migration of the project, in order. Each file registers
// its own step; the file name (a timestamp) is the migration's version.
func New() *migrate.Migrations {
	m := migrate.NewMigrations()
	registerInit(m)
	registerAdminSearch(m)
	registerSessions(m)
	registerAccountLifecycle(m)
	registerAuditEvents(m)
	registerUserCounts(m)
	registerSearchOrder(m)
	return m
}

// Up applies every pending migration under the migrator's lock, so two
// replicas starting at once do not race. It returns how many ran.
func Up(ctx context.Context, db *bun.DB) (int, error) {
	migrator := migrate.NewMigrator(db, New(), migrate.WithMarkAppliedOnSuccess(true))
	if err := migrator.Init(ctx); err != nil {
		return 0, fmt.Errorf("migrations: init: %w", err)
	}
	if err := migrator.Lock(ctx); err != nil {
		return 0, fmt.Errorf("migrations: lock: %w", err)
	}
	defer migrator.Unlock(context.WithoutCancel(ctx)) //nolint:errcheck // best effort; the lock row is harmless
	group, err := migrator.Migrate(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	return len(group.Migrations), nil
}

// exec runs statements in one transaction, picking the variant for the
// database's dialect: the schema is the same on both, the spelling is not.
func exec(ctx context.Context, db *bun.DB, pg, sqlite []string) error {
	stmts := sqlite
	if db.Dialect().Name() == dialect.PG {
		stmts = pg
	}
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", firstLine(s), err)
			}
		}
		return nil
	})
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' || i > 60 {
			return s[:i]
		}
	}
	return s
}
