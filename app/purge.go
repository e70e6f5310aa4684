package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/acme/accounts/models"
)

// purgeBatch is how many accounts or objects one query of the purge takes.
const purgeBatch = 100

// PurgeResult says what one purge run did.
type PurgeResult struct {
	Erased         int  // accounts erased
	ObjectsDeleted int  // avatar objects of erased accounts deleted
	ObjectsLeft    int  // objects whose delete failed, retried next run
	Skipped        bool // another instance holds the purge lock
}

// Purge erases the accounts that deactivated themselves more than
// PurgeAfter ago (none when PurgeAfter is 0) and retries the avatar objects
// earlier erasures could not delete. One instance runs it at a time: on
// PostgreSQL an advisory lock decides, on the embedded database a mutex of
// this process.
func (a *App) Purge(ctx context.Context) (PurgeResult, error) {
	var res PurgeResult
	if !a.purgeMu.TryLock() {
		res.Skipped = true
		return res, nil
	}
	defer a.purgeMu.Unlock()
	unlock, ok, err := models.TryAdvisoryLock(ctx, a.db, "account-purge")
	if err != nil {
		return res, fmt.Errorf("purge: %w", err)
	}
	if !ok {
		res.Skipped = true
		return res, nil
	}
	defer unlock()

	if after := a.opts.PurgeAfter; after > 0 {
		now := a.Now()
		cutoff := now.Add(-after)
		for {
			ids, err := models.SelfDeactivatedBefore(ctx, a.db, cutoff, purgeBatch)
			if err != nil {
				return res, fmt.Errorf("purge: %w", err)
			}
			for _, id := range ids {
				err := models.InTx(ctx, a.db, func(ctx context.Context, tx bun.Tx) error {
					if _, err := models.ErasePurgeable(ctx, tx, id, cutoff, now); err != nil {
						return err
					}
					return a.audit(ctx, tx, byAdmin(AuditUserErased, nil, ptr(id), map[string]any{"by": "purge"}))
				})
				if errors.Is(err, models.ErrNotFound) {
					continue // reactivated or changed in between
				}
				if err != nil {
					return res, fmt.Errorf("purge %s: %w", id, err)
				}
				res.Erased++
				a.log.InfoContext(ctx, "self-deactivated account erased", "user_id", id)
			}
			if len(ids) < purgeBatch {
				break
			}
		}
	}

	// Every object of this run's erasures and of earlier failed ones.
	seen := map[string]bool{}
	for {
		objs, err := models.PendingErasureObjects(ctx, a.db, purgeBatch)
		if err != nil {
			return res, fmt.Errorf("purge: %w", err)
		}
		fresh := 0
		for _, o := range objs {
			if seen[o.ObjectKey] {
				continue // failed once in this run: wait for the next
			}
			seen[o.ObjectKey] = true
			fresh++
			if err := a.objects.Delete(ctx, o.ObjectKey); err != nil {
				res.ObjectsLeft++
				a.log.WarnContext(ctx, "erased account's avatar not deleted; retried on the next run", "attempts", o.Attempts+1, "err", err)
				if err := models.ErasureObjectFailed(ctx, a.db, o.ObjectKey); err != nil {
					return res, fmt.Errorf("purge: %w", err)
				}
				continue
			}
			if err := models.ErasureObjectDone(ctx, a.db, o.ObjectKey); err != nil {
				return res, fmt.Errorf("purge: %w", err)
			}
			res.ObjectsDeleted++
		}
		if fresh == 0 || len(objs) < purgeBatch {
			break
		}
	}
	return res, nil
}
