package models_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

// searchSeed is a user for the search tests: email, first and last name.
type searchSeed struct{ email, first, last string }

func insertSearchUsers(t *testing.T, db bun.IDB, seeds []searchSeed, active func(i int) bool) []models.User {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	users := make([]models.User, len(seeds))
	for i, s := range seeds {
		// Newest first would be the seeds' order; the search must not care.
		at := now.Add(-time.Duration(i) * time.Second)
		users[i] = models.User{
			ID: models.NewID(), Email: s.email, PasswordHash: "x", FirstName: s.first, LastName: s.last,
			Active: active(i), TokenVersion: 1, CreatedAt: at, UpdatedAt: at,
		}
	}
	if _, err := db.NewInsert().Model(&users).Exec(context.Background()); err != nil {
		t.Fatalf("seed %d users: %v", len(users), err)
	}
	return users
}

// keyed is a user's place in a search's order.
type keyed struct {
	key string
	id  uuid.UUID
}

// searchOrder computes a search's order in Go from the seeded rows (all
// ASCII, where Go's lower-casing is the database's): each matching user once,
// under the lowest of their matching lower-case email, first and last name,
// then by id.
func searchOrder(users []models.User, q string, active bool) []keyed {
	q = strings.ToLower(q)
	var out []keyed
	for _, u := range users {
		if u.Active != active {
			continue
		}
		found := false
		var best string
		for _, v := range []string{u.Email, strings.ToLower(u.FirstName), strings.ToLower(u.LastName)} {
			if strings.HasPrefix(v, q) && (!found || v < best) {
				best, found = v, true
			}
		}
		if found {
			out = append(out, keyed{best, u.ID})
		}
	}
	slices.SortFunc(out, func(a, b keyed) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(string(a.id[:]), string(b.id[:]))
	})
	return out
}

func ids(ks []keyed) []uuid.UUID {
	out := make([]uuid.UUID, len(ks))
	for i, k := range ks {
		out[i] = k.id
	}
	return out
}

// mixedSeeds match "ann" by email, first name or last name, several at once,
// with equal keys across users and within one user.
func mixedSeeds() []searchSeed {
	seeds := []searchSeed{
		{"ann@x.io", "Zed", "Quill"},          // by email only
		{"bob@x.io", "Ann", "Annable"},        // first name "ann" below last name "annable"
		{"carl@x.io", "Ann@X.io", "Xu"},       // first name equal to another user's email
		{"anna@x.io", "Anna@x.io", "ANNA"},    // all three; the last name is lowest
		{"annb@x.io", "annb@x.io", "Zz"},      // email equal to own first name: once, by email
		{"dan@x.io", "Ann", "ann"},            // first equal to last: once; same key as bob
		{"eve@x.io", "Eve", "Smith"},          // no match
		{"ann_x@x.io", "Annette", "Annette"},  // '_' is a character here, not a wildcard
		{"annz@x.io", "Bo", "Ann"},            // last name below email
		{"zara@x.io", "Anne", "Ann-Marie"},    // first "anne" above last "ann-marie"
		{"anna.b@x.io", "Bo", "Anna.b@x.io"},  // last equal to own email: once, by email
		{"annie@x.io", "ANNIE", "annie"},      // all three equal: once, by email
		{"kim@x.io", "Kim", "Annan"},          // by last name only
		{"annan@x.io", "Lee", "Lee"},          // email equal to kim's last name
		{"nobody@x.io", "Nann", "Joann"},      // "ann" inside, not a prefix
		{"ann-1@x.io", "Ann-1@x.io", "Ann-1"}, // last below email and first
	}
	for i := range 30 {
		firsts := []string{"Ann", "Annette", "Bo", fmt.Sprintf("ANN-%02d", i)}
		lasts := []string{"Annan", "Xu", "ann", "Ann-Marie", "Cole"}
		emails := []string{"ann", "zed", "annette", "bob"}
		seeds = append(seeds, searchSeed{
			fmt.Sprintf("%s-%02d@x.io", emails[i%4], i), firsts[(i/4)%4], lasts[i%5],
		})
	}
	return seeds
}

