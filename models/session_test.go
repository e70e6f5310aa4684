package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

// storeSession stores a live session of owner, started at now, idle until
// now+idle.
func storeSession(t *testing.T, db bun.IDB, owner models.Owner, now time.Time, idle time.Duration) uuid.UUID {
	t.Helper()
	id := models.NewID()
	s := &models.Session{
		ID: id, CreatedAt: now, LastUsedAt: now, RotatedAt: now,
		RefreshHash:   id[:],
		IdleExpiresAt: now.Add(idle), ExpiresAt: now.Add(24 * time.Hour),
	}
	switch owner.Role {
	case models.RoleUser:
		s.UserID = &owner.ID
	case models.RoleAdmin:
		s.AdminID = &owner.ID
	}
	if err := models.InsertSession(context.Background(), db, s); err != nil {
		t.Fatalf("insert session: %v", err)
	}
	return id
}

// ownerSessions stores three sessions of owner: one alive at now, one
// revoked at now and one whose idle end passed an hour before now.
func ownerSessions(t *testing.T, db bun.IDB, owner models.Owner, now time.Time) (alive, revoked, idle uuid.UUID) {
	t.Helper()
	alive = storeSession(t, db, owner, now, time.Hour)
	revoked = storeSession(t, db, owner, now, time.Hour)
	if err := models.RevokeSession(context.Background(), db, owner, revoked, now); err != nil {
		t.Fatal(err)
	}
	idle = storeSession(t, db, owner, now.Add(-2*time.Hour), time.Hour)
	return alive, revoked, idle
}

// wantAlive checks SessionAlive for each session of owner.
func wantAlive(t *testing.T, db bun.IDB, owner models.Owner, now time.Time, want map[uuid.UUID]bool) {
	t.Helper()
	for id, alive := range want {
		got, err := models.SessionAlive(context.Background(), db, owner, id, now)
		if err != nil {
			t.Fatalf("SessionAlive(%s): %v", id, err)
		}
		if got != alive {
			t.Errorf("session %s alive = %v, want %v", id, got, alive)
		}
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, models.ErrNotFound) {
		t.Errorf("%s: err = %v, want ErrNotFound", what, err)
	}
}

// The token middleware's one query finds the account only through a live
// session of its own: revoked, idle-expired and other accounts' sessions
// find nobody.
func TestUserInSession(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	ctx, db := context.Background(), e.DB
	now := time.Now().UTC().Truncate(time.Microsecond)
	ann := e.StoreUser(models.NewID(), "ann@example.com")
	bob := e.StoreUser(models.NewID(), "bob@example.com")
	annOwner := models.Owner{Role: models.RoleUser, ID: ann.ID}

	alive, revoked, idle := ownerSessions(t, db, annOwner, now)
	bobs := storeSession(t, db, models.Owner{Role: models.RoleUser, ID: bob.ID}, now, time.Hour)

	u, err := models.UserInSession(ctx, db, ann.ID, alive, now)
	if err != nil {
		t.Fatalf("alive session: %v", err)
	}
	if u.ID != ann.ID || u.Email != ann.Email {
		t.Fatalf("alive session loaded %s %s, want %s %s", u.ID, u.Email, ann.ID, ann.Email)
	}
	_, err = models.UserInSession(ctx, db, ann.ID, revoked, now)
	wantNotFound(t, "revoked session", err)
	_, err = models.UserInSession(ctx, db, ann.ID, idle, now)
	wantNotFound(t, "idle-expired session", err)
	_, err = models.UserInSession(ctx, db, ann.ID, bobs, now)
	wantNotFound(t, "another user's session", err)
	_, err = models.UserInSession(ctx, db, ann.ID, models.NewID(), now)
	wantNotFound(t, "unknown session", err)
	_, err = models.UserInSession(ctx, db, models.NewID(), alive, now)
	wantNotFound(t, "unknown user", err)

	// The idle end is exclusive: at that instant the session is over.
	_, err = models.UserInSession(ctx, db, ann.ID, alive, now.Add(time.Hour))
	wantNotFound(t, "at the idle end", err)
	if _, err := models.UserInSession(ctx, db, ann.ID, alive, now.Add(time.Hour-time.Microsecond)); err != nil {
		t.Errorf("just before the idle end: %v", err)
	}
}

