package models

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// ErasureObject is an object an erasure still has to delete from the object
// store. It is written in the same transaction that deletes the account, so
// an object-store outage leaves a record to retry, never an account that is
// half gone.
type ErasureObject struct {
	bun.BaseModel `bun:"table:erasure_objects,alias:eo"`

	ObjectKey string    `bun:"object_key,pk"`
	UserID    uuid.UUID `bun:"user_id,type:uuid"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	Attempts  int       `bun:"attempts,notnull"`
}

// EraseUser deletes a user for good: the row and, through the foreign keys,
// their products and everything else that hangs off the account. The email
// is free again at once. It returns the avatar key the account had, which is
// recorded in erasure_objects in the same transaction. ErrNotFound when
// there is no such user.
func EraseUser(ctx context.Context, db bun.IDB, id uuid.UUID, now time.Time) (*string, error) {
	return eraseUser(ctx, db, id, now, nil)
}

// ErasePurgeable is EraseUser for the purge: it erases only while the
// account is still self-deactivated since before cutoff, so a reactivation
// or an administrator's decision in between wins. ErrNotFound otherwise.
func ErasePurgeable(ctx context.Context, db bun.IDB, id uuid.UUID, cutoff, now time.Time) (*string, error) {
	return eraseUser(ctx, db, id, now, func(q *bun.DeleteQuery) *bun.DeleteQuery {
		return q.Where("NOT active").Where("deactivated_by = ?", DeactivatedSelf).Where("deactivated_at <= ?", cutoff)
	})
}

func eraseUser(ctx context.Context, db bun.IDB, id uuid.UUID, now time.Time, cond func(*bun.DeleteQuery) *bun.DeleteQuery) (*string, error) {
	var key *string
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		u := new(User)
		if err := tx.NewSelect().Model(u).Column("avatar_key").Where("id = ?", id).Limit(1).Scan(ctx); err != nil {
			return dbErr(err, "select erased user")
		}
		q := tx.NewDelete().Model((*User)(nil)).Where("id = ?", id)
		if cond != nil {
			q = cond(q)
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return dbErr(err, "delete user")
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return dbErr(sql.ErrNoRows, "delete user")
		}
		if u.AvatarKey == nil || *u.AvatarKey == "" {
			return nil
		}
		key = u.AvatarKey
		_, err = tx.NewInsert().Model(&ErasureObject{ObjectKey: *key, UserID: id, CreatedAt: now}).On("CONFLICT DO NOTHING").Exec(ctx)
		return dbErr(err, "record erased avatar")
	})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// SelfDeactivatedBefore lists, oldest first, up to limit accounts that
// deactivated themselves at or before cutoff.
func SelfDeactivatedBefore(ctx context.Context, db bun.IDB, cutoff time.Time, limit int) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := db.NewSelect().Model((*User)(nil)).Column("id").
		Where("deactivated_by = ?", DeactivatedSelf).
		Where("deactivated_at <= ?", cutoff).
		Where("NOT active").
		OrderExpr("deactivated_at ASC").
		Limit(int64(limit)).
		Scan(ctx, &ids)
	if err != nil {
		return nil, dbErr(err, "select purgeable users")
	}
	return ids, nil
}

// PendingErasureObjects lists up to limit objects still to delete, fewest
// attempts first, so one object that keeps failing does not starve others.
func PendingErasureObjects(ctx context.Context, db bun.IDB, limit int) ([]ErasureObject, error) {
	var out []ErasureObject
	err := db.NewSelect().Model(&out).OrderExpr("attempts ASC, created_at ASC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, dbErr(err, "select erasure objects")
	}
	return out, nil
}

// ErasureObjectDone forgets an object once it is deleted.
func ErasureObjectDone(ctx context.Context, db bun.IDB, key string) error {
	_, err := db.NewDelete().Model((*ErasureObject)(nil)).Where("object_key = ?", key).Exec(ctx)
	return dbErr(err, "delete erasure object")
}

// ErasureObjectFailed counts a failed delete, for the log and the order of
// retries.
func ErasureObjectFailed(ctx context.Context, db bun.IDB, key string) error {
	_, err := db.NewUpdate().Model((*ErasureObject)(nil)).Set("attempts = attempts + 1").Where("object_key = ?", key).Exec(ctx)
	return dbErr(err, "count erasure object failure")
}
