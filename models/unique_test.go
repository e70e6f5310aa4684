package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

// TestOnlyTheEmailKeyIsEmailTaken: a second account with the same email is
// ErrEmailTaken on this run's database, while another unique violation (the
// same id twice, which only a bug could cause) is not mistaken for it.
func TestOnlyTheEmailKeyIsEmailTaken(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	user := func(email string) *models.User {
		return &models.User{ID: models.NewID(), Email: email, PasswordHash: "x", FirstName: "A", LastName: "B", Active: true, CreatedAt: now, UpdatedAt: now}
	}
	first := user(e.Email("taken"))
	if err := models.InsertUser(ctx, e.DB, first); err != nil {
		t.Fatal(err)
	}
	if err := models.InsertUser(ctx, e.DB, user(first.Email)); !errors.Is(err, models.ErrEmailTaken) {
		t.Fatalf("same email: %v, want ErrEmailTaken", err)
	}
	sameID := user(e.Email("other"))
	sameID.ID = first.ID
	err := models.InsertUser(ctx, e.DB, sameID)
	if err == nil || errors.Is(err, models.ErrEmailTaken) {
		t.Fatalf("same id: %v, want an error that is not ErrEmailTaken", err)
	}

	admin := &models.Admin{ID: models.NewID(), Email: e.Email("admin"), PasswordHash: "x", Name: "Root", Active: true, CreatedAt: now, UpdatedAt: now}
	if err := models.InsertAdmin(ctx, e.DB, admin); err != nil {
		t.Fatal(err)
	}
	again := *admin
	again.ID = models.NewID()
	if err := models.InsertAdmin(ctx, e.DB, &again); !errors.Is(err, models.ErrEmailTaken) {
		t.Fatalf("same admin email: %v, want ErrEmailTaken", err)
	}
}
