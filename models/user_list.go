package models

import (
	"context"
	"slices"
	"strings"

	"github.com/uptrace/bun"
)

// UserFilter selects the users of the admin list.
type UserFilter struct {
	// Search is a prefix of the email or of the first or last name, matched
	// case-insensitively; empty matches everyone. It is taken literally: LIKE
	// wildcards in it match only themselves.
	Search string
	// Active keeps one status group; nil keeps both.
	Active *bool
	// Limit and Offset page each group on its own.
	Limit, Offset int
}

// UserGroup is one page of one status group and how many users the group
// holds over all pages.
type UserGroup struct {
	Total int
	Items []User
}

// UserGroups is the admin user list: a group is nil when the filter left it out.
type UserGroups struct {
	Active   *UserGroup
	Inactive *UserGroup
}

// ListUsers returns the users matching f, grouped by status, newest first
// (created_at, then id, descending), without password hashes. It costs two
// queries whatever the page size: one counts both groups at once, one reads
// the page of every requested group (a UNION ALL of per-group pages, each
// served by the users_active_newest index).
func ListUsers(ctx context.Context, db bun.IDB, f UserFilter) (*UserGroups, error) {
	search := strings.ToLower(strings.TrimSpace(f.Search))
	out := &UserGroups{}
	if f.Active == nil || *f.Active {
		out.Active = &UserGroup{Items: []User{}}
	}
	if f.Active == nil || !*f.Active {
		out.Inactive = &UserGroup{Items: []User{}}
	}

	var totals struct {
		Active   int `bun:"active"`
		Inactive int `bun:"inactive"`
	}
	// SUM(CASE ...) rather than count(*) FILTER: the same text runs on both
	// dialects, and one scan counts both groups.
	q := db.NewSelect().
		TableExpr("users AS u").
		ColumnExpr("COALESCE(SUM(CASE WHEN u.active THEN 1 ELSE 0 END), 0) AS active").
		ColumnExpr("COALESCE(SUM(CASE WHEN u.active THEN 0 ELSE 1 END), 0) AS inactive")
	q = filterUsers(q, search, f.Active)
	if err := q.Scan(ctx, &totals); err != nil {
		return nil, dbErr(err, "count users")
	}
	if out.Active != nil {
		out.Active.Total = totals.Active
	}
	if out.Inactive != nil {
		out.Inactive.Total = totals.Inactive
	}

	// Pages beyond a group's end need no query.
	var pages []*bun.SelectQuery
	for _, g := range []struct {
		group  *UserGroup
		active bool
	}{{out.Active, true}, {out.Inactive, false}} {
		if g.group != nil && f.Offset < g.group.Total {
			pages = append(pages, groupPage(db, search, g.active, f.Limit, f.Offset))
		}
	}
	if len(pages) == 0 {
		return out, nil
	}
	items := pages[0]
	for _, p := range pages[1:] {
		items = items.UnionAll(p)
	}
	var users []User
	if err := items.Scan(ctx, &users); err != nil {
		return nil, dbErr(err, "list users")
	}
	for _, u := range users {
		if u.Active {
			out.Active.Items = append(out.Active.Items, u)
		} else {
			out.Inactive.Items = append(out.Inactive.Items, u)
		}
	}
	// UNION ALL keeps no order of its own; restore the per-group order.
	for _, g := range []*UserGroup{out.Active, out.Inactive} {
		if g != nil {
			slices.SortStableFunc(g.Items, newestFirst)
		}
	}
	return out, nil
}

// groupPage selects one page of one status group. The page is a subquery so
// that its ORDER BY and LIMIT are legal inside a UNION ALL on SQLite too.
func groupPage(db bun.IDB, search string, active bool, limit, offset int) *bun.SelectQuery {
	page := db.NewSelect().
		Model((*User)(nil)).
		ExcludeColumn("password_hash").
		OrderExpr("u.created_at DESC, u.id DESC").
		Limit(int64(limit)).Offset(int64(offset))
	page = filterUsers(page, search, &active)
	return db.NewSelect().TableExpr("(?) AS g", page).ColumnExpr("g.*")
}

// filterUsers adds the status and search predicates. Each search branch is a
// prefix LIKE on a column (or lower(column)) that has an index of its own, so
// PostgreSQL can combine three index scans instead of reading the table.
func filterUsers(q *bun.SelectQuery, search string, active *bool) *bun.SelectQuery {
	if active != nil {
		q = q.Where("u.active = ?", *active)
	}
	if search != "" {
		pattern := EscapeLike(search) + "%"
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.
				Where(`u.email LIKE ? ESCAPE '\'`, pattern).
				WhereOr(`lower(u.first_name) LIKE ? ESCAPE '\'`, pattern).
				WhereOr(`lower(u.last_name) LIKE ? ESCAPE '\'`, pattern)
		})
	}
	return q
}

// EscapeLike makes s match itself in a LIKE pattern with ESCAPE '\': without
// it a search for "a_b" or "100%" would match far more than typed.
func EscapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func newestFirst(a, b User) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	// uuid.UUID is a byte array: bytes order like the database's uuid order
	// (and like the canonical text SQLite stores).
	return strings.Compare(string(b.ID[:]), string(a.ID[:]))
}
