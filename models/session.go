package models

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Session is one sign-in of a user or an admin (exactly one of UserID and
// AdminID is set), carried on by rotating refresh tokens. Only a hash of the
// current refresh token is stored, so a copy of the table signs nobody in.
type Session struct {
	bun.BaseModel `bun:"table:sessions,alias:s"`

	ID          uuid.UUID  `bun:"id,pk,type:uuid"`
	UserID      *uuid.UUID `bun:"user_id,type:uuid"`
	AdminID     *uuid.UUID `bun:"admin_id,type:uuid"`
	CreatedAt   time.Time  `bun:"created_at,notnull"`
	LastUsedAt  time.Time  `bun:"last_used_at,notnull"` // the last refresh
	IP          string     `bun:"ip,notnull"`
	UserAgent   string     `bun:"user_agent,notnull"`
	Generation  int64      `bun:"generation,notnull"` // how many times the refresh token was rotated
	RefreshHash []byte     `bun:"refresh_hash,notnull" json:"-"`
	RotatedAt   time.Time  `bun:"rotated_at,notnull"` // when the current refresh token was issued
	// IdleExpiresAt is when the session ends unless refreshed: never later
	// than ExpiresAt, and the revocation time once ended. "Alive" is
	// RevokedAt IS NULL AND IdleExpiresAt > now.
	IdleExpiresAt time.Time  `bun:"idle_expires_at,notnull"`
	ExpiresAt     time.Time  `bun:"expires_at,notnull"` // the absolute end
	RevokedAt     *time.Time `bun:"revoked_at"`
}

// Owner names the account a session belongs to: a user or an admin.
type Owner struct {
	Role string // RoleUser or RoleAdmin
	ID   uuid.UUID
}

// Owner is the account the session belongs to.
func (s *Session) Owner() Owner {
	if s.AdminID != nil {
		return Owner{Role: RoleAdmin, ID: *s.AdminID}
	}
	if s.UserID != nil {
		return Owner{Role: RoleUser, ID: *s.UserID}
	}
	return Owner{}
}

// Alive reports whether the session can still be used at now.
func (s *Session) Alive(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.IdleExpiresAt)
}

// ownerColumn is the sessions column that holds an owner of the role; the
// role decides it, never the request, so a user's session can never be
// matched as an admin's.
func ownerColumn(role string) (string, error) {
	switch role {
	case RoleUser:
		return "s.user_id", nil
	case RoleAdmin:
		return "s.admin_id", nil
	}
	return "", fmt.Errorf("session owner of role %q", role)
}

// aliveSQL is the condition of a session that can still be used, with one
// placeholder for now.
const aliveSQL = "s.revoked_at IS NULL AND s.idle_expires_at > ?"

// InsertSession stores a new session.
func InsertSession(ctx context.Context, db bun.IDB, s *Session) error {
	_, err := db.NewInsert().Model(s).Exec(ctx)
	return dbErr(err, "insert session")
}

// SessionByID loads a session whatever its state; ErrNotFound when none.
func SessionByID(ctx context.Context, db bun.IDB, id uuid.UUID) (*Session, error) {
	s := new(Session)
	if err := db.NewSelect().Model(s).Where("s.id = ?", id).Limit(1).Scan(ctx); err != nil {
		return nil, dbErr(err, "select session")
	}
	return s, nil
}

// Rotation replaces a session's refresh token hash with the next one.
type Rotation struct {
	ID         uuid.UUID
	Role       string // the route's role: a session of the other kind is not found
	Generation int64  // the presented token's generation
	Hash       []byte // the presented token's hash
	NewHash    []byte
	Now        time.Time
	IdleUntil  time.Time // now + SESSION_IDLE_TTL; capped at the absolute end
}

// RotateSession moves a live session to its next refresh token in one
// indexed UPDATE, only if the presented token is the current one. Of two
// requests racing with the same token exactly one wins; the other gets
// ErrNotFound and decides from the stored row (grace or reuse).
func RotateSession(ctx context.Context, db bun.IDB, r Rotation) (*Session, error) {
	col, err := ownerColumn(r.Role)
	if err != nil {
		return nil, err
	}
	s := new(Session)
	err = db.NewUpdate().Model(s).
		Set("generation = generation + 1").
		Set("refresh_hash = ?", r.NewHash).
		Set("rotated_at = ?", r.Now.Truncate(time.Second)). // the access token's iat: whole seconds
		Set("last_used_at = ?", r.Now).
		Set("idle_expires_at = CASE WHEN expires_at < ? THEN expires_at ELSE ? END", r.IdleUntil, r.IdleUntil).
		Where("s.id = ?", r.ID).
		Where("s.generation = ?", r.Generation).
		Where("s.refresh_hash = ?", r.Hash).
		Where(col+" IS NOT NULL").
		Where(aliveSQL, r.Now).
		Returning("*").
		Scan(ctx)
	if err != nil {
		return nil, dbErr(err, "rotate session")
	}
	return s, nil
}

// RenewSession gives a live session a fresh refresh token (a new random
// one, not the next of the chain), as after a password change; ErrNotFound
// when the session is gone or ended.
func RenewSession(ctx context.Context, db bun.IDB, owner Owner, id uuid.UUID, hash []byte, now, idleUntil time.Time) (*Session, error) {
	col, err := ownerColumn(owner.Role)
	if err != nil {
		return nil, err
	}
	s := new(Session)
	err = db.NewUpdate().Model(s).
		Set("generation = generation + 1").
		Set("refresh_hash = ?", hash).
		Set("rotated_at = ?", now.Truncate(time.Second)).
		Set("last_used_at = ?", now).
		Set("idle_expires_at = CASE WHEN expires_at < ? THEN expires_at ELSE ? END", idleUntil, idleUntil).
		Where("s.id = ?", id).
		Where(col+" = ?", owner.ID).
		Where(aliveSQL, now).
		Returning("*").
		Scan(ctx)
	if err != nil {
		return nil, dbErr(err, "renew session")
	}
	return s, nil
}

