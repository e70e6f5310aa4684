package routes_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

type scalePage struct {
	Total       int                      `json:"total"`
	TotalCapped bool                     `json:"total_capped"`
	Items       []struct{ ID uuid.UUID } `json:"items"`
	NextCursor  *string                  `json:"next_cursor"`
}

type scaleList struct {
	Active   *scalePage `json:"active"`
	Inactive *scalePage `json:"inactive"`
}

func getUserList(t *testing.T, e *testenv.Env, query string) scaleList {
	t.Helper()
	r := e.Do("GET", pathAdminUsers+"?"+query, nil, adminTok(e))
	if r.Status != 200 {
		t.Fatalf("?%s: %d %s", query, r.Status, r.Body)
	}
	var l scaleList
	r.Decode(t, &l)
	return l
}

// seedListUsers stores n users straight in the database, in statements of
// up to 1000 rows, created one second apart backwards from base (two at a
// time share a created_at, so ids break ties).
func seedListUsers(t *testing.T, e *testenv.Env, prefix string, n int, base time.Time, active func(int) bool) {
	t.Helper()
	for from := 0; from < n; from += 1000 {
		users := make([]models.User, 0, 1000)
		for i := from; i < n && i < from+1000; i++ {
			at := base.Add(-time.Duration(i/2) * time.Second)
			users = append(users, models.User{
				ID: models.NewID(), Email: fmt.Sprintf("%s-%05d@example.com", prefix, i), PasswordHash: "x",
				FirstName: "Seed", LastName: "User", Active: active(i), TokenVersion: 1, CreatedAt: at, UpdatedAt: at,
			})
		}
		if _, err := e.DB.NewInsert().Model(&users).Exec(context.Background()); err != nil {
			t.Fatalf("seed users: %v", err)
		}
	}
}

// listOrder is a group's users in the list's order, computed in Go from the
// table's rows (ASCII here, where Go lower-cases as the database does):
// newest first without q; with q each matching user once, by the lowest of
// its matching lower-case email, first and last name, then by id.
func listOrder(t *testing.T, e *testenv.Env, active bool, q string) []uuid.UUID {
	t.Helper()
	var users []models.User
	if err := e.DB.NewSelect().Model(&users).Where("active = ?", active).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	q = strings.ToLower(strings.TrimSpace(q))
	type placed struct {
		key string
		u   models.User
	}
	var match []placed
	for _, u := range users {
		if q == "" {
			match = append(match, placed{u: u})
			continue
		}
		key, found := "", false
		for _, v := range []string{u.Email, strings.ToLower(u.FirstName), strings.ToLower(u.LastName)} {
			if strings.HasPrefix(v, q) && (!found || v < key) {
				key, found = v, true
			}
		}
		if found {
			match = append(match, placed{key, u})
		}
	}
	slices.SortFunc(match, func(a, b placed) int {
		if q != "" {
			if c := strings.Compare(a.key, b.key); c != 0 {
				return c
			}
			return bytes.Compare(a.u.ID[:], b.u.ID[:])
		}
		if c := b.u.CreatedAt.Compare(a.u.CreatedAt); c != 0 {
			return c
		}
		return bytes.Compare(b.u.ID[:], a.u.ID[:])
	})
	ids := make([]uuid.UUID, len(match))
	for i, m := range match {
		ids[i] = m.u.ID
	}
	return ids
}

func tableCounts(t *testing.T, e *testenv.Env) (active, inactive int) {
	t.Helper()
	ctx := context.Background()
	a, err := e.DB.NewSelect().Model((*models.User)(nil)).Where("active").Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i, err := e.DB.NewSelect().Model((*models.User)(nil)).Where("NOT active").Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return int(a), int(i)
}

// walkGroup follows next_cursor through one status group from the query
// first+base to its end and returns the ids in the order listed; every
// page must answer only that group, with total uncapped and equal to total.
func walkGroup(t *testing.T, e *testenv.Env, first, base string, active bool, total int) []uuid.UUID {
	t.Helper()
	var got []uuid.UUID
	query := first + base
	for pages := 0; ; pages++ {
		if pages > total+1 {
			t.Fatalf("%s: the walk does not end", base)
		}
		l := getUserList(t, e, query)
		g := l.Active
		if !active {
			g = l.Inactive
		}
		if (active && l.Inactive != nil) || (!active && l.Active != nil) {
			t.Fatalf("%s: the other group answered too", base)
		}
		if g.Total != total || g.TotalCapped {
			t.Fatalf("%s: total %d (capped %v), want %d", base, g.Total, g.TotalCapped, total)
		}
		for _, u := range g.Items {
			got = append(got, u.ID)
		}
		if g.NextCursor == nil {
			return got
		}
		query = base + "&cursor=" + url.QueryEscape(*g.NextCursor)
	}
}

