package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// SignInSource is an address or a client (as a digest) an account signed in
// from, and when last.
type SignInSource struct {
	bun.BaseModel `bun:"table:sign_in_sources,alias:sis"`

	UserID     uuid.UUID `bun:"user_id,pk,type:uuid"`
	Kind       string    `bun:"kind,pk"` // "ip" or "client"
	ValueHash  string    `bun:"value_hash,pk"`
	LastSeenAt time.Time `bun:"last_seen_at,notnull"`
}

// SeenSignInSources reports whether both the address and the client were
// seen for the user since since.
func SeenSignInSources(ctx context.Context, db bun.IDB, userID uuid.UUID, ipHash, clientHash string, since time.Time) (bool, error) {
	n, err := db.NewSelect().Model((*SignInSource)(nil)).
		Where("user_id = ?", userID).
		Where("last_seen_at >= ?", since).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("kind = 'ip' AND value_hash = ?", ipHash).WhereOr("kind = 'client' AND value_hash = ?", clientHash)
		}).
		Count(ctx)
	if err != nil {
		return false, dbErr(err, "select sign-in sources")
	}
	return n == 2, nil
}

// TouchSignInSources records a sign-in from the address and client now.
func TouchSignInSources(ctx context.Context, db bun.IDB, userID uuid.UUID, ipHash, clientHash string, now time.Time) error {
	rows := []SignInSource{
		{UserID: userID, Kind: "ip", ValueHash: ipHash, LastSeenAt: now},
		{UserID: userID, Kind: "client", ValueHash: clientHash, LastSeenAt: now},
	}
	_, err := db.NewInsert().Model(&rows).
		On("CONFLICT (user_id, kind, value_hash) DO UPDATE").
		Set("last_seen_at = EXCLUDED.last_seen_at").
		Exec(ctx)
	return dbErr(err, "record sign-in sources")
}
