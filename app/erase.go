package app

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/acme/accounts/models"
)

// erasureObjectTimeout bounds deleting an erased account's avatar right
// after the erasure; past it the object waits for the purge job's retry.
const erasureObjectTimeout = 10 * time.Second

// EraseUser erases a user at once, for an administrator: the row, products,
// sessions and the rest go in one transaction, the email is free to
// register again, and the avatar object is deleted afterwards. When the
// object store is down the object stays recorded and the purge job retries
// it; the account is gone either way. by is the admin, for the log.
func (a *App) EraseUser(ctx context.Context, by *models.Admin, id string) error {
	uid, err := parseUserID(id)
	if err != nil {
		return err
	}
	// The erasure and its event in one transaction (the erasure's own is
	// a savepoint within it): an erasure nobody can trace does not happen.
	var key *string
	err = models.InTx(ctx, a.db, func(ctx context.Context, tx bun.Tx) error {
		if key, err = models.EraseUser(ctx, tx, uid, a.Now()); err != nil {
			return err
		}
		return a.audit(ctx, tx, byAdmin(AuditUserErased, by, ptr(uid), map[string]any{"by": "admin"}))
	})
	if err != nil {
		return fmt.Errorf("erase user %s: %w", uid, err)
	}
	a.log.InfoContext(ctx, "user erased by an admin", "user_id", uid, "admin_id", adminID(by))
	a.deleteErasedObject(ctx, key)
	return nil
}

// deleteErasedObject deletes an erased account's avatar and forgets its
// record; a failure is counted and left for the purge job.
func (a *App) deleteErasedObject(ctx context.Context, key *string) {
	if key == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), erasureObjectTimeout)
	defer cancel()
	if err := a.objects.Delete(cctx, *key); err != nil {
		a.log.WarnContext(ctx, "erased account's avatar not deleted yet; the purge job retries it", "err", err)
		if err := models.ErasureObjectFailed(cctx, a.db, *key); err != nil {
			a.log.ErrorContext(ctx, "count erasure object failure", "err", err)
		}
		return
	}
	if err := models.ErasureObjectDone(cctx, a.db, *key); err != nil {
		// The object is gone; deleting it again on the next run is harmless.
		a.log.ErrorContext(ctx, "forget deleted erasure object", "err", err)
	}
}
