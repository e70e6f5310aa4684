package models_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

// seedUsers stores n users in one statement (as an import would), created
// one second apart from base backwards unless tie groups them: users i and
// i+1 share a created_at when tie is true, so the id must break the tie.
func seedUsers(t *testing.T, db bun.IDB, prefix string, n int, base time.Time, active func(i int) bool, tie bool) []models.User {
	t.Helper()
	users := make([]models.User, n)
	for i := range users {
		step := i
		if tie {
			step = i / 2
		}
		at := base.Add(-time.Duration(step) * time.Second)
		users[i] = models.User{
			ID: models.NewID(), Email: fmt.Sprintf("%s-%05d@example.com", prefix, i), PasswordHash: "x",
			FirstName: "Ali", LastName: "Valiyev", Active: active(i), TokenVersion: 1, CreatedAt: at, UpdatedAt: at,
		}
	}
	if _, err := db.NewInsert().Model(&users).Exec(context.Background()); err != nil {
		t.Fatalf("seed %d users: %v", n, err)
	}
	return users
}

// assertCounts compares the counters with a real count of the users table.
func assertCounts(t *testing.T, db bun.IDB, step string) models.UserCounts {
	t.Helper()
	ctx := context.Background()
	got, err := models.CountUsers(ctx, db)
	if err != nil {
		t.Fatalf("%s: count: %v", step, err)
	}
	var want models.UserCounts
	err = db.NewSelect().TableExpr("users AS u").
		ColumnExpr("COALESCE(SUM(CASE WHEN u.active THEN 1 ELSE 0 END), 0) AS active").
		ColumnExpr("COALESCE(SUM(CASE WHEN u.active THEN 0 ELSE 1 END), 0) AS inactive").
		Scan(ctx, &want)
	if err != nil {
		t.Fatalf("%s: count(*): %v", step, err)
	}
	if got != want {
		t.Fatalf("%s: counters say %+v, the table holds %+v", step, got, want)
	}
	return got
}

// The counters follow every way a user is created, switched or removed,
// one row or many at a time, and concurrent registrations.
func TestUserCountsStayExact(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	ctx := context.Background()
	db := e.DB
	now := time.Now().UTC().Truncate(time.Microsecond)
	assertCounts(t, db, "empty")

	var ids []uuid.UUID
	for i := range 10 {
		u := e.StoreUser(models.NewID(), fmt.Sprintf("one-%d@example.com", i))
		ids = append(ids, u.ID)
	}
	if c := assertCounts(t, db, "single inserts"); c.Active != 10 || c.Inactive != 0 {
		t.Fatalf("single inserts: %+v", c)
	}
	seeded := seedUsers(t, db, "bulk", 40, now, func(i int) bool { return i%4 != 0 }, false)
	if c := assertCounts(t, db, "bulk insert"); c.Active != 40 || c.Inactive != 10 {
		t.Fatalf("bulk insert: %+v", c)
	}

	for _, id := range ids[:4] {
		if _, err := models.SetUserActive(ctx, db, id, false, now); err != nil {
			t.Fatal(err)
		}
	}
	assertCounts(t, db, "admin deactivation")
	if _, err := models.SetUserActiveBy(ctx, db, ids[4], false, models.DeactivatedSelf, now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	assertCounts(t, db, "self deactivation")
	if _, err := models.SetUserActive(ctx, db, ids[0], true, now); err != nil {
		t.Fatal(err)
	}
	assertCounts(t, db, "reactivation")
	// Writing the state a user already has must not count them twice.
	if _, err := models.SetUserActive(ctx, db, ids[1], false, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("active = active").Set("first_name = 'X'").Where("TRUE").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	assertCounts(t, db, "unchanged active")

	if _, err := models.EraseUser(ctx, db, ids[2], now); err != nil {
		t.Fatal(err)
	}
	if _, err := models.EraseUser(ctx, db, ids[5], now); err != nil {
		t.Fatal(err)
	}
	assertCounts(t, db, "erasure")
	if _, err := models.ErasePurgeable(ctx, db, ids[4], now.Add(-time.Hour), now); err != nil {
		t.Fatal(err)
	}
	assertCounts(t, db, "purge")
	// A purge that finds the account no longer purgeable changes nothing.
	if _, err := models.ErasePurgeable(ctx, db, ids[6], now.Add(-time.Hour), now); err == nil {
		t.Fatal("purged an active account")
	}
	assertCounts(t, db, "refused purge")

	// Many rows in one statement, in both directions.
	if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("active = NOT active").Where("email LIKE 'bulk-%'").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	assertCounts(t, db, "bulk flip")
	if _, err := db.NewDelete().Model((*models.User)(nil)).Where("id IN (?)", bun.In([]uuid.UUID{seeded[0].ID, seeded[1].ID, seeded[7].ID})).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	assertCounts(t, db, "bulk delete")

	// A failed transaction leaves the counters as they were.
	before := assertCounts(t, db, "before rollback")
	err := models.InTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		if err := models.InsertUser(ctx, tx, &models.User{ID: models.NewID(), Email: "rolled@example.com", PasswordHash: "x", Active: true, TokenVersion: 1, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return fmt.Errorf("abort")
	})
	if err == nil {
		t.Fatal("transaction did not fail")
	}
	if after := assertCounts(t, db, "after rollback"); after != before {
		t.Fatalf("rollback moved the counters: %+v -> %+v", before, after)
	}

	// Concurrent registrations: none is lost, none is counted twice.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- models.InsertUser(ctx, db, &models.User{
				ID: models.NewID(), Email: fmt.Sprintf("par-%02d@example.com", i), PasswordHash: "x",
				FirstName: "P", LastName: "Q", Active: true, TokenVersion: 1, CreatedAt: now, UpdatedAt: now,
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("parallel insert: %v", err)
		}
	}
	assertCounts(t, db, "20 parallel registrations")

	if db.Dialect().Name().String() == "pg" {
		if _, err := db.ExecContext(ctx, "TRUNCATE users CASCADE"); err != nil {
			t.Fatal(err)
		}
		if c := assertCounts(t, db, "truncate"); c.Active != 0 || c.Inactive != 0 {
			t.Fatalf("truncate: %+v", c)
		}
	}
}