// AdminInSession keeps the same rules, and a user's session never stands for
// an admin, nor an admin's for a user.
func TestAdminInSession(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	ctx, db := context.Background(), e.DB
	now := time.Now().UTC().Truncate(time.Microsecond)
	ops := e.CreateAdmin("ops@example.com")
	other := e.CreateAdmin("other@example.com")
	user := e.StoreUser(models.NewID(), "ann@example.com")
	opsOwner := models.Owner{Role: models.RoleAdmin, ID: ops.ID}

	alive, revoked, idle := ownerSessions(t, db, opsOwner, now)
	others := storeSession(t, db, models.Owner{Role: models.RoleAdmin, ID: other.ID}, now, time.Hour)
	users := storeSession(t, db, models.Owner{Role: models.RoleUser, ID: user.ID}, now, time.Hour)

	a, err := models.AdminInSession(ctx, db, ops.ID, alive, now)
	if err != nil {
		t.Fatalf("alive session: %v", err)
	}
	if a.ID != ops.ID || a.Email != ops.Email {
		t.Fatalf("alive session loaded %s %s, want %s %s", a.ID, a.Email, ops.ID, ops.Email)
	}
	_, err = models.AdminInSession(ctx, db, ops.ID, revoked, now)
	wantNotFound(t, "revoked session", err)
	_, err = models.AdminInSession(ctx, db, ops.ID, idle, now)
	wantNotFound(t, "idle-expired session", err)
	_, err = models.AdminInSession(ctx, db, ops.ID, others, now)
	wantNotFound(t, "another admin's session", err)
	_, err = models.AdminInSession(ctx, db, ops.ID, users, now)
	wantNotFound(t, "a user's session", err)
	_, err = models.UserInSession(ctx, db, user.ID, alive, now)
	wantNotFound(t, "an admin's session as a user's", err)
}

// Ending "every other session" (password change) keeps the one named,
// counts only the sessions it ended and leaves other accounts alone.
func TestRevokeSessionsExceptOne(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	ctx, db := context.Background(), e.DB
	now := time.Now().UTC().Truncate(time.Microsecond)
	ann := models.Owner{Role: models.RoleUser, ID: e.StoreUser(models.NewID(), "ann@example.com").ID}
	bob := models.Owner{Role: models.RoleUser, ID: e.StoreUser(models.NewID(), "bob@example.com").ID}

	keep := storeSession(t, db, ann, now, time.Hour)
	second := storeSession(t, db, ann, now, time.Hour)
	third := storeSession(t, db, ann, now, time.Hour)
	ended := storeSession(t, db, ann, now, time.Hour)
	if err := models.RevokeSession(ctx, db, ann, ended, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	bobs := storeSession(t, db, bob, now, time.Hour)

	n, err := models.RevokeSessions(ctx, db, ann, keep, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("RevokeSessions ended %d sessions, want 2", n)
	}
	wantAlive(t, db, ann, now, map[uuid.UUID]bool{keep: true, second: false, third: false, ended: false})
	wantAlive(t, db, bob, now, map[uuid.UUID]bool{bobs: true})

	// Revocation records when, and moves the idle end there for the clean-up;
	// a session already ended keeps its first revocation time.
	for id, at := range map[uuid.UUID]time.Time{second: now, third: now, ended: now.Add(-time.Minute)} {
		s, err := models.SessionByID(ctx, db, id)
		if err != nil {
			t.Fatal(err)
		}
		if s.RevokedAt == nil || !s.RevokedAt.Equal(at) || !s.IdleExpiresAt.Equal(at) {
			t.Errorf("session %s: revoked_at %v, idle_expires_at %v, want both %v", id, s.RevokedAt, s.IdleExpiresAt, at)
		}
	}

	// uuid.Nil excepts nothing: the kept session ends too, and only it.
	if n, err := models.RevokeSessions(ctx, db, ann, uuid.Nil, now); err != nil || n != 1 {
		t.Fatalf("RevokeSessions(all) = %d, %v; want 1", n, err)
	}
	wantAlive(t, db, ann, now, map[uuid.UUID]bool{keep: false})
	wantAlive(t, db, bob, now, map[uuid.UUID]bool{bobs: true})
}