// SessionAlive reports whether the owner's session id is alive at now.
func SessionAlive(ctx context.Context, db bun.IDB, owner Owner, id uuid.UUID, now time.Time) (bool, error) {
	col, err := ownerColumn(owner.Role)
	if err != nil {
		return false, err
	}
	ok, err := db.NewSelect().Model((*Session)(nil)).
		Where("s.id = ?", id).Where(col+" = ?", owner.ID).Where(aliveSQL, now).
		Exists(ctx)
	if err != nil {
		return false, dbErr(err, "check session")
	}
	return ok, nil
}

// RevokeSession ends one live session of the owner; ErrNotFound when the
// owner has no such live session.
func RevokeSession(ctx context.Context, db bun.IDB, owner Owner, id uuid.UUID, now time.Time) error {
	n, err := revoke(ctx, db, owner, now, func(q *bun.UpdateQuery) *bun.UpdateQuery { return q.Where("s.id = ?", id) })
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("revoke session %s: %w", id, ErrNotFound)
	}
	return nil
}

// RevokeSessions ends every live session of the owner except the one named
// by except (uuid.Nil: all of them) and returns how many it ended.
func RevokeSessions(ctx context.Context, db bun.IDB, owner Owner, except uuid.UUID, now time.Time) (int64, error) {
	return revoke(ctx, db, owner, now, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		if except != uuid.Nil {
			q = q.Where("s.id <> ?", except)
		}
		return q
	})
}

// revoke marks live sessions of the owner ended: revoked_at records when,
// and idle_expires_at moves to now so the clean-up finds them by its index.
func revoke(ctx context.Context, db bun.IDB, owner Owner, now time.Time, where func(*bun.UpdateQuery) *bun.UpdateQuery) (int64, error) {
	col, err := ownerColumn(owner.Role)
	if err != nil {
		return 0, err
	}
	q := db.NewUpdate().Model((*Session)(nil)).
		Set("revoked_at = ?", now).
		Set("idle_expires_at = ?", now).
		Where(col+" = ?", owner.ID).
		Where(aliveSQL, now)
	res, err := where(q).Exec(ctx)
	if err != nil {
		return 0, dbErr(err, "revoke sessions")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbErr(err, "revoke sessions")
	}
	return n, nil
}

// KillSession ends a session whoever owns it (refresh token reuse).
func KillSession(ctx context.Context, db bun.IDB, id uuid.UUID, now time.Time) error {
	_, err := db.NewUpdate().Model((*Session)(nil)).
		Set("revoked_at = ?", now).
		Set("idle_expires_at = ?", now).
		Where("s.id = ?", id).
		Where("s.revoked_at IS NULL").
		Exec(ctx)
	return dbErr(err, "kill session")
}

// LiveSessions lists the owner's live sessions, newest first.
func LiveSessions(ctx context.Context, db bun.IDB, owner Owner, now time.Time) ([]Session, error) {
	col, err := ownerColumn(owner.Role)
	if err != nil {
		return nil, err
	}
	var out []Session
	err = db.NewSelect().Model(&out).
		Where(col+" = ?", owner.ID).Where(aliveSQL, now).
		Order("s.created_at DESC", "s.id DESC").
		Scan(ctx)
	if err != nil {
		return nil, dbErr(err, "list sessions")
	}
	return out, nil
}

// DeleteEndedSessions removes the sessions that ended before now, through
// the idle_expires_at index (revocation moves that column to the revocation
// time), at most limit rows per call so one run never holds a long lock.
func DeleteEndedSessions(ctx context.Context, db bun.IDB, now time.Time, limit int64) (int64, error) {
	sub := db.NewSelect().Model((*Session)(nil)).Column("s.id").
		Where("s.idle_expires_at <= ?", now).Limit(limit)
	res, err := db.NewDelete().Model((*Session)(nil)).Where("id IN (?)", sub).Exec(ctx)
	if err != nil {
		return 0, dbErr(err, "delete ended sessions")
	}
	n, err := res.RowsAffected()
	return n, dbErr(err, "delete ended sessions")
}

// sessionExistsSQL is the session check of the token middleware, written
// into the account's own query so it costs no extra round trip: the
// token's session exists, belongs to the account and is alive. Placeholders:
// session id, now.
const sessionExistsSQL = "EXISTS (SELECT 1 FROM sessions AS s WHERE s.id = ? AND s.%s = %s.id AND " + aliveSQL + ")"

// UserInSession loads a user only if their session sid is alive at now, in
// one query; ErrNotFound when either is missing.
func UserInSession(ctx context.Context, db bun.IDB, id, sid uuid.UUID, now time.Time) (*User, error) {
	u := new(User)
	err := db.NewSelect().Model(u).Where("u.id = ?", id).
		Where(fmt.Sprintf(sessionExistsSQL, "user_id", "u"), sid, now).
		Limit(1).Scan(ctx)
	if err != nil {
		return nil, dbErr(err, "select user in session")
	}
	return u, nil
}

// AdminInSession is UserInSession for admins.
func AdminInSession(ctx context.Context, db bun.IDB, id, sid uuid.UUID, now time.Time) (*Admin, error) {
	a := new(Admin)
	err := db.NewSelect().Model(a).Where("a.id = ?", id).
		Where(fmt.Sprintf(sessionExistsSQL, "admin_id", "a"), sid, now).
		Limit(1).Scan(ctx)
	if err != nil {
		return nil, dbErr(err, "select admin in session")
	}
	return a, nil
}
