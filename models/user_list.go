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
	// SearchBatch is how many rows a search's first read of each column
	// takes (tests use a small one, so that a page needs several reads); 0
	// reads a page's worth.
	SearchBatch int
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
	groups := []listGroup{{out.Active, true}, {out.Inactive, false}}

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
		var counted []listGroup
		var actives []bool
		for _, g := range groups {
			if g.group != nil {
				counted = append(counted, g)
				actives = append(actives, g.active)
			}
		}
		totals, err := keys.count(ctx, db, actives, capAt)
		if err != nil {
			return nil, err
		}
		for i, g := range counted {
			g.group.Total = min(totals[i], capAt)
			g.group.TotalCapped = totals[i] > capAt
		}
	}

	// Pages known to lie beyond a group's end need no query.
	var wanted []listGroup
	for _, g := range groups {
		if g.group != nil && (f.After != nil || g.group.TotalCapped || f.Offset < g.group.Total) {
			wanted = append(wanted, g)
		}
	}
	if len(wanted) == 0 {
		return out, nil
	}
	if search == "" {
		return out, listPages(ctx, db, wanted, f)
	}
	return out, keys.pages(ctx, db, wanted, f)
}

// listGroup is a status group and which one it is.
type listGroup struct {
	group  *UserGroup
	active bool
}

// listPages reads the page of each group without a search, in one query.
func listPages(ctx context.Context, db bun.IDB, groups []listGroup, f UserFilter) error {
	items := groupPage(db, groups[0].active, f.Limit, f.Offset, f.After)
	for _, g := range groups[1:] {
		items = items.UnionAll(groupPage(db, g.active, f.Limit, f.Offset, f.After))
	}
	var rows []listRow
	if err := items.Scan(ctx, &rows); err != nil {
		return dbErr(err, "list users")
	}
	for _, g := range groups {
		var page []listRow
		for _, r := range rows {
			if r.Active == g.active {
				page = append(page, r)
			}
		}
		// UNION ALL keeps no order of its own; restore the group's order.
		slices.SortFunc(page, newestFirst)
		fillGroup(g.group, page, f.Limit)
	}
	return nil
}

// fillGroup shows a group's page, which is read one row longer than the
// limit to know whether another page follows.
func fillGroup(g *UserGroup, page []listRow, limit int) {
	if len(page) > limit {
		page = page[:limit]
		last := page[len(page)-1]
		// A list reads CreatedAt, a search Key (empty in a list's rows).
		g.Next = &UserPosition{CreatedAt: last.CreatedAt, Key: last.MatchKey, ID: last.ID}
	}
	for _, r := range page {
		g.Items = append(g.Items, r.User)
	}
}

// listRow is a user of a page with the search key it is listed under (empty
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

// count counts the matches of each group (active or not, in the order
// given), stopping each column's range one row past the cap: min(n, capAt)
// is a total and n > capAt says it is capped. One statement asks, for every
// group, whether one column alone passes the cap (a range of that column's
// index, nothing else): a broad search, the costly kind, ends there. Only
// the groups under the cap in every column are counted exactly, as the
// union of their three columns (a user matching twice counts once), at most
// 3 x capAt rows, in a second statement. Fewer, simpler statements matter:
// PostgreSQL plans each one anew (the LIKE prefix must be a constant for it
// to become an index range), and planning was about 40% of a search's
// database time.
func (k searchKeys) count(ctx context.Context, db bun.IDB, actives []bool, capAt int) ([]int, error) {
	totals := make([]int, len(actives))
	over := make([]bool, len(actives))
	dest := make([]any, len(actives))
	for i := range over {
		dest[i] = &over[i]
	}
	if err := k.overCapQuery(db, actives, capAt).Scan(ctx, dest...); err != nil {
		return nil, dbErr(err, "count users")
	}
	var exact []bool
	var exactAt []int
	for i, o := range over {
		if o {
			totals[i] = capAt + 1
		} else {
			exact = append(exact, actives[i])
			exactAt = append(exactAt, i)
		}
	}
	if len(exact) == 0 {
		return totals, nil
	}
	q := db.NewSelect()
	dest = dest[:0]
	for j, active := range exact {
		q = q.ColumnExpr("(?)", k.unionCountQuery(db, active, capAt))
		dest = append(dest, &totals[exactAt[j]])
	}
	if err := q.Scan(ctx, dest...); err != nil {
		return nil, dbErr(err, "count users")
	}
	return totals, nil
}

