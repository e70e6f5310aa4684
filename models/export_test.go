package models

import (
	"context"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// SearchQueries are the first read of a search page (the three column
// ranges of one group) and the two count queries ListUsers may run for it
// (does a column pass the cap; the exact count of the union), for tests
// that look at their plans.
func SearchQueries(db bun.IDB, search string, active bool, limit int, after *UserPosition, capAt int) (page, overCap, union *bun.SelectQuery) {
	k := newSearchKeys(db, search)
	m := newSearchMerge(active, UserFilter{Limit: limit, After: after})
	var reads []searchRead
	for _, col := range m.merge() {
		reads = append(reads, searchRead{m, col})
	}
	return k.readQuery(db, reads), k.overCapQuery(db, []bool{active}, capAt), k.unionCountQuery(db, active, capAt)
}

// SearchColumnRow is a row of one column's range: the user and whether Go's
// rule (searchRow.ownedBy) lists them under that column.
type SearchColumnRow struct {
	ID    uuid.UUID
	Owned bool
}

// SearchColumn reads column col (0 email, 1 first name, 2 last name) of one
// group of a search from its start, all of it, as a first read does
// (owned=false: every matching user) or as a follow-up read does
// (owned=true: the database keeps only the users the column lists), in the
// order of its index.
func SearchColumn(ctx context.Context, db bun.IDB, search string, active bool, col int, owned bool) ([]SearchColumnRow, error) {
	k := newSearchKeys(db, strings.ToLower(strings.TrimSpace(search)))
	m := newSearchMerge(active, UserFilter{})
	m.cols[col].from, m.cols[col].batch, m.cols[col].owned = nil, searchBatchMax, owned
	var rows []*searchRow
	if err := k.readQuery(db, []searchRead{{m, col}}).Scan(ctx, &rows); err != nil {
		return nil, err
	}
	slices.SortFunc(rows, bySearchKey)
	out := make([]SearchColumnRow, len(rows))
	for i, r := range rows {
		out[i] = SearchColumnRow{ID: r.ID, Owned: r.ownedBy(col)}
	}
	return out, nil
}
