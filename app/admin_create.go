package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/acme/accounts/models"
)

// CreateAdminInput is a new administrator, from the API or the command line.
type CreateAdminInput struct {
	Name     string `json:"name" validate:"required,min=1,max=100"`
	Email    string `json:"email" validate:"required,max=254,email"`
	Password string `json:"password" validate:"required,password"`
}

// CreateAdmin validates and stores a new administrator, who can sign in at
// once. models.ErrEmailTaken when an admin already has the email (users do
// not count: admins are separate accounts). by is the admin creating it;
// nil is the command line (the system).
func (a *App) CreateAdmin(ctx context.Context, by *models.Admin, in CreateAdminInput) (*models.Admin, error) {
	in.Name = strings.TrimSpace(in.Name)
	in.Email = normEmail(in.Email)
	if err := a.validate(in); err != nil {
		return nil, err
	}
	// Checked before hashing so a taken email costs no bcrypt; the unique
	// constraint still decides a race between two creations.
	exists, err := models.AdminEmailExists(ctx, a.db, in.Email)
	if err != nil {
		return nil, err
	}
	if exists {
		return nil, fmt.Errorf("create admin %s: %w", in.Email, models.ErrEmailTaken)
	}
	hash, err := a.passwords.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	now := a.Now()
	ad := &models.Admin{
		ID:           models.NewID(),
		Email:        in.Email,
		Name:         in.Name,
		PasswordHash: hash,
		Active:       true,
		TokenVersion: 1,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	err = models.InTx(ctx, a.db, func(ctx context.Context, tx bun.Tx) error {
		if err := models.InsertAdmin(ctx, tx, ad); err != nil {
			return err
		}
		return a.audit(ctx, tx, byAdmin(AuditAdminCreated, by, ptr(ad.ID), nil))
	})
	if err != nil {
		return nil, fmt.Errorf("create admin %s: %w", in.Email, err)
	}
	return ad, nil
}

// CreateFirstAdmin creates an admin only while there is none (ADMIN_EMAIL
// seeds a fresh deployment); with any admin present it returns nil, nil. Two
// replicas starting at once race on the unique email: the loser also gets
// nil, nil.
func (a *App) CreateFirstAdmin(ctx context.Context, in CreateAdminInput) (*models.Admin, error) {
	n, err := models.CountAdmins(ctx, a.db)
	if err != nil {
		return nil, fmt.Errorf("look for an existing admin: %w", err)
	}
	if n > 0 {
		return nil, nil
	}
	ad, err := a.CreateAdmin(ctx, nil, in)
	if errors.Is(err, models.ErrEmailTaken) {
		return nil, nil
	}
	return ad, err
}
