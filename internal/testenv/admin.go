package testenv

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/acme/accounts/models"
)

// AdminPassword is the password of the admins CreateAdmin stores.
const AdminPassword = "admin horse battery staple"

// CreateAdmin stores an active admin with AdminPassword straight in the
// database (no API involved) and returns it.
func (e *Env) CreateAdmin(email string) *models.Admin {
	e.T.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	ad := &models.Admin{
		ID: models.NewID(), Email: email, Name: "Test Admin", PasswordHash: e.hash(AdminPassword),
		Active: true, TokenVersion: 1, CreatedAt: now, UpdatedAt: now,
	}
	if err := models.InsertAdmin(context.Background(), e.DB, ad); err != nil {
		e.T.Fatalf("insert admin %s: %v", email, err)
	}
	return ad
}

// hash is a bcrypt hash of password at the cheapest cost, for accounts
// stored straight in the database.
func (e *Env) hash(password string) string {
	e.T.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		e.T.Fatalf("hash password: %v", err)
	}
	return string(h)
}

// AdminLoginPair signs an admin in through both API steps and returns both tokens.
func (e *Env) AdminLoginPair(email, password string) Pair {
	e.T.Helper()
	return e.twoStepPair("/api/v1/admin/auth/login", map[string]any{"email": email, "password": password}, email)
}

// AdminLogin signs an admin in through both API steps and returns the token.
func (e *Env) AdminLogin(email, password string) string {
	e.T.Helper()
	return e.twoStep("/api/v1/admin/auth/login", map[string]any{"email": email, "password": password}, email)
}

// NewAdmin creates an admin in the database and signs it in through the API;
// it returns the admin's email and token.
func (e *Env) NewAdmin() (email, token string) {
	e.T.Helper()
	email = e.Email("admin")
	e.CreateAdmin(email)
	return email, e.AdminLogin(email, AdminPassword)
}

// SignAdminToken signs a token for the admin with the given email using
// e.Secret, with any role and version, expiring after ttl, in a new live
// session of the admin.
func (e *Env) SignAdminToken(t testing.TB, email, role string, version int64, ttl time.Duration) string {
	t.Helper()
	ad, err := models.AdminByEmail(context.Background(), e.DB, email)
	if err != nil {
		t.Fatalf("sign admin token: %v", err)
	}
	sid := e.StoreSession(t, models.Owner{Role: models.RoleAdmin, ID: ad.ID})
	return e.signClaims(t, ad.ID, ad.Email, role, version, sid, ttl)
}