// fullOrder is every user of one group, newest first, straight from the table.
func fullOrder(t *testing.T, db bun.IDB, active bool) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	err := db.NewSelect().Model((*models.User)(nil)).Column("id").Where("active = ?", active).
		OrderExpr("created_at DESC, id DESC").Scan(context.Background(), &ids)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func walk(t *testing.T, db bun.IDB, f models.UserFilter) []uuid.UUID {
	t.Helper()
	var seen []uuid.UUID
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("the walk does not end")
		}
		g, err := models.ListUsers(context.Background(), db, f)
		if err != nil {
			t.Fatal(err)
		}
		group := g.Active
		if !*f.Active {
			group = g.Inactive
		}
		if len(group.Items) > f.Limit {
			t.Fatalf("page of %d for limit %d", len(group.Items), f.Limit)
		}
		for _, u := range group.Items {
			seen = append(seen, u.ID)
		}
		if group.Next == nil {
			return seen
		}
		if len(group.Items) != f.Limit {
			t.Fatalf("a short page (%d) has a next position", len(group.Items))
		}
		f.After = group.Next
	}
}

// Walking a group by positions returns every user exactly once, in the
// list's order, ties on created_at included.
func TestListUsersKeysetWalk(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	now := time.Now().UTC().Truncate(time.Microsecond)
	seedUsers(t, e.DB, "walk", 83, now, func(i int) bool { return i%3 != 0 }, true)
	for _, active := range []bool{true, false} {
		want := fullOrder(t, e.DB, active)
		for _, limit := range []int{1, 7, 28, 100} {
			got := walk(t, e.DB, models.UserFilter{Active: &active, Limit: limit})
			if !slices.Equal(got, want) {
				t.Fatalf("active=%v limit=%d: walked %d users, want %d in order", active, limit, len(got), len(want))
			}
		}
	}
	// Offset pages and positions agree where both reach.
	active := true
	g, err := models.ListUsers(context.Background(), e.DB, models.UserFilter{Active: &active, Limit: 10, Offset: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := fullOrder(t, e.DB, true)[10:20]
	for i, u := range g.Active.Items {
		if u.ID != want[i] {
			t.Fatalf("offset page item %d: %s, want %s", i, u.ID, want[i])
		}
	}
	if _, err := models.ListUsers(context.Background(), e.DB, models.UserFilter{Limit: 10, After: g.Active.Next}); err == nil {
		t.Fatal("a position without a status group was accepted")
	}
}

// Users deleted, switched or added between two pages neither shift nor
// repeat the rest: the next page starts right after the last user shown.
func TestListUsersKeysetSurvivesChanges(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	seedUsers(t, e.DB, "chg", 30, now, func(int) bool { return true }, false)
	active := true
	first, err := models.ListUsers(ctx, e.DB, models.UserFilter{Active: &active, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	order := fullOrder(t, e.DB, true)
	// The last user shown is erased, the next one too, one further on is
	// deactivated, and a newer and an older user arrive.
	for _, id := range []uuid.UUID{order[9], order[10]} {
		if _, err := models.EraseUser(ctx, e.DB, id, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := models.SetUserActive(ctx, e.DB, order[12], false, now); err != nil {
		t.Fatal(err)
	}
	seedUsers(t, e.DB, "newer", 1, now.Add(time.Hour), func(int) bool { return true }, false)
	older := seedUsers(t, e.DB, "older", 1, now.Add(-time.Hour), func(int) bool { return true }, false)

	rest := walk(t, e.DB, models.UserFilter{Active: &active, Limit: 10, After: first.Active.Next})
	want := slices.Concat([]uuid.UUID{order[11]}, order[13:], []uuid.UUID{older[0].ID})
	if !slices.Equal(rest, want) {
		t.Fatalf("after the changes the walk went on with %d users, want %d", len(rest), len(want))
	}
}

// A search counts at most cap+1 rows: over the cap its total is the cap,
// marked capped; at or under it the total is exact.
func TestListUsersCappedSearchTotals(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	now := time.Now().UTC().Truncate(time.Microsecond)
	seedUsers(t, e.DB, "cap", 12, now, func(i int) bool { return i < 9 }, false)
	seedUsers(t, e.DB, "other", 5, now, func(int) bool { return true }, false)
	for _, c := range []struct {
		cap                int
		active, inactive   int
		activeC, inactiveC bool
	}{
		{0, 9, 3, false, false},
		{9, 9, 3, false, false},
		{8, 8, 3, true, false},
		{3, 3, 3, true, false},
		{2, 2, 2, true, true},
	} {
		g, err := models.ListUsers(context.Background(), e.DB, models.UserFilter{Search: "CAP", Limit: 5, TotalCap: c.cap})
		if err != nil {
			t.Fatal(err)
		}
		if g.Active.Total != c.active || g.Active.TotalCapped != c.activeC || g.Inactive.Total != c.inactive || g.Inactive.TotalCapped != c.inactiveC {
			t.Errorf("cap %d: active %d/%v inactive %d/%v, want %d/%v %d/%v", c.cap,
				g.Active.Total, g.Active.TotalCapped, g.Inactive.Total, g.Inactive.TotalCapped, c.active, c.activeC, c.inactive, c.inactiveC)
		}
		if len(g.Active.Items) != 5 || g.Active.Next == nil || len(g.Inactive.Items) != 3 || g.Inactive.Next != nil {
			t.Errorf("cap %d: pages of %d (next %v) and %d (next %v)", c.cap, len(g.Active.Items), g.Active.Next != nil, len(g.Inactive.Items), g.Inactive.Next != nil)
		}
		for _, u := range g.Active.Items {
			if !strings.HasPrefix(u.Email, "cap-") {
				t.Errorf("search matched %s", u.Email)
			}
		}
	}
	// Without a search the totals are exact whatever the cap.
	g, err := models.ListUsers(context.Background(), e.DB, models.UserFilter{Limit: 5, TotalCap: 2})
	if err != nil {
		t.Fatal(err)
	}
	if g.Active.Total != 14 || g.Active.TotalCapped || g.Inactive.Total != 3 {
		t.Errorf("no search: %d/%v %d", g.Active.Total, g.Active.TotalCapped, g.Inactive.Total)
	}
}