// matchingIDs is one column's matching users of a group, at most capAt+1,
// in the column index's order: a planner sure to stop after cap+1 rows
// reads the range instead of the table (a seq scan "stopping early" finds
// no match until it reaches where they were made). A fresh query on every
// call: Bun's Union changes the query it is called on.
func (k searchKeys) matchingIDs(db bun.IDB, x string, active bool, capAt int) *bun.SelectQuery {
	q := db.NewSelect().TableExpr("users AS u").ColumnExpr("u.id").
		Where("u.active = ?", active).
		Where(k.like(x), k.pattern).
		OrderExpr(x + ", u.id").
		Limit(int64(capAt + 1))
	// A subquery, so that its LIMIT is legal in a UNION on SQLite.
	return db.NewSelect().TableExpr("(?) AS c", q).ColumnExpr("c.id")
}

// overCapQuery answers one boolean per group: does one of its columns
// alone hold more than capAt matches? OR stops at the first that does.
func (k searchKeys) overCapQuery(db bun.IDB, actives []bool, capAt int) *bun.SelectQuery {
	q := db.NewSelect()
	for _, active := range actives {
		over := make([]string, 0, len(k.exprs))
		args := make([]any, 0, 2*len(k.exprs))
		for _, x := range k.exprs {
			over = append(over, "(?) > ?")
			args = append(args, db.NewSelect().TableExpr("(?) AS n", k.matchingIDs(db, x, active, capAt)).ColumnExpr("count(*)"), capAt)
		}
		q = q.ColumnExpr("("+strings.Join(over, " OR ")+")", args...)
	}
	return q
}

// unionCountQuery counts a group's users matching in any column, each once.
func (k searchKeys) unionCountQuery(db bun.IDB, active bool, capAt int) *bun.SelectQuery {
	var ids *bun.SelectQuery
	for _, x := range k.exprs {
		if ids == nil {
			ids = k.matchingIDs(db, x, active, capAt)
		} else {
			ids = ids.Union(k.matchingIDs(db, x, active, capAt))
		}
	}
	return db.NewSelect().TableExpr("(?) AS m", ids).ColumnExpr("count(*)")
}

// searchBatchMax caps how many rows one read of a search column takes, so
// that a page crossing a long run of users listed under another column reads
// them in bounded pieces.
const searchBatchMax = 10000

// pages reads the page of each group of a search. Each group's page merges
// three ranges, one per column, each read in the order of its
// users_search_* index from the group's start or position. A column's first
// read has no other filter: a filter saying which column lists a user would
// have to read past every user it drops before answering one row, and the
// merge drops those users instead (searchMerge). A column read again (its
// first batch ran out before the page was decided) is past that concern, and
// the database drops the users other columns list (searchKeys.ownedBy), so a
// long run of them is skipped where it is stored instead of sent. The reads
// of all groups that need rows go together in one query, so a page whose
// ranges hold it costs one query.
func (k searchKeys) pages(ctx context.Context, db bun.IDB, groups []listGroup, f UserFilter) error {
	merges := make([]*searchMerge, len(groups))
	for i, g := range groups {
		merges[i] = newSearchMerge(g.active, f)
	}
	for {
		var reads []searchRead
		for _, m := range merges {
			for _, col := range m.merge() {
				reads = append(reads, searchRead{m, col})
			}
		}
		if len(reads) == 0 {
			break
		}
		// Pointers, so that sharing out a read of thousands of rows among
		// its columns copies no user.
		var rows []*searchRow
		if err := k.readQuery(db, reads).Scan(ctx, &rows); err != nil {
			return dbErr(err, "list users")
		}
		for _, r := range reads {
			var read []*searchRow
			for _, row := range rows {
				if row.Active == r.m.active && row.Col == r.col {
					read = append(read, row)
				}
			}
			r.m.add(r.col, read)
		}
	}
	for i, g := range groups {
		page := make([]listRow, len(merges[i].listed))
		for j, r := range merges[i].listed {
			page[j] = listRow{User: r.User, MatchKey: r.key()}
		}
		fillGroup(g.group, page, f.Limit)
	}
	return nil
}

