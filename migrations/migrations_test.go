package migrations_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun/migrate"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/migrations"
	"github.com/acme/accounts/models"
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

// The counters migration counts the users already there: undone, the table
// changes without triggers, redone, the counters match the table again.
func TestUserCountsBackfill(t *testing.T) {
	e := testenv.New(t, testenv.Config{})
	ctx := context.Background()
	m := migrate.NewMigrator(e.DB, migrations.New())
	var counters migrate.Migration
	for _, mig := range migrations.New().Sorted() {
		if mig.Name == "20261130021000" {
			counters = mig
		}
	}
	if counters.Up == nil {
		t.Fatal("no counters migration")
	}
	if err := counters.Down(ctx, m, &counters); err != nil {
		t.Fatalf("down: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := range 37 {
		u := &models.User{
			ID: models.NewID(), Email: fmt.Sprintf("back-%02d@example.com", i), PasswordHash: "x",
			Active: i%5 != 0, TokenVersion: 1, CreatedAt: now, UpdatedAt: now,
		}
		if err := models.InsertUser(ctx, e.DB, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := counters.Up(ctx, m, &counters); err != nil {
		t.Fatalf("up: %v", err)
	}
	got, err := models.CountUsers(ctx, e.DB)
	if err != nil || got.Active != 29 || got.Inactive != 8 {
		t.Fatalf("backfilled counts %+v (%v), want 29 active and 8 inactive", got, err)
	}
	var shards int
	if err := e.DB.NewRaw("SELECT count(*) FROM user_counts").Scan(ctx, &shards); err != nil || shards != 2*migrations.UserCountShards {
		t.Fatalf("%d counter rows (%v)", shards, err)
	}
	// And the triggers are back.
	if _, err := e.DB.NewDelete().Model((*models.User)(nil)).Where("email = 'back-00@example.com'").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := models.CountUsers(ctx, e.DB); got.Inactive != 7 {
		t.Fatalf("after a delete %+v", got)
	}
}
