package testenv

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/acme/accounts/models"
)

// StoreUser stores an active user with Password straight in the database (no
// API, no mail involved) and returns it.
func (e *Env) StoreUser(id uuid.UUID, email string) *models.User {
	e.T.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := &models.User{
		ID: id, Email: email, PasswordHash: e.hash(Password), FirstName: "Ali", LastName: "Valiyev",
		Active: true, TokenVersion: 1, CreatedAt: now, UpdatedAt: now,
	}
	if err := models.InsertUser(context.Background(), e.DB, u); err != nil {
		e.T.Fatalf("insert user %s: %v", email, err)
	}
	return u
}
