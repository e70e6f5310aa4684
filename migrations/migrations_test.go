package migrations_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun/migrate"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/migrations"
)

// The schema goes up, reports nothing pending on a second run, and rolls
// back cleanly, on whichever database the test run uses.
func TestUpIsIdempotentAndReversible(t *testing.T) {
	e := testenv.New(t, testenv.Config{}) // already migrated
	ctx := context.Background()
	n, err := migrations.Up(ctx, e.DB)
	if err != nil || n != 0 {
		t.Fatalf("second Up: %d migrations, %v", n, err)
	}
	m := migrate.NewMigrator(e.DB, migrations.New())
	for {
		group, err := m.Rollback(ctx)
		if err != nil {
			t.Fatalf("rollback: %v", err)
		}
		if group.IsZero() {
			break
		}
	}
	var tables int
	q := "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('users','products','admins','sessions')"
	if e.DB.Dialect().Name().String() == "pg" {
		q = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('users','products','admins','sessions')"
	}
	if err := e.DB.NewRaw(q).Scan(ctx, &tables); err != nil || tables != 0 {
		t.Fatalf("after rollback %d tables remain (%v)", tables, err)
	}
	if n, err := migrations.Up(ctx, e.DB); err != nil || n != len(migrations.New().Sorted()) {
		t.Fatalf("Up after rollback: %d, %v", n, err)
	}
}
