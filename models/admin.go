package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Admin is an operator account, kept apart from users: its own table and its
// own token version, so no user row can ever be promoted by a forged claim.
type Admin struct {
	bun.BaseModel `bun:"table:admins,alias:a"`

	ID           uuid.UUID `bun:"id,pk,type:uuid"`
	Email        string    `bun:"email,notnull"`
	Name         string    `bun:"name,notnull"`
	PasswordHash string    `bun:"password_hash,notnull" json:"-"`
	Active       bool      `bun:"active,notnull"`
	TokenVersion int64     `bun:"token_version,notnull"`
	CreatedAt    time.Time `bun:"created_at,notnull"`
	UpdatedAt    time.Time `bun:"updated_at,notnull"`
}

// InsertAdmin stores a new admin; ErrEmailTaken when the email exists.
func InsertAdmin(ctx context.Context, db bun.IDB, a *Admin) error {
	_, err := db.NewInsert().Model(a).Exec(ctx)
	return dbErr(err, "insert admin")
}

// AdminByID loads an admin; ErrNotFound when there is none.
func AdminByID(ctx context.Context, db bun.IDB, id uuid.UUID) (*Admin, error) {
	a := new(Admin)
	if err := db.NewSelect().Model(a).Where("a.id = ?", id).Limit(1).Scan(ctx); err != nil {
		return nil, dbErr(err, "select admin by id")
	}
	return a, nil
}

// AdminByEmail loads an admin by normalised email; ErrNotFound when none.
func AdminByEmail(ctx context.Context, db bun.IDB, email string) (*Admin, error) {
	a := new(Admin)
	if err := db.NewSelect().Model(a).Where("a.email = ?", email).Limit(1).Scan(ctx); err != nil {
		return nil, dbErr(err, "select admin by email")
	}
	return a, nil
}

// CountAdmins tells whether the first admin still has to be created.
func CountAdmins(ctx context.Context, db bun.IDB) (int, error) {
	n, err := db.NewSelect().Model((*Admin)(nil)).Count(ctx)
	return int(n), dbErr(err, "count admins")
}

// AdminEmailExists reports whether any admin (active or not) has the email.
func AdminEmailExists(ctx context.Context, db bun.IDB, email string) (bool, error) {
	ok, err := db.NewSelect().Model((*Admin)(nil)).Where("a.email = ?", email).Exists(ctx)
	if err != nil {
		return false, dbErr(err, "check admin email")
	}
	return ok, nil
}
