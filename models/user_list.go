package models

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"slices"
	"strings"

	"github.com/uptrace/bun"
)

// SearchTotalCap is the most matching users a search counts per group: a
// prefix common to most of a million users would otherwise cost a scan of
// them on every request. Over it the total is answered as the cap, marked
// capped.
const SearchTotalCap = 10000

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
	// After continues the list past this position (keyset paging): it needs
	// Active, and Offset then counts from it.
	After *UserPosition
	// TotalCap overrides SearchTotalCap (tests use a small one); 0 keeps it.
	TotalCap int
}

// UserPosition is where a user stands in the admin list's order.
type UserPosition struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// UserGroup is one page of one status group and how many users the group
// holds over all pages.
type UserGroup struct {
	Total int
	// TotalCapped says Total is the search cap and more users match.
	TotalCapped bool
	Items       []User
	// Next is the position of the page's last user when more follow; nil
	// on the last page.
	Next *UserPosition
}

// UserGroups is the admin user list: a group is nil when the filter left it out.
type UserGroups struct {
	Active   *UserGroup
	Inactive *UserGroup
}

// ListUsers returns the users matching f, grouped by status, newest first
// (created_at, then id, descending), without password hashes. Its cost does
// not grow with the number of users: totals without a search come from the
// counters the users table's triggers keep (user_counts), totals with one
// count at most the cap plus one row, and each page is read from the
// users_active_newest index, from its start or from a keyset position.
func ListUsers(ctx context.Context, db bun.IDB, f UserFilter) (*UserGroups, error) {
	if f.After != nil && f.Active == nil {
		return nil, errors.New("list users: a position needs a status group")
	}
	search := strings.ToLower(strings.TrimSpace(f.Search))
	capAt := f.TotalCap
	if capAt <= 0 {
		capAt = SearchTotalCap
	}
	out := &UserGroups{}
	if f.Active == nil || *f.Active {
		out.Active = &UserGroup{Items: []User{}}
	}
	if f.Active == nil || !*f.Active {
		out.Inactive = &UserGroup{Items: []User{}}
	}
	groups := []struct {
		group  *UserGroup
		active bool
	}{{out.Active, true}, {out.Inactive, false}}

	if search == "" {
		counts, err := CountUsers(ctx, db)
		if err != nil {
			return nil, err
		}
		if out.Active != nil {
			out.Active.Total = counts.Active
		}
		if out.Inactive != nil {
			out.Inactive.Total = counts.Inactive
		}
	} else {
		for _, g := range groups {
			if g.group == nil {
				continue
			}
			// Counting through a LIMIT stops the scan one row past the cap.
			matching := filterUsers(db.NewSelect().TableExpr("users AS u").ColumnExpr("1"), search, &g.active).
				Limit(int64(capAt + 1))
			var n int
			if err := db.NewSelect().TableExpr("(?) AS m", matching).ColumnExpr("count(*)").Scan(ctx, &n); err != nil {
				return nil, dbErr(err, "count users")
			}
			g.group.Total = min(n, capAt)
			g.group.TotalCapped = n > capAt
		}
	}

	// Pages known to lie beyond a group's end need no query.
	var pages []*bun.SelectQuery
	for _, g := range groups {
		if g.group == nil {
			continue
		}
		if f.After == nil && !g.group.TotalCapped && f.Offset >= g.group.Total {
			continue
		}
		pages = append(pages, groupPage(db, search, g.active, f.Limit, f.Offset, f.After))
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
	for _, g := range []*UserGroup{out.Active, out.Inactive} {
		if g == nil {
			continue
		}
		// UNION ALL keeps no order of its own; restore the per-group order.
		slices.SortStableFunc(g.Items, newestFirst)
		// Each page reads one row more than it shows, to know whether
		// another page follows.
		if len(g.Items) > f.Limit {
			g.Items = g.Items[:f.Limit]
			last := g.Items[len(g.Items)-1]
			g.Next = &UserPosition{CreatedAt: last.CreatedAt, ID: last.ID}
		}
	}
	return out, nil
}

// UserCounts is how many users each status group holds.
type UserCounts struct {
	Active   int `bun:"active"`
	Inactive int `bun:"inactive"`
}

// CountUsers sums the counter shards the users table's triggers keep: a
// read of a fixed number of rows, however many users there are.
func CountUsers(ctx context.Context, db bun.IDB) (UserCounts, error) {
	var c UserCounts
	err := db.NewSelect().
		TableExpr("user_counts AS c").
		ColumnExpr("COALESCE(SUM(CASE WHEN c.active THEN c.n ELSE 0 END), 0) AS active").
		ColumnExpr("COALESCE(SUM(CASE WHEN c.active THEN 0 ELSE c.n END), 0) AS inactive").
		Scan(ctx, &c)
	return c, dbErr(err, "count users")
}

// groupPage selects one page of one status group, one row longer than the
// page. The page is a subquery so that its ORDER BY and LIMIT are legal
// inside a UNION ALL on SQLite too. After starts the page past a position:
// the row comparison is a range on users_active_newest, so a page deep in
// the list costs what the first one does.
func groupPage(db bun.IDB, search string, active bool, limit, offset int, after *UserPosition) *bun.SelectQuery {
	page := db.NewSelect().
		Model((*User)(nil)).
		ExcludeColumn("password_hash").
		OrderExpr("u.created_at DESC, u.id DESC").
		Limit(int64(limit + 1)).Offset(int64(offset))
	if after != nil {
		page = page.Where("(u.created_at, u.id) < (?, ?)", after.CreatedAt, after.ID)
	}
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
