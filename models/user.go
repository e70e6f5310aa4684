package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// User is an account of the product's users. The password hash and the
// avatar's storage key never leave the server (json:"-").
type User struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	ID           uuid.UUID `bun:"id,pk,type:uuid"`
	Email        string    `bun:"email,notnull"`
	PasswordHash string    `bun:"password_hash,notnull" json:"-"`
	FirstName    string    `bun:"first_name,notnull"`
	LastName     string    `bun:"last_name,notnull"`
	Phone        *string   `bun:"phone"`
	AvatarKey    *string   `bun:"avatar_key" json:"-"`
	Active       bool      `bun:"active,notnull"`
	TokenVersion int64     `bun:"token_version,notnull"`
	CreatedAt    time.Time `bun:"created_at,notnull"`
	UpdatedAt    time.Time `bun:"updated_at,notnull"`
	// Locale is the language the user chose for mails and messages (uz, ru,
	// en); nil follows the request's Accept-Language.
	Locale *string `bun:"locale"`
	// DeactivatedBy says who switched the account off (DeactivatedSelf or
	// DeactivatedAdmin), and DeactivatedAt when; both nil while active. Only
	// a self-deactivated account may come back on its own, and only it is
	// erased after ACCOUNT_PURGE_AFTER.
	DeactivatedBy *string    `bun:"deactivated_by" json:"-"`
	DeactivatedAt *time.Time `bun:"deactivated_at" json:"-"`
}

// Who deactivated an account.
const (
	DeactivatedSelf  = "self"
	DeactivatedAdmin = "admin"
)

// NewID returns a time-ordered UUIDv7, so primary keys follow insertion order
// and index pages stay dense.
func NewID() uuid.UUID {
	return uuid.Must(uuid.NewV7())
}

// InsertUser stores a new user; ErrEmailTaken when the email exists.
func InsertUser(ctx context.Context, db bun.IDB, u *User) error {
	_, err := db.NewInsert().Model(u).Exec(ctx)
	return dbErr(err, "insert user")
}

// UserByID loads a user; ErrNotFound when there is none.
func UserByID(ctx context.Context, db bun.IDB, id uuid.UUID) (*User, error) {
	u := new(User)
	err := db.NewSelect().Model(u).Where("u.id = ?", id).Limit(1).Scan(ctx)
	if err != nil {
		return nil, dbErr(err, "select user by id")
	}
	return u, nil
}

// UserByEmail loads a user by normalised email; ErrNotFound when there is none.
func UserByEmail(ctx context.Context, db bun.IDB, email string) (*User, error) {
	u := new(User)
	err := db.NewSelect().Model(u).Where("u.email = ?", email).Limit(1).Scan(ctx)
	if err != nil {
		return nil, dbErr(err, "select user by email")
	}
	return u, nil
}

// UserEmailExists reports whether any user (active or not) has the email.
func UserEmailExists(ctx context.Context, db bun.IDB, email string) (bool, error) {
	ok, err := db.NewSelect().Model((*User)(nil)).Where("u.email = ?", email).Exists(ctx)
	if err != nil {
		return false, dbErr(err, "check user email")
	}
	return ok, nil
}

// SetUserPassword stores a new hash and bumps the token version, which revokes
// every token issued before; it returns the new version.
func SetUserPassword(ctx context.Context, db bun.IDB, id uuid.UUID, hash string, now time.Time) (int64, error) {
	var version int64
	err := db.NewUpdate().Model((*User)(nil)).
		Set("password_hash = ?", hash).
		Set("token_version = token_version + 1").
		Set("updated_at = ?", now).
		Where("id = ?", id).
		Returning("token_version").
		Scan(ctx, &version)
	if err != nil {
		return 0, dbErr(err, "update user password")
	}
	return version, nil
}

// SetUserActive activates or deactivates a user as an administrator does.
func SetUserActive(ctx context.Context, db bun.IDB, id uuid.UUID, active bool, now time.Time) (*User, error) {
	return SetUserActiveBy(ctx, db, id, active, DeactivatedAdmin, now)
}

// SetUserActiveBy activates or deactivates a user, recording on
// deactivation who did it (DeactivatedSelf or DeactivatedAdmin) and when.
// Any change bumps the token version, so a deactivated account's tokens stop
// working at once.
func SetUserActiveBy(ctx context.Context, db bun.IDB, id uuid.UUID, active bool, by string, now time.Time) (*User, error) {
	u := new(User)
	q := db.NewUpdate().Model(u).
		Set("active = ?", active).
		Set("token_version = token_version + 1").
		Set("updated_at = ?", now)
	if active {
		q = q.Set("deactivated_by = NULL").Set("deactivated_at = NULL")
	} else {
		q = q.Set("deactivated_by = ?", by).Set("deactivated_at = ?", now)
	}
	err := q.Where("id = ?", id).Returning("*").Scan(ctx)
	if err != nil {
		return nil, dbErr(err, "update user active")
	}
	return u, nil
}

// UpdateUserColumns writes the named columns of u (and updated_at) and
// returns the stored row.
func UpdateUserColumns(ctx context.Context, db bun.IDB, u *User, columns ...string) error {
	columns = append(columns, "updated_at")
	_, err := db.NewUpdate().Model(u).Column(columns...).WherePK().Returning("*").Exec(ctx)
	return dbErr(err, "update user")
}

// avatarSwapTries bounds the compare-and-swap loop of SwapUserAvatar; only a
// burst of simultaneous uploads by one user can use more than one.
const avatarSwapTries = 5

// SwapUserAvatar points a user at a new avatar key (nil for none) and returns
// the stored user and the key it replaced. The update only applies if the key
// is still the one just read, so of two simultaneous uploads each learns
// exactly which key it replaced and no object is left without an owner.
func SwapUserAvatar(ctx context.Context, db bun.IDB, id uuid.UUID, key *string, now time.Time) (*User, *string, error) {
	for range avatarSwapTries {
		cur, err := UserByID(ctx, db, id)
		if err != nil {
			return nil, nil, err
		}
		u := new(User)
		q := db.NewUpdate().Model(u).
			Set("avatar_key = ?", key).
			Set("updated_at = ?", now).
			Where("id = ?", id)
		if cur.AvatarKey == nil {
			q = q.Where("avatar_key IS NULL")
		} else {
			q = q.Where("avatar_key = ?", *cur.AvatarKey)
		}
		err = q.Returning("*").Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			continue // another request changed the key in between: read again
		}
		if err != nil {
			return nil, nil, dbErr(err, "update user avatar")
		}
		return u, cur.AvatarKey, nil
	}
	return nil, nil, fmt.Errorf("update user avatar %s: the key kept changing", id)
}

// ReactivateSelfDeactivated switches a self-deactivated account back on. The
// condition is part of the update, so an administrator's deactivation or a
// purge in between wins; ErrNotFound then.
func ReactivateSelfDeactivated(ctx context.Context, db bun.IDB, id uuid.UUID, now time.Time) (*User, error) {
	u := new(User)
	err := db.NewUpdate().Model(u).
		Set("active = ?", true).
		Set("token_version = token_version + 1").
		Set("updated_at = ?", now).
		Set("deactivated_by = NULL").
		Set("deactivated_at = NULL").
		Where("id = ?", id).
		Where("NOT active").
		Where("deactivated_by = ?", DeactivatedSelf).
		Returning("*").
		Scan(ctx)
	if err != nil {
		return nil, dbErr(err, "reactivate user")
	}
	return u, nil
}
