package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

// TestUserWithProducts runs GET /users/me's hand-written query on this run's
// database (its own PostgreSQL text with TEST_DATABASE_URL, Bun's on SQLite):
// the newest products up to the limit, the count of all, the session check.
func TestUserWithProducts(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	ctx := context.Background()
	now := e.Clock.Now().UTC().Truncate(time.Microsecond)
	insertUser := func(name string) *models.User {
		u := &models.User{
			ID: models.NewID(), Email: e.Email(name), PasswordHash: "unused", FirstName: "Ada", LastName: name,
			Active: true, TokenVersion: 1, CreatedAt: now, UpdatedAt: now,
		}
		if err := models.InsertUser(ctx, e.DB, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	u, other := insertUser("owner"), insertUser("other")
	for i, name := range []string{"oldest", "middle", "newest"} {
		at := now.Add(time.Duration(i) * time.Minute)
		p := &models.Product{ID: models.NewID(), UserID: u.ID, Name: name, Description: "d", Price: int64(100 * (i + 1)), Currency: "USD", CreatedAt: at, UpdatedAt: at}
		if err := models.InsertProduct(ctx, e.DB, p); err != nil {
			t.Fatal(err)
		}
	}
	sid := e.StoreSession(t, models.Owner{Role: models.RoleUser, ID: u.ID})
	otherSid := e.StoreSession(t, models.Owner{Role: models.RoleUser, ID: other.ID})

	got, items, total, err := models.UserWithProductsInSession(ctx, e.DB, u.ID, sid, now, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || got.Email != u.Email || !got.Active || got.TokenVersion != 1 || !got.CreatedAt.Equal(now) {
		t.Fatalf("user = %+v", got)
	}
	if total != 3 || len(items) != 2 || items[0].Name != "newest" || items[1].Name != "middle" || items[0].Price != 300 {
		t.Fatalf("products = %+v (total %d), want newest and middle of 3", items, total)
	}
	if !items[0].CreatedAt.Equal(now.Add(2*time.Minute)) || items[0].UserID != u.ID || items[0].Currency != "USD" {
		t.Fatalf("product columns = %+v", items[0])
	}

	// The same without the session check, as an admin's view of a user.
	if _, all, total, err := models.UserWithProducts(ctx, e.DB, u.ID, 10); err != nil || total != 3 || len(all) != 3 {
		t.Fatalf("without session: %d products of %d, %v", len(all), total, err)
	}
	// A user with no products still comes back, with none.
	if got, none, total, err := models.UserWithProductsInSession(ctx, e.DB, other.ID, otherSid, now, 2); err != nil || got.ID != other.ID || len(none) != 0 || total != 0 {
		t.Fatalf("no products: %v, %d of %d, %v", got, len(none), total, err)
	}

	for name, call := range map[string]func() error{
		"another user's session": func() error {
			_, _, _, err := models.UserWithProductsInSession(ctx, e.DB, u.ID, otherSid, now, 2)
			return err
		},
		"an idle-expired session": func() error {
			_, _, _, err := models.UserWithProductsInSession(ctx, e.DB, u.ID, sid, now.Add(e.Cfg.SessionIdleTTL+time.Second), 2)
			return err
		},
		"an unknown user": func() error {
			_, _, _, err := models.UserWithProductsInSession(ctx, e.DB, models.NewID(), sid, now, 2)
			return err
		},
	} {
		if err := call(); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}
	if err := models.RevokeSession(ctx, e.DB, models.Owner{Role: models.RoleUser, ID: u.ID}, sid, now); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := models.UserWithProductsInSession(ctx, e.DB, u.ID, sid, now, 2); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("revoked session: err = %v, want ErrNotFound", err)
	}
}