// The totals without q come from counters; they stay equal to the table
// through registration, admin deactivation and reactivation, self
// deactivation, admin erasure and the purge.
func TestAdminUserListTotalsFollowEveryChange(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	e := testenv.New(t, testenv.Config{PurgeAfter: 30 * day})
	withAdmin(t, e)
	check := func(step string, wantActive, wantInactive int) {
		t.Helper()
		l := getUserList(t, e, "")
		a, i := tableCounts(t, e)
		if l.Active.Total != a || l.Inactive.Total != i || a != wantActive || i != wantInactive || l.Active.TotalCapped || l.Inactive.TotalCapped {
			t.Fatalf("%s: list says %d/%d, table %d/%d, want %d/%d", step, l.Active.Total, l.Inactive.Total, a, i, wantActive, wantInactive)
		}
	}
	check("empty", 0, 0)
	one, two, three := e.Email("one"), e.Email("two"), e.Email("three")
	e.RegisterUser(one)
	twoTok := e.RegisterUser(two)
	e.RegisterUser(three)
	check("registered", 3, 0)
	oneAt := pathAdminUsers + "/" + userID(t, e, one).String()
	mustStatus(t, e.Do(http.MethodPatch, oneAt, map[string]any{"active": false}, adminTok(e)), http.StatusOK, "")
	check("deactivated by an admin", 2, 1)
	mustStatus(t, e.Do(http.MethodPatch, oneAt, map[string]any{"active": false}, adminTok(e)), http.StatusOK, "")
	check("deactivated again", 2, 1)
	mustStatus(t, e.Do(http.MethodPatch, oneAt, map[string]any{"active": true}, adminTok(e)), http.StatusOK, "")
	check("reactivated", 3, 0)
	mustStatus(t, e.Do(http.MethodDelete, "/api/v1/users/me", nil, twoTok), http.StatusOK, "")
	check("deactivated by oneself", 2, 1)
	mustStatus(t, e.Do(http.MethodDelete, pathAdminUsers+"/"+userID(t, e, three).String(), nil, adminTok(e)), http.StatusOK, "")
	check("erased by an admin", 1, 1)
	e.Clock.Advance(31 * day)
	if res, err := e.App.Purge(context.Background()); err != nil || res.Erased != 1 {
		t.Fatalf("purge: %+v %v", res, err)
	}
	withAdmin(t, e) // the first admin's token expired with the month
	check("purged", 1, 0)
	e.RegisterUser(three)
	check("registered again", 2, 0)
}

// Following next_cursor walks each group to its end: every user exactly once,
// in the list's order, with or without q; the first page may be asked by page.
func TestAdminUserListCursorWalk(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	withAdmin(t, e)
	now := time.Now().UTC().Truncate(time.Microsecond)
	seedListUsers(t, e, "walk", 61, now, func(i int) bool { return i%4 != 1 })
	seedListUsers(t, e, "else", 9, now.Add(-time.Minute), func(i int) bool { return i%2 == 0 })
	for _, c := range []struct {
		status, q, first string
		perPage          int
	}{
		{"active", "", "", 7},
		{"inactive", "", "page=1&", 4},
		{"active", "WALK", "", 10},
		{"inactive", "walk", "", 1},
		{"active", "", "", 100},
	} {
		active := c.status == "active"
		want := listOrder(t, e, active, c.q)
		base := fmt.Sprintf("status=%s&per_page=%d", c.status, c.perPage)
		if c.q != "" {
			base += "&q=" + url.QueryEscape(c.q)
		}
		got := walkGroup(t, e, c.first, base, active, len(want))
		if !slices.Equal(got, want) {
			t.Fatalf("%s: walked %d users, want %d in order", base, len(got), len(want))
		}
	}
	// Without status both groups carry their own cursor.
	l := getUserList(t, e, "per_page=5")
	if l.Active.NextCursor == nil || l.Inactive.NextCursor == nil {
		t.Fatal("first page of both groups without next_cursor")
	}
	next := getUserList(t, e, "status=inactive&per_page=5&cursor="+url.QueryEscape(*l.Inactive.NextCursor))
	if want := listOrder(t, e, false, "")[5]; next.Inactive.Items[0].ID != want {
		t.Fatalf("the inactive cursor continued at %s, want %s", next.Inactive.Items[0].ID, want)
	}
	// The last page by number says so.
	if last := getUserList(t, e, "status=inactive&per_page=100"); last.Inactive.NextCursor != nil {
		t.Fatal("the only page has a next_cursor")
	}
}

