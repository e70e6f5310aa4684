package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Actor types of the audit log.
const (
	ActorUser      = "user"
	ActorAdmin     = "admin"
	ActorSystem    = "system"    // the server itself: the purge, the command line
	ActorAnonymous = "anonymous" // someone not signed in (a failed sign-in)
)

// AuditEvent is one line of the audit log. The table refuses UPDATE and
// DELETE, so a row, once written, is there for good.
type AuditEvent struct {
	bun.BaseModel `bun:"table:audit_events,alias:ae"`

	ID        uuid.UUID  `bun:"id,pk,type:uuid"`
	At        time.Time  `bun:"at,notnull"`
	ActorType string     `bun:"actor_type,notnull"`
	ActorID   *uuid.UUID `bun:"actor_id,type:uuid"`
	Action    string     `bun:"action,notnull"`
	TargetID  *uuid.UUID `bun:"target_id,type:uuid"`
	IP        string     `bun:"ip,notnull"`
	UserAgent string     `bun:"user_agent,notnull"`
	// Detail is a small JSON object (at most 2 KiB); it never holds an
	// email or a name, which erasure could not take back out of this table.
	Detail string `bun:"detail,notnull"`
}

// InsertAuditEvent appends ev to the audit log.
func InsertAuditEvent(ctx context.Context, db bun.IDB, ev *AuditEvent) error {
	_, err := db.NewInsert().Model(ev).Exec(ctx)
	return dbErr(err, "insert audit event")
}

// AuditFilter selects audit events; zero fields match everything.
type AuditFilter struct {
	ActorID  *uuid.UUID
	TargetID *uuid.UUID
	Action   string
	// Limit and Offset page the result.
	Limit, Offset int
}

// AuditPage is one page of events and how many match over all pages.
type AuditPage struct {
	Total int
	Items []AuditEvent
}

// ListAuditEvents returns the events matching f, newest first (at, then
// id, descending: ids are UUID v7, so they order events of one instant).
func ListAuditEvents(ctx context.Context, db bun.IDB, f AuditFilter) (*AuditPage, error) {
	where := func(q *bun.SelectQuery) *bun.SelectQuery {
		if f.ActorID != nil {
			q = q.Where("ae.actor_id = ?", *f.ActorID)
		}
		if f.TargetID != nil {
			q = q.Where("ae.target_id = ?", *f.TargetID)
		}
		if f.Action != "" {
			q = q.Where("ae.action = ?", f.Action)
		}
		return q
	}
	out := &AuditPage{Items: []AuditEvent{}}
	total, err := where(db.NewSelect().Model((*AuditEvent)(nil))).Count(ctx)
	if err != nil {
		return nil, dbErr(err, "count audit events")
	}
	out.Total = int(total)
	if total == 0 || int64(f.Offset) >= total {
		return out, nil
	}
	err = where(db.NewSelect().Model(&out.Items)).
		Order("ae.at DESC", "ae.id DESC").
		Limit(int64(f.Limit)).Offset(int64(f.Offset)).
		Scan(ctx)
	if err != nil {
		return nil, dbErr(err, "list audit events")
	}
	return out, nil
}
