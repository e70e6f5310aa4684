package models

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// TryAdvisoryLock takes a PostgreSQL session-level advisory lock named by
// name within the current schema (so isolated schemas do not contend), on a
// connection of its own that it keeps until unlock. ok is false when
// another session holds it. On SQLite, which serves one process, it always
// succeeds: the caller's own mutex is the lock there.
func TryAdvisoryLock(ctx context.Context, db *bun.DB, name string) (unlock func(), ok bool, err error) {
	if db.Dialect().Name() != dialect.PG {
		return func() {}, true, nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, false, dbErr(err, "advisory lock connection")
	}
	const key = "hashtext(current_schema() || ':' || ?)"
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock("+key+")", name).Scan(&ok); err != nil {
		conn.Close()
		return nil, false, dbErr(err, fmt.Sprintf("advisory lock %s", name))
	}
	if !ok {
		conn.Close()
		return nil, false, nil
	}
	return func() {
		// Unlocked on a context of its own: the job's may have run out, and
		// closing the connection would release the lock anyway.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock("+key+")", name); err != nil {
			// A pooled connection must not keep the lock: have the pool
			// drop it, which ends the session and so the lock.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, true, nil
}