// Users erased or deactivated between two pages neither shift nor repeat
// the rest of the walk, with or without a search.
func TestAdminUserListCursorAcrossChanges(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, q string
		seed    func(*testing.T, *testenv.Env)
	}{
		{"list", "", func(t *testing.T, e *testenv.Env) {
			seedListUsers(t, e, "chg", 20, time.Now().UTC().Truncate(time.Microsecond), func(int) bool { return true })
		}},
		{"search", "lee", func(t *testing.T, e *testenv.Env) { seedSearchUsers(t, e, mixedSearchRows()) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := testenv.New(t, testenv.Config{})
			withAdmin(t, e)
			c.seed(t, e)
			order := listOrder(t, e, true, c.q)
			base := "status=active&per_page=5&q=" + url.QueryEscape(c.q)
			first := getUserList(t, e, base)
			mustStatus(t, e.Do(http.MethodDelete, pathAdminUsers+"/"+order[4].String(), nil, adminTok(e)), http.StatusOK, "")
			mustStatus(t, e.Do(http.MethodDelete, pathAdminUsers+"/"+order[5].String(), nil, adminTok(e)), http.StatusOK, "")
			mustStatus(t, e.Do(http.MethodPatch, pathAdminUsers+"/"+order[7].String(), map[string]any{"active": false}, adminTok(e)), http.StatusOK, "")
			second := getUserList(t, e, base+"&cursor="+url.QueryEscape(*first.Active.NextCursor))
			var got []uuid.UUID
			for _, u := range second.Active.Items {
				got = append(got, u.ID)
			}
			if want := []uuid.UUID{order[6], order[8], order[9], order[10], order[11]}; !slices.Equal(got, want) {
				t.Fatalf("second page %v, want %v", got, want)
			}
			if second.Active.Total != len(order)-3 {
				t.Fatalf("total after the changes: %d, want %d", second.Active.Total, len(order)-3)
			}
		})
	}
}

// A cursor is good only for the group and search it came from; anything
// else is a 400 naming the field, never a 500 or a page from elsewhere.
func TestAdminUserListCursorRefused(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	withAdmin(t, e)
	seedListUsers(t, e, "cur", 12, time.Now().UTC().Truncate(time.Microsecond), func(i int) bool { return i%2 == 0 })
	active := *getUserList(t, e, "status=active&per_page=2").Active.NextCursor
	searched := *getUserList(t, e, "status=active&per_page=2&q=cur").Active.NextCursor
	tampered := []byte(active)
	tampered[len(tampered)/2] ^= 0x01
	if tampered[len(tampered)/2] == '-'^0x01 || tampered[len(tampered)/2] == '_'^0x01 {
		tampered[len(tampered)/2] = 'A'
	}
	for _, c := range []struct{ query, field string }{
		{"cursor=" + active, "status"},
		{"status=inactive&cursor=" + active, "cursor"},
		{"status=active&q=cur&cursor=" + active, "cursor"},
		{"status=active&cursor=" + searched, "cursor"},
		{"status=active&q=cu&cursor=" + searched, "cursor"},
		{"status=active&page=1&cursor=" + active, "page"},
		{"status=active&cursor=" + string(tampered), "cursor"},
		{"status=active&cursor=" + active[:len(active)-2], "cursor"},
		{"status=active&cursor=" + active + "AA", "cursor"},
		{"status=active&cursor=" + url.QueryEscape(active+"=="), "cursor"},
		{"status=active&cursor=" + url.QueryEscape("!!!not base64"), "cursor"},
		{"status=active&cursor=" + url.QueryEscape("\x00\xff"), "cursor"},
		{"status=active&cursor=" + strings.Repeat("A", 56), "cursor"},
	} {
		r := e.Do("GET", pathAdminUsers+"?"+c.query, nil, adminTok(e))
		if r.Status != 400 || r.ErrorCode() != "validation_failed" || !strings.Contains(string(r.Body), `"`+c.field+`":`) {
			t.Errorf("?%.60s: %d %s", c.query, r.Status, r.Body)
		}
	}
	// The untouched cursors work with their own query, per_page free.
	getUserList(t, e, "status=active&per_page=50&cursor="+active)
	getUserList(t, e, "status=active&q=CUR&cursor="+searched)
}

