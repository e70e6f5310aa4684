package models

import (
	"context"
	"errors"

	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
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

// UserPosition is where a user stands in the admin list's order: by
// CreatedAt and ID without a search, by Key and ID with one.
type UserPosition struct {
	CreatedAt time.Time
	// Key is the user's search key, the lowest of their matching lower-case
	// email, first name and last name, exactly as the database compared it.
	Key string
	ID  uuid.UUID
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

// ListUsers returns the users matching f, grouped by status, without
// password hashes. Without a search each group is newest first (created_at,
// then id, descending); with one it is in the order of the matched text
// (each user's search key, bytewise, then id, ascending). Its cost does not
// grow with the number of users: totals without a search come from the
// counters the users table's triggers keep (user_counts), totals with one
// count at most the cap plus one row per column, and each page is read from
// an index in the list's order (users_active_newest, or the three
// users_search_* indexes merged), from its start or from a keyset position.
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

	var keys searchKeys
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
		keys = newSearchKeys(db, search)
		for _, g := range groups {
			if g.group == nil {
				continue
			}
			n, err := keys.count(ctx, db, g.active, capAt)
			if err != nil {
				return nil, err
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
		if search == "" {
			pages = append(pages, groupPage(db, g.active, f.Limit, f.Offset, f.After))
		} else {
			pages = append(pages, keys.page(db, g.active, f.Limit, f.Offset, f.After))
		}
	}
	if len(pages) == 0 {
		return out, nil
	}
	items := pages[0]
	for _, p := range pages[1:] {
		items = items.UnionAll(p)
	}
	var rows []listRow
	if err := items.Scan(ctx, &rows); err != nil {
		return nil, dbErr(err, "list users")
	}
	order := newestFirst
	if search != "" {
		order = byKey
	}
	for _, g := range groups {
		if g.group == nil {
			continue
		}
		var page []listRow
		for _, r := range rows {
			if r.Active == g.active {
				page = append(page, r)
			}
		}
		// UNION ALL keeps no order of its own; restore the group's order.
		slices.SortFunc(page, order)
		// Each page reads one row more than it shows, to know whether
		// another page follows.
		if len(page) > f.Limit {
			page = page[:f.Limit]
			last := page[len(page)-1]
			g.group.Next = &UserPosition{ID: last.ID}
			if search == "" {
				g.group.Next.CreatedAt = last.CreatedAt
			} else {
				g.group.Next.Key = last.MatchKey
			}
		}
		for _, r := range page {
			g.group.Items = append(g.group.Items, r.User)
		}
	}
	return out, nil
}

// listRow is a user of a page with the search key it was found under (empty
// without a search).
type listRow struct {
	User     `bun:",extend"`
	MatchKey string `bun:"match_key"`
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

// groupPage selects one page of one status group without a search, one row
// longer than the page. The page is a subquery so that its ORDER BY and LIMIT
// are legal inside a UNION ALL on SQLite too. After starts the page past a
// position: the row comparison is a range on users_active_newest, so a page
// deep in the list costs what the first one does.
func groupPage(db bun.IDB, active bool, limit, offset int, after *UserPosition) *bun.SelectQuery {
	page := db.NewSelect().
		Model((*User)(nil)).
		ExcludeColumn("password_hash").
		Where("u.active = ?", active).
		OrderExpr("u.created_at DESC, u.id DESC").
		Limit(int64(limit + 1)).Offset(int64(offset))
	if after != nil {
		page = page.Where("(u.created_at, u.id) < (?, ?)", after.CreatedAt, after.ID)
	}
	return db.NewSelect().TableExpr("(?) AS g", page).ColumnExpr("g.*")
}

// searchKeys are the three texts a search matches, in the order that breaks
// ties between a user's equal keys (email, first name, last name), and the
// LIKE pattern of the search. On PostgreSQL each is compared under
// COLLATE "C" (bytewise, like SQLite's BINARY), which is what the
// users_search_* indexes hold: the order then needs no sort, and a prefix
// LIKE is a range of each index.
type searchKeys struct {
	exprs   [3]string
	param   string // how a key from a cursor is written in a comparison
	pattern string
}

func newSearchKeys(db bun.IDB, search string) searchKeys {
	k := searchKeys{
		exprs:   [3]string{"u.email", "lower(u.first_name)", "lower(u.last_name)"},
		param:   "?",
		pattern: EscapeLike(search) + "%",
	}
	if db.Dialect().Name() == dialect.PG {
		for i := range k.exprs {
			k.exprs[i] += ` COLLATE "C"`
		}
		k.param = `? COLLATE "C"`
	}
	return k
}

// like is the search's prefix match on one key.
func (k searchKeys) like(x string) string {
	return x + ` LIKE ? ESCAPE '\'`
}

// count counts one group's matches, stopping each column's range one row
// past the cap: min(n, capAt) is the total and n > capAt says it is capped
// (when no column reached capAt+1 rows, n is exact).
func (k searchKeys) count(ctx context.Context, db bun.IDB, active bool, capAt int) (int, error) {
	var n int
	if err := k.countQuery(db, active, capAt).Scan(ctx, &n); err != nil {
		return 0, dbErr(err, "count users")
	}
	return n, nil
}

func (k searchKeys) countQuery(db bun.IDB, active bool, capAt int) *bun.SelectQuery {
	var ids *bun.SelectQuery
	for _, x := range k.exprs {
		matching := db.NewSelect().TableExpr("users AS u").ColumnExpr("u.id").
			Where("u.active = ?", active).
			Where(k.like(x), k.pattern).
			// In the index's order: a planner sure to stop after cap+1 rows
			// reads the range instead of the table (a seq scan "stopping
			// early" finds no match until it reaches where they were made).
			OrderExpr(x + ", u.id").
			Limit(int64(capAt + 1))
		// A subquery, so that its LIMIT is legal in a UNION on SQLite.
		matching = db.NewSelect().TableExpr("(?) AS c", matching).ColumnExpr("c.id")
		if ids == nil {
			ids = matching
		} else {
			ids = ids.Union(matching) // a user matching twice counts once
		}
	}
	return db.NewSelect().TableExpr("(?) AS m", ids).ColumnExpr("count(*)")
}

// page selects one page of one status group of a search, one row longer
// than the page, with each user's key as match_key. A user is read from the
// column of their smallest matching key only (on equal keys the first of
// email, first name, last name), so each branch is an ordered range of its
// index with the user's other columns as a filter, and the three sorted
// branches merge into the page without a sort. After starts each branch past
// the position, a range start on its index.
func (k searchKeys) page(db bun.IDB, active bool, limit, offset int, after *UserPosition) *bun.SelectQuery {
	var branches *bun.SelectQuery
	for i, x := range k.exprs {
		b := db.NewSelect().
			Model((*User)(nil)).
			ExcludeColumn("password_hash").
			ColumnExpr(x+" AS match_key").
			Where("u.active = ?", active).
			Where(k.like(x), k.pattern)
		for j, y := range k.exprs {
			switch {
			case j < i: // y wins a tie
				b = b.Where("NOT ("+k.like(y)+" AND "+y+" <= "+x+")", k.pattern)
			case j > i:
				b = b.Where("NOT ("+k.like(y)+" AND "+y+" < "+x+")", k.pattern)
			}
		}
		if after != nil {
			b = b.Where("("+x+", u.id) > ("+k.param+", ?)", after.Key, after.ID)
		}
		b = b.OrderExpr(x + ", u.id").Limit(int64(offset + limit + 1))
		// A subquery, so that its ORDER BY and LIMIT are legal in a UNION
		// ALL on SQLite.
		b = db.NewSelect().TableExpr("(?) AS b", b).ColumnExpr("b.*")
		if branches == nil {
			branches = b
		} else {
			branches = branches.UnionAll(b)
		}
	}
	page := db.NewSelect().TableExpr("(?) AS s", branches).ColumnExpr("s.*").
		OrderExpr("s.match_key, s.id").
		Limit(int64(limit + 1)).Offset(int64(offset))
	return db.NewSelect().TableExpr("(?) AS g", page).ColumnExpr("g.*")
}

// EscapeLike makes s match itself in a LIKE pattern with ESCAPE '\': without
// it a search for "a_b" or "100%" would match far more than typed.
func EscapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func newestFirst(a, b listRow) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	// uuid.UUID is a byte array: bytes order like the database's uuid order
	// (and like the canonical text SQLite stores).
	return strings.Compare(string(b.ID[:]), string(a.ID[:]))
}

// byKey is a search's order. The keys are compared as the database compared
// them (bytewise), never recomputed here: Go's lower-casing differs from the
// database's outside ASCII.
func byKey(a, b listRow) int {
	if c := strings.Compare(a.MatchKey, b.MatchKey); c != 0 {
		return c
	}
	return strings.Compare(string(a.ID[:]), string(b.ID[:]))
}