// A search lists each matching user once, under their smallest key, in the
// order of the keys then ids, however it is paged: by positions at any page
// size, or by offsets.
func TestListUsersSearchOrder(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	ctx := context.Background()
	users := insertSearchUsers(t, e.DB, mixedSeeds(), func(i int) bool { return i%5 != 3 })
	for _, q := range []string{"ann", "ANN", "  ann-", "anna", "ann_", "ann-0", "zzz", "x"} {
		for _, active := range []bool{true, false} {
			want := searchOrder(users, strings.TrimSpace(q), active)
			if q == "ann" && active && len(want) < 30 {
				t.Fatalf("the seeds match %d users only", len(want))
			}
			for _, limit := range []int{1, 3, 7, 100} {
				got := walk(t, e.DB, models.UserFilter{Search: q, Active: &active, Limit: limit})
				if !slices.Equal(got, ids(want)) {
					t.Fatalf("q=%q active=%v limit=%d:\n got %v\nwant %v", q, active, limit, got, want)
				}
			}
			// Offset pages agree, and so do the totals.
			for offset := 0; offset < len(want)+3; offset += 4 {
				g, err := models.ListUsers(ctx, e.DB, models.UserFilter{Search: q, Active: &active, Limit: 4, Offset: offset})
				if err != nil {
					t.Fatal(err)
				}
				group := g.Active
				if !active {
					group = g.Inactive
				}
				var got []uuid.UUID
				for _, u := range group.Items {
					got = append(got, u.ID)
				}
				wantPage := ids(want[min(offset, len(want)):min(offset+4, len(want))])
				if !slices.Equal(got, wantPage) || group.Total != len(want) || group.TotalCapped {
					t.Fatalf("q=%q active=%v offset %d: %v (total %d), want %v (total %d)", q, active, offset, got, group.Total, wantPage, len(want))
				}
				if more := offset+4 < len(want); (group.Next != nil) != more {
					t.Fatalf("q=%q offset %d: next %v, want %v", q, offset, group.Next, more)
				}
				if group.Next != nil && (group.Next.Key != want[offset+3].key || group.Next.ID != want[offset+3].id) {
					t.Fatalf("q=%q offset %d: next %+v, want %+v", q, offset, *group.Next, want[offset+3])
				}
			}
		}
	}
	// Both groups at once are the same pages.
	g, err := models.ListUsers(ctx, e.DB, models.UserFilter{Search: "ann", Limit: 6})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		group  *models.UserGroup
		active bool
	}{{g.Active, true}, {g.Inactive, false}} {
		want := ids(searchOrder(users, "ann", c.active))
		var got []uuid.UUID
		for _, u := range c.group.Items {
			got = append(got, u.ID)
		}
		if !slices.Equal(got, want[:min(6, len(want))]) {
			t.Fatalf("both groups, active=%v: %v, want %v", c.active, got, want[:min(6, len(want))])
		}
	}
}