// With q each group counts at most 10,001 matches: over 10,000 the total is
// 10,000 and capped; without q, or under the cap, it is exact.
func TestAdminUserListCappedSearchTotal(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	withAdmin(t, e)
	now := time.Now().UTC().Truncate(time.Microsecond)
	seedListUsers(t, e, "many", models.SearchTotalCap+1, now, func(int) bool { return true })
	seedListUsers(t, e, "few", 3, now, func(i int) bool { return i != 0 })

	l := getUserList(t, e, "q=many")
	if l.Active.Total != models.SearchTotalCap || !l.Active.TotalCapped || l.Inactive.Total != 0 || l.Inactive.TotalCapped {
		t.Fatalf("q=many: %d/%v %d/%v", l.Active.Total, l.Active.TotalCapped, l.Inactive.Total, l.Inactive.TotalCapped)
	}
	if len(l.Active.Items) != 20 || l.Active.NextCursor == nil {
		t.Fatalf("q=many: %d items, next %v", len(l.Active.Items), l.Active.NextCursor)
	}
	l = getUserList(t, e, "q=few&status=inactive")
	if l.Inactive.Total != 1 || l.Inactive.TotalCapped || l.Active != nil {
		t.Fatalf("q=few: %+v", l.Inactive)
	}
	l = getUserList(t, e, "")
	if l.Active.Total != models.SearchTotalCap+3 || l.Active.TotalCapped || l.Inactive.Total != 1 {
		t.Fatalf("no q: %d/%v %d", l.Active.Total, l.Active.TotalCapped, l.Inactive.Total)
	}
	// The deepest page by number is allowed, one further is not.
	last := getUserList(t, e, fmt.Sprintf("status=active&q=many&per_page=100&page=%d", app.AdminUsersMaxOffset/100))
	if len(last.Active.Items) != 100 || last.Active.NextCursor == nil {
		t.Fatalf("page 100: %d items", len(last.Active.Items))
	}
	mustStatus(t, e.Do("GET", pathAdminUsers+"?status=active&q=many&per_page=100&page=101", nil, adminTok(e)), 400, "validation_failed")
	// Its cursor reaches the one user past the offset limit.
	rest := getUserList(t, e, "status=active&q=many&per_page=100&cursor="+url.QueryEscape(*last.Active.NextCursor))
	if len(rest.Active.Items) != 1 || rest.Active.NextCursor != nil {
		t.Fatalf("past page 100: %d items, next %v", len(rest.Active.Items), rest.Active.NextCursor)
	}
}

// seedSearchUsers stores users with the given email, first and last name;
// every third is inactive. They are created newest first in the given order,
// which a search must not follow.
func seedSearchUsers(t *testing.T, e *testenv.Env, rows [][3]string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	users := make([]models.User, len(rows))
	for i, r := range rows {
		at := now.Add(-time.Duration(i) * time.Second)
		users[i] = models.User{
			ID: models.NewID(), Email: r[0], FirstName: r[1], LastName: r[2], PasswordHash: "x",
			Active: i%3 != 2, TokenVersion: 1, CreatedAt: at, UpdatedAt: at,
		}
	}
	if _, err := e.DB.NewInsert().Model(&users).Exec(context.Background()); err != nil {
		t.Fatalf("seed users: %v", err)
	}
}

// mixedSearchRows match "lee" by email, first or last name, several at
// once, with keys equal across users and a first name equal to another
// user's email.
func mixedSearchRows() [][3]string {
	rows := [][3]string{
		{"lee@x.io", "Zoe", "Park"},
		{"kim@x.io", "Lee@X.io", "Park"}, // first name = the first user's email
		{"leena@x.io", "Leena", "LEE"},   // last name lowest
		{"lee.a@x.io", "lee.a@x.io", "Q"},
		{"max@x.io", "Lee", "Lee"},
		{"sam@x.io", "Leeroy", "Lee"},
		{"tom@x.io", "Tom", "Leeds"},
		{"leeds@x.io", "Ann", "Ann"}, // same key as tom's last name
		{"nolee@x.io", "Ole", "Kale"},
	}
	for i := range 40 {
		rows = append(rows, [3]string{
			fmt.Sprintf("%s%02d@x.io", []string{"lee", "bo", "leeds", "al"}[i%4], i),
			[]string{"Lee", "Leeroy", "Bo", "Lee@x.io"}[(i/4)%4],
			[]string{"Lee", "Stone", "Leeds", "Lee-Ann", "Cole"}[i%5],
		})
	}
	return rows
}

// A walk by next_cursor over a search whose users match by email, first or
// last name visits every match exactly once, in the order of the matched
// text, for both groups and any page size.
func TestAdminUserSearchCursorWalk(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	withAdmin(t, e)
	seedSearchUsers(t, e, mixedSearchRows())
	for _, c := range []struct {
		status, q string
		perPage   int
	}{
		{"active", "lee", 1},
		{"active", "LEE", 3},
		{"inactive", "lee", 2},
		{"active", "leeds", 4},
		{"inactive", "lee@", 1},
		{"active", "lee", 100},
	} {
		active := c.status == "active"
		want := listOrder(t, e, active, c.q)
		if c.q == "lee" && active && len(want) < 20 {
			t.Fatalf("only %d matches", len(want))
		}
		base := fmt.Sprintf("status=%s&per_page=%d&q=%s", c.status, c.perPage, url.QueryEscape(c.q))
		got := walkGroup(t, e, "", base, active, len(want))
		if !slices.Equal(got, want) {
			t.Fatalf("%s:\n got %v\nwant %v", base, got, want)
		}
	}
}