// searchRead is the next read of one column of one group's merge.
type searchRead struct {
	m   *searchMerge
	col int
}

// readQuery selects the rows of each read: a UNION ALL of column ranges,
// each a subquery so that its ORDER BY and LIMIT are legal in a UNION ALL on
// SQLite. A range starts past the column's position and holds at most its
// batch of rows, in the order of its index; a column's follow-up reads hold
// only the users it lists.
func (k searchKeys) readQuery(db bun.IDB, reads []searchRead) *bun.SelectQuery {
	var q *bun.SelectQuery
	for _, r := range reads {
		x := k.exprs[r.col]
		c := &r.m.cols[r.col]
		b := db.NewSelect().
			Model((*User)(nil)).
			ExcludeColumn("password_hash").
			ColumnExpr("? AS col", r.col)
		// Every key and whether it matches, as the database compares them,
		// so that the merge finds the column listing the user without
		// recomputing a key (Go's lower-casing is not the database's).
		for i, name := range []string{"email", "first", "last"} {
			b = b.ColumnExpr(k.exprs[i]+" AS key_"+name).
				ColumnExpr(k.like(k.exprs[i])+" AS match_"+name, k.pattern)
		}
		b = b.Where("u.active = ?", r.m.active).Where(k.like(x), k.pattern)
		if c.from != nil {
			b = b.Where("("+x+", u.id) > ("+k.param+", ?)", c.from.Key, c.from.ID)
		}
		if c.owned {
			owned, args := k.ownedBy(r.col)
			b = b.Where(owned, args...)
		}
		b = b.OrderExpr(x + ", u.id").Limit(int64(c.batch))
		b = db.NewSelect().TableExpr("(?) AS b", b).ColumnExpr("b.*")
		if q == nil {
			q = b
		} else {
			q = q.UnionAll(b)
		}
	}
	return q
}

// searchRow is a user read from one column's range (Col, an index of
// searchKeys.exprs) with their three keys and whether each matches.
type searchRow struct {
	User       `bun:",extend"`
	Col        int    `bun:"col"`
	KeyEmail   string `bun:"key_email"`
	KeyFirst   string `bun:"key_first"`
	KeyLast    string `bun:"key_last"`
	MatchEmail bool   `bun:"match_email"`
	MatchFirst bool   `bun:"match_first"`
	MatchLast  bool   `bun:"match_last"`
}

// key is the key the row was read under.
func (r *searchRow) key() string {
	return [3]string{r.KeyEmail, r.KeyFirst, r.KeyLast}[r.Col]
}

// The rule that lists a user who matches by several columns under one of
// them, written twice: ownedBy in SQL for the follow-up reads, searchRow.ownedBy
// in Go for the merge. They must agree: a row SQL drops that Go would list
// loses the user. TestListUsersSearchOwnerRuleAgrees reads each column both
// ways, over users whose keys tie within a user and across users.
//
// A column lists the user when no other matching key is smaller, and none is
// equal in a column before it (email, first name, last name): the user's
// smallest matching key, the first column on a tie.

// ownedBy is the rule as a condition on the rows of column col's range (whose
// key matches): for email NOT (F LIKE p AND F < E) AND NOT (L LIKE p AND
// L < E), for first name NOT (E LIKE p AND E <= F) AND NOT (L LIKE p AND
// L < F), for last name NOT (E LIKE p AND E <= L) AND NOT (F LIKE p AND
// F <= L), with its arguments.
func (k searchKeys) ownedBy(col int) (string, []any) {
	x := k.exprs[col]
	var conds []string
	var args []any
	for j, y := range k.exprs {
		op := "<"
		switch {
		case j == col:
			continue
		case j < col: // y wins a tie
			op = "<="
		}
		conds = append(conds, "NOT ("+k.like(y)+" AND "+y+" "+op+" "+x+")")
		args = append(args, k.pattern)
	}
	return strings.Join(conds, " AND "), args
}

