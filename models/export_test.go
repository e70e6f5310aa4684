package models

import "github.com/uptrace/bun"

// SearchQueries are the page and count queries ListUsers runs for a search
// of one group, for tests that look at their plans.
func SearchQueries(db bun.IDB, search string, active bool, limit int, after *UserPosition, capAt int) (page, count *bun.SelectQuery) {
	k := newSearchKeys(db, search)
	return k.page(db, active, limit, 0, after), k.countQuery(db, active, capAt)
}
