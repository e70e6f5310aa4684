package models

import "github.com/uptrace/bun"

// SearchQueries are the first read of a search page (the three column
// ranges of one group) and the count query ListUsers runs for it, for tests
// that look at their plans.
func SearchQueries(db bun.IDB, search string, active bool, limit int, after *UserPosition, capAt int) (page, count *bun.SelectQuery) {
	k := newSearchKeys(db, search)
	m := newSearchMerge(active, UserFilter{Limit: limit, After: after})
	var reads []searchRead
	for _, col := range m.merge() {
		reads = append(reads, searchRead{m, col})
	}
	return k.readQuery(db, reads), k.countQuery(db, active, capAt)
}