// ownedBy is the rule in Go, on the keys and matches the database computed
// for a row of column col's range.
func (r *searchRow) ownedBy(col int) bool {
	keys := [3]string{r.KeyEmail, r.KeyFirst, r.KeyLast}
	match := [3]bool{r.MatchEmail, r.MatchFirst, r.MatchLast}
	for j := range keys {
		switch {
		case j == col || !match[j]:
		case j < col && keys[j] <= keys[col]: // j wins a tie
			return false
		case j > col && keys[j] < keys[col]:
			return false
		}
	}
	return true
}

// searchMerge builds one group's page of a search from its three column
// ranges. A user matching by several columns is in several ranges but
// listed once, from the range of the column that owns them
// (searchRow.ownedBy): the merge takes rows in the order of (key, id) across
// the ranges and drops the others. Rows arrive in batches; a range whose
// batch ran out while it may hold more is read on from its last row before
// the merge can compare its next row, with a larger batch each time and
// only the users the column owns (the database skips the others), so a run
// of users listed elsewhere costs the page that crosses it one read.
type searchMerge struct {
	active bool
	skip   int // owned rows still to skip: the offset
	want   int // owned rows that decide the page: one more than it shows
	listed []*searchRow
	cols   [3]struct {
		rows  []*searchRow  // read and not merged yet, in order
		from  *UserPosition // where the next read starts
		batch int           // the next read's size
		more  bool          // the last read was full: rows may follow
		owned bool          // the next read keeps only the users the column owns
	}
}

func newSearchMerge(active bool, f UserFilter) *searchMerge {
	m := &searchMerge{active: active, skip: f.Offset, want: f.Limit + 1}
	batch := f.SearchBatch
	if batch <= 0 {
		// A page's worth: a page whose ranges hold only their own users
		// is then one query.
		batch = f.Offset + f.Limit + 1
	}
	for i := range m.cols {
		m.cols[i].from, m.cols[i].batch, m.cols[i].more = f.After, batch, true
	}
	return m
}

// merge moves rows into the page until it is decided, and returns the
// columns to read before it can go on: none once the page is decided.
func (m *searchMerge) merge() []int {
	for len(m.listed) < m.want {
		var read []int
		for i, c := range m.cols {
			if len(c.rows) == 0 && c.more {
				read = append(read, i)
			}
		}
		if len(read) > 0 {
			return read
		}
		next := -1
		for i, c := range m.cols {
			if len(c.rows) > 0 && (next < 0 || bySearchKey(c.rows[0], m.cols[next].rows[0]) < 0) {
				next = i
			}
		}
		if next < 0 {
			return nil // every range has ended
		}
		r := m.cols[next].rows[0]
		m.cols[next].rows = m.cols[next].rows[1:]
		switch {
		case !r.ownedBy(next):
		case m.skip > 0:
			m.skip--
		default:
			m.listed = append(m.listed, r)
		}
	}
	return nil
}

// add takes the rows a read of column col returned.
func (m *searchMerge) add(col int, rows []*searchRow) {
	c := &m.cols[col]
	// UNION ALL keeps no order of its own; restore the range's.
	slices.SortFunc(rows, bySearchKey)
	c.rows, c.more = rows, len(rows) == c.batch
	if len(rows) > 0 {
		last := rows[len(rows)-1]
		c.from = &UserPosition{Key: last.key(), ID: last.ID}
	}
	c.batch = max(c.batch, min(c.batch*8, searchBatchMax))
	// Past its first read a column filters in the database: the merge would
	// drop the other columns' users anyway.
	c.owned = true
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

// bySearchKey is a search's order. The keys are compared as the database
// compared them (bytewise), never recomputed here: Go's lower-casing differs
// from the database's outside ASCII.
func bySearchKey(a, b *searchRow) int {
	if c := strings.Compare(a.key(), b.key()); c != 0 {
		return c
	}
	return strings.Compare(string(a.ID[:]), string(b.ID[:]))
}