// A user matching by several columns is listed and counted once, under the
// smallest key, email first on a tie.
func TestListUsersSearchListsAUserOnce(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	ctx := context.Background()
	users := insertSearchUsers(t, e.DB, []searchSeed{
		{"same@x.io", "Same@x.io", "SAME@X.IO"},
		{"samf@x.io", "Samz", "Sama"},
		{"samz@x.io", "Sama", "Sama"},
	}, func(int) bool { return true })
	active := true
	g, err := models.ListUsers(ctx, e.DB, models.UserFilter{Search: "sam", Active: &active, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if g.Active.Total != 3 || g.Active.TotalCapped {
		t.Fatalf("total %d (capped %v), want 3", g.Active.Total, g.Active.TotalCapped)
	}
	// samz's first and last name tie on "sama" with samf's last name; ids
	// break the tie between the users.
	want := []keyed{{"sama", users[1].ID}, {"sama", users[2].ID}}
	if string(users[2].ID[:]) < string(users[1].ID[:]) {
		want[0], want[1] = want[1], want[0]
	}
	want = append(want, keyed{"same@x.io", users[0].ID})
	var got []keyed
	f := models.UserFilter{Search: "SAM", Active: &active, Limit: 1}
	for range 10 {
		g, err := models.ListUsers(ctx, e.DB, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range g.Active.Items {
			got = append(got, keyed{id: u.ID})
		}
		if g.Active.Next == nil {
			break
		}
		got[len(got)-1].key = g.Active.Next.Key
		f.After = g.Active.Next
	}
	got[len(got)-1].key = want[len(want)-1].key // the last page has no position
	if !slices.Equal(got, want) {
		t.Fatalf("walked %v, want %v", got, want)
	}
}

// queryCounter counts the queries run through a DB.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	c.n.Add(1)
	return ctx
}

func (*queryCounter) AfterQuery(context.Context, *bun.QueryEvent) {}

// rowCounter counts the queries run through a DB and the rows they returned.
type rowCounter struct{ queries, rows atomic.Int64 }

func (c *rowCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	c.queries.Add(1)
	return ctx
}

func (c *rowCounter) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	if e.Result != nil {
		n, _ := e.Result.RowsAffected()
		c.rows.Add(n)
	}
}

// A column whose next rows are all users listed under another column (300
// users with email pat-N and first name Pat: the first name lists them,
// below every pat-N email) neither hides nor repeats anyone, paged by
// positions or by offsets, however small the reads; and a page inside the
// first-name range is one query, whatever lies ahead in the email range.
func TestListUsersSearchPastManyDuplicates(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	ctx := context.Background()
	var seeds []searchSeed
	for i := range 300 {
		seeds = append(seeds, searchSeed{fmt.Sprintf("pat-%03d@x.io", i), "Pat", "Lee"})
	}
	for i := range 12 {
		seeds = append(seeds,
			searchSeed{fmt.Sprintf("zed-%02d@x.io", i), "Zed", "Pat"},      // key "pat", by last name
			searchSeed{fmt.Sprintf("pat-%03d@x.io", 300+i), "Bo", "Lee"},   // inside the run, by email
			searchSeed{fmt.Sprintf("a-%02d@x.io", i), "Patricia", "Patel"}, // after the run, by first name
			searchSeed{fmt.Sprintf("patz-%02d@x.io", i), "Bo", "Lee"},      // after the run, by email
		)
	}
	users := insertSearchUsers(t, e.DB, seeds, func(i int) bool { return i%7 != 3 })
	for _, active := range []bool{true, false} {
		want := ids(searchOrder(users, "pat", active))
		for _, batch := range []int{0, 1, 3} {
			for _, limit := range []int{5, 25} {
				f := models.UserFilter{Search: "pat", Active: &active, Limit: limit, SearchBatch: batch}
				if got := walk(t, e.DB, f); !slices.Equal(got, want) {
					t.Fatalf("active=%v batch %d limit %d: walked %d users, want %d:\n got %v\nwant %v", active, batch, limit, len(got), len(want), got, want)
				}
				var got []uuid.UUID
				for f.Offset = 0; f.Offset < len(want)+limit; f.Offset += limit {
					g, err := models.ListUsers(ctx, e.DB, f)
					if err != nil {
						t.Fatal(err)
					}
					group := g.Active
					if !active {
						group = g.Inactive
					}
					for _, u := range group.Items {
						got = append(got, u.ID)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("active=%v batch %d limit %d: by offsets %d users, want %d:\n got %v\nwant %v", active, batch, limit, len(got), len(want), got, want)
				}
			}
		}
	}
	// In the middle of the first-name range: the count (no column passes the
	// cap, so its exact union is counted too), then one read.
	active := true
	mid := searchOrder(users, "pat", true)[100]
	if mid.key != "pat" {
		t.Fatalf("the 100th user is listed under %q", mid.key)
	}
	counter := &queryCounter{}
	db := e.DB.WithQueryHook(counter)
	g, err := models.ListUsers(ctx, db, models.UserFilter{Search: "pat", Active: &active, Limit: 20, After: &models.UserPosition{Key: mid.key, ID: mid.id}})
	if err != nil {
		t.Fatal(err)
	}
	if n := counter.n.Load(); n != 3 || len(g.Active.Items) != 20 {
		t.Fatalf("a page of %d users inside one range ran %d queries, want 3", len(g.Active.Items), n)
	}

	// The page that leaves the first-name range (its cursor 10 users before
	// the range's end) reads the email column again past its first 21 rows,
	// all Pats. That read ships only the users the email column lists: the
	// page's reads return at most their first batch (21 rows a column) plus
	// the users after the cursor, each once, where the run of Pats the email
	// column does not list is longer than that.
	order := searchOrder(users, "pat", true)
	end := 0
	for order[end+1].key == "pat" {
		end++
	}
	at := end - 10
	run := 0
	for _, u := range users {
		if u.Active && u.FirstName == "Pat" {
			run++
		}
	}
	rows := &rowCounter{}
	g, err = models.ListUsers(ctx, e.DB.WithQueryHook(rows), models.UserFilter{
		Search: "pat", Active: &active, Limit: 20, After: &models.UserPosition{Key: order[at].key, ID: order[at].id},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []uuid.UUID
	for _, u := range g.Active.Items {
		got = append(got, u.ID)
	}
	if want := ids(order[at+1 : at+21]); !slices.Equal(got, want) {
		t.Fatalf("the page leaving the first-name range:\n got %v\nwant %v", got, want)
	}
	shipped := rows.rows.Load() - 1 // the count's row
	bound := int64(3*21 + len(order) - at - 1)
	if rows.queries.Load() < 3 || shipped > bound || bound >= int64(run) {
		t.Fatalf("the page leaving the first-name range ran %d queries returning %d rows, want a follow-up read and at most %d rows (%d Pats)",
			rows.queries.Load(), shipped, bound, run)
	}
}

// The rule listing a user under one column is written in SQL, for the
// follow-up reads of a column, and in Go, for the merge: each column read
// with the SQL rule is exactly its rows Go lists, in order, including users
// whose keys tie across their own columns and across users; and searches
// over such ties, read one row at a time, come out in the order computed
// from the rows.
func TestListUsersSearchOwnerRuleAgrees(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	ctx := context.Background()
	seeds := slices.Concat(mixedSeeds(), []searchSeed{
		{"tie@x.io", "Tie@x.io", "TIE@X.IO"},    // all three equal: email
		{"tiez@x.io", "Tiea", "tiea"},           // first equal to last, lowest: first
		{"tieb@x.io", "Tiez", "TIEB@X.IO"},      // email equal to last, lowest: email
		{"tiec@x.io", "TIEC@x.io", "Tieb"},      // email equal to first, last lower: last
		{"zz1@x.io", "Tie@x.io", "tie@x.io"},    // first equal to last and to another's email: first
		{"zz2@x.io", "Bo", "Tiea"},              // last equal to another's first: last
		{"tied-1@x.io", "Tied", "Tied"},         // the same keys as the next user: first
		{"tied-2@x.io", "Tied", "Tied"},         //
		{"tie-x@x.io", "TIE", "tie"},            // first equal to last, below email: first
		{"tiea@x.io", "Tiea@x.io", "Tiea@x.io"}, // first equal to last equal to email: email
		{"tiee@x.io", "Zed", "Tiee@x.io"},       // last equal to email: email
		{"zz3@x.io", "Tiee@x.io", "Tiee@x.io"},  // first and last equal to another's email: first
	})
	users := insertSearchUsers(t, e.DB, seeds, func(i int) bool { return i%5 != 3 })
	dropped := 0
	for _, q := range []string{"tie", "ti", "ann", "a", "x"} {
		for _, active := range []bool{true, false} {
			for col := range 3 {
				all, err := models.SearchColumn(ctx, e.DB, q, active, col, false)
				if err != nil {
					t.Fatal(err)
				}
				owned, err := models.SearchColumn(ctx, e.DB, q, active, col, true)
				if err != nil {
					t.Fatal(err)
				}
				var want []models.SearchColumnRow
				for _, r := range all {
					if r.Owned {
						want = append(want, r)
					}
				}
				dropped += len(all) - len(want)
				if !slices.Equal(owned, want) {
					t.Errorf("q=%q active=%v column %d: SQL lists %v, Go %v", q, active, col, owned, want)
				}
			}
			want := ids(searchOrder(users, q, active))
			for _, limit := range []int{1, 2, 5} {
				f := models.UserFilter{Search: q, Active: &active, Limit: limit, SearchBatch: 1}
				if got := walk(t, e.DB, f); !slices.Equal(got, want) {
					t.Errorf("q=%q active=%v limit %d:\n got %v\nwant %v", q, active, limit, got, want)
				}
			}
		}
	}
	if dropped < 20 {
		t.Fatalf("the columns hold %d users listed by another column; the seeds should make more", dropped)
	}
}

// Search totals count at most cap+1 rows per column; a user matching by
// several columns counts once, and the total is capped when the columns
// together pass the cap though none does alone.
func TestListUsersSearchTotalsAcrossColumns(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	var seeds []searchSeed
	for i := range 3 {
		seeds = append(seeds, searchSeed{fmt.Sprintf("tri-%d@x.io", i), "Tri", "Tri"}) // all three columns
		seeds = append(seeds, searchSeed{fmt.Sprintf("e%d@x.io", i), "Tri", "X"})      // first name only
		seeds = append(seeds, searchSeed{fmt.Sprintf("f%d@x.io", i), "X", "Trix"})     // last name only
	}
	insertSearchUsers(t, e.DB, seeds, func(int) bool { return true })
	active := true
	for _, c := range []struct {
		cap, total int
		capped     bool
	}{{0, 9, false}, {9, 9, false}, {100, 9, false}, {8, 8, true}, {6, 6, true}, {4, 4, true}, {1, 1, true}} {
		g, err := models.ListUsers(context.Background(), e.DB, models.UserFilter{Search: "tri", Active: &active, Limit: 2, TotalCap: c.cap})
		if err != nil {
			t.Fatal(err)
		}
		if g.Active.Total != c.total || g.Active.TotalCapped != c.capped {
			t.Errorf("cap %d: %d/%v, want %d/%v", c.cap, g.Active.Total, g.Active.TotalCapped, c.total, c.capped)
		}
		if len(g.Active.Items) != 2 || g.Active.Next == nil {
			t.Errorf("cap %d: page of %d, next %v", c.cap, len(g.Active.Items), g.Active.Next)
		}
	}
}

// Users erased, deactivated or renamed between two pages of a search
// neither shift nor repeat the rest of the walk.
func TestListUsersSearchSurvivesChanges(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	ctx := context.Background()
	users := insertSearchUsers(t, e.DB, mixedSeeds(), func(int) bool { return true })
	active := true
	order := searchOrder(users, "ann", true)
	first, err := models.ListUsers(ctx, e.DB, models.UserFilter{Search: "ann", Active: &active, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	// The last user shown is erased, the next one too, and one further on
	// is deactivated.
	for _, k := range order[4:6] {
		if _, err := models.EraseUser(ctx, e.DB, k.id, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := models.SetUserActive(ctx, e.DB, order[7].id, false, now); err != nil {
		t.Fatal(err)
	}
	rest := walk(t, e.DB, models.UserFilter{Search: "ann", Active: &active, Limit: 3, After: first.Active.Next})
	want := slices.Concat([]uuid.UUID{order[6].id}, ids(order[8:]))
	if !slices.Equal(rest, want) {
		t.Fatalf("after the changes the walk went on with %v, want %v", rest, want)
	}
}

var (
	planNode = regexp.MustCompile(`(?m)^\s*(?:->\s*)?([A-Z][A-Za-z ]+?)(?:\s+on\s+\S+|\s+using\s+\S+)*\s+\(cost=`)
	planScan = regexp.MustCompile(`(?:Index Only Scan|Index Scan) using (\w+)`)
)

// On PostgreSQL a search page reads a range of each users_search_* index,
// from its start or a position, with no sequential scan and no sort of the
// users at any depth (the ranges are merged in Go); its count can range over
// the same indexes, in their order.
func TestListUsersSearchPlanUsesIndexes(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	if e.DB.Dialect().Name().String() != "pg" {
		t.Skip("the search plan is PostgreSQL's; set TEST_DATABASE_URL to check it")
	}
	ctx := context.Background()
	var seeds []searchSeed
	for i := range 30000 {
		seeds = append(seeds, searchSeed{
			fmt.Sprintf("plan-user-%05d@example.com", i), fmt.Sprintf("Plan%d", i%997), fmt.Sprintf("User%d", i%1009),
		})
	}
	for from := 0; from < len(seeds); from += 2000 {
		insertSearchUsers(t, e.DB, seeds[from:from+2000], func(i int) bool { return (from+i)%5 != 0 })
	}
	if _, err := e.DB.ExecContext(ctx, "ANALYZE users"); err != nil {
		t.Fatal(err)
	}
	after := &models.UserPosition{Key: "plan-user-15000@example.com", ID: uuid.Nil}
	for _, c := range []struct {
		name  string
		q     string
		after *models.UserPosition
	}{
		{"a tenth of the users", "plan-user-1", nil},
		{"a tenth, deep", "plan-user-1", after},
		{"by first name", "plan1", nil},
		{"everyone", "p", nil},
		{"everyone, deep", "p", after},
	} {
		for _, active := range []bool{true, false} {
			page, overCap, union := models.SearchQueries(e.DB, c.q, active, 20, c.after, models.SearchTotalCap)
			for _, q := range []struct {
				what string
				sql  *bun.SelectQuery
			}{{"page", page}, {"count", overCap}, {"count", union}} {
				var lines []string
				err := e.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					if q.what == "count" {
						// Over 30,000 users reading the whole table is
						// cheaper than 10,001 index entries, and the planner
						// says so; on a million it takes the ranges (checked
						// by hand). Here: the ranges can answer the count in
						// the order asked, with no sort.
						if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off"); err != nil {
							return err
						}
					}
					return tx.NewRaw("EXPLAIN ?", q.sql).Scan(ctx, &lines)
				})
				if err != nil {
					t.Fatalf("%s %s: explain: %v", c.name, q.what, err)
				}
				plan := strings.Join(lines, "\n")
				for _, m := range planNode.FindAllStringSubmatch(plan, -1) {
					if node := m[1]; strings.Contains(node, "Seq Scan") || node == "Sort" || node == "Incremental Sort" || strings.Contains(node, "Bitmap") {
						t.Errorf("%s (active=%v) %s: a %s in the plan:\n%s", c.name, active, q.what, node, plan)
					}
				}
				used := map[string]bool{}
				for _, m := range planScan.FindAllStringSubmatch(plan, -1) {
					used[m[1]] = true
				}
				for _, idx := range []string{"users_search_email", "users_search_first", "users_search_last"} {
					if !used[idx] {
						t.Errorf("%s (active=%v) %s: %s unused:\n%s", c.name, active, q.what, idx, plan)
					}
				}
			}
		}
	}
}
