package routes_test

import (
	"bytes"
	"context"
	"fmt"
	"image/color"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

// seededUser is what the list test knows of a user it inserted.
type seededUser struct {
	ID                 uuid.UUID
	Email, First, Last string
	Active             bool
	CreatedAt          time.Time
}

// seedUsers inserts 250 users (40 inactive) in one transaction, straight into
// the database. Names repeat so that searches find groups of users; a few
// hold LIKE wildcards, which a search must match literally.
func seedUsers(t *testing.T, e *testenv.Env) []seededUser {
	t.Helper()
	firsts := []string{"Ann", "anna", "ANNETTE", "Bob", "Carl", "Dilnoza", "Eve"}
	lasts := []string{"Smith", "Karimov", "smithson", "Usmonova", "Annis"}
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var out []seededUser
	err := e.DB.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
		for i := range 250 {
			first, last := firsts[i%len(firsts)], lasts[i%len(lasts)]
			addr := fmt.Sprintf("user%03d@seed.example", i)
			switch i {
			case 7:
				first = "50%off"
			case 8:
				first = "a_b"
			case 9:
				first = "axb"
			case 10:
				last = `back\slash`
			case 11:
				addr = "ann.mail@seed.example"
			}
			if i%10 == 3 {
				addr = fmt.Sprintf("ops%03d@seed.example", i)
			}
			created := base.Add(time.Duration(i) * time.Minute)
			if i == 101 {
				created = base.Add(100 * time.Minute) // same instant as user 100: ties go by id
			}
			u := &models.User{
				ID: models.NewID(), Email: addr, PasswordHash: "$2a$04$seeded", FirstName: first, LastName: last,
				Active: i%25 >= 4, TokenVersion: 1, CreatedAt: created, UpdatedAt: created,
			}
			if err := models.InsertUser(ctx, tx, u); err != nil {
				return err
			}
			out = append(out, seededUser{ID: u.ID, Email: addr, First: first, Last: last, Active: u.Active, CreatedAt: created})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed users: %v", err)
	}
	return out
}

// expectGroup is the reference answer for one group, computed in Go (the
// seeds are ASCII, where Go lower-cases as the database does): newest first
// without q; with q by each user's search key, the lowest of its matching
// lower-case email, first and last name, then by id.
func expectGroup(users []seededUser, active bool, q string, page, perPage int) (total int, ids []string) {
	q = strings.ToLower(strings.TrimSpace(q))
	var match []seededUser
	keys := map[uuid.UUID]string{}
	for _, u := range users {
		if u.Active != active {
			continue
		}
		if q != "" {
			key, found := "", false
			for _, v := range []string{u.Email, strings.ToLower(u.First), strings.ToLower(u.Last)} {
				if strings.HasPrefix(v, q) && (!found || v < key) {
					key, found = v, true
				}
			}
			if !found {
				continue
			}
			keys[u.ID] = key
		}
		match = append(match, u)
	}
	slices.SortFunc(match, func(a, b seededUser) int {
		if q != "" {
			if c := strings.Compare(keys[a.ID], keys[b.ID]); c != 0 {
				return c
			}
			return bytes.Compare(a.ID[:], b.ID[:])
		}
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return bytes.Compare(b.ID[:], a.ID[:])
	})
	for i := (page - 1) * perPage; i < len(match) && i < page*perPage; i++ {
		ids = append(ids, match[i].ID.String())
	}
	return len(match), ids
}

type userPageBody struct {
	Total int              `json:"total"`
	Items []map[string]any `json:"items"`
}

type userListBody struct {
	Active   *userPageBody `json:"active"`
	Inactive *userPageBody `json:"inactive"`
}

func TestAdminUserList(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	withAdmin(t, e)
	users := seedUsers(t, e)

	// Sanity of the seed itself, so the reference answers below mean something.
	if n, _ := expectGroup(users, true, "", 1, 1); n != 210 {
		t.Fatalf("seed has %d active users, want 210", n)
	}

	cases := []struct {
		query         string
		active        bool // group present
		inactive      bool
		q             string
		page, perPage int
		wantActive    int // -1: not checked by hand
		wantInactive  int
	}{
		{query: "", active: true, inactive: true, page: 1, perPage: 20, wantActive: 210, wantInactive: 40},
		{query: "per_page=100&page=3", active: true, inactive: true, page: 3, perPage: 100, wantActive: 210, wantInactive: 40},
		{query: "page=11", active: true, inactive: true, page: 11, perPage: 20, wantActive: 210, wantInactive: 40},
		{query: "page=2&per_page=1", active: true, inactive: true, page: 2, perPage: 1, wantActive: 210, wantInactive: 40},
		{query: "status=active", active: true, page: 1, perPage: 20, wantActive: 210},
		{query: "status=inactive&per_page=7&page=6", inactive: true, page: 6, perPage: 7, wantInactive: 40},
		{query: "q=ops", active: true, inactive: true, q: "ops", page: 1, perPage: 20, wantActive: -1, wantInactive: -1},
		{query: "q=OPS0&per_page=100", active: true, inactive: true, q: "ops0", page: 1, perPage: 100, wantActive: -1, wantInactive: -1},
		{query: "q=ann&per_page=100", active: true, inactive: true, q: "ann", page: 1, perPage: 100, wantActive: -1, wantInactive: -1},
		{query: "q=ANN&status=active&per_page=50&page=2", active: true, q: "ann", page: 2, perPage: 50, wantActive: -1},
		{query: "q=annette", active: true, inactive: true, q: "annette", page: 1, perPage: 20, wantActive: -1, wantInactive: -1},
		{query: "q=SMITH&per_page=100", active: true, inactive: true, q: "smith", page: 1, perPage: 100, wantActive: -1, wantInactive: -1},
		{query: "q=smiths&per_page=100", active: true, inactive: true, q: "smiths", page: 1, perPage: 100, wantActive: -1, wantInactive: -1},
		{query: "q=ann.", active: true, inactive: true, q: "ann.", page: 1, perPage: 20, wantActive: 1, wantInactive: 0},
		{query: "q=" + url.QueryEscape("  Karimov "), active: true, inactive: true, q: "karimov", page: 1, perPage: 20, wantActive: -1, wantInactive: -1},
		{query: "q=" + url.QueryEscape("50%"), active: true, inactive: true, q: "50%", page: 1, perPage: 20, wantActive: 1, wantInactive: 0},
		{query: "q=" + url.QueryEscape("%"), active: true, inactive: true, q: "%", page: 1, perPage: 20, wantActive: 0, wantInactive: 0},
		{query: "q=a_b", active: true, inactive: true, q: "a_b", page: 1, perPage: 20, wantActive: 1, wantInactive: 0},
		{query: "q=_", active: true, inactive: true, q: "_", page: 1, perPage: 20, wantActive: 0, wantInactive: 0},
		{query: "q=" + url.QueryEscape(`back\`), active: true, inactive: true, q: `back\`, page: 1, perPage: 20, wantActive: 1, wantInactive: 0},
		{query: "q=" + url.QueryEscape(`\`), active: true, inactive: true, q: `\`, page: 1, perPage: 20, wantActive: 0, wantInactive: 0},
		{query: "q=nn", active: true, inactive: true, q: "nn", page: 1, perPage: 20, wantActive: 0, wantInactive: 0},
		{query: "q=zzz", active: true, inactive: true, q: "zzz", page: 1, perPage: 20, wantActive: 0, wantInactive: 0},
		{query: "status=inactive&q=user&page=99", inactive: true, q: "user", page: 99, perPage: 20, wantInactive: -1},
	}
	for _, c := range cases {
		r := e.Do("GET", pathAdminUsers+"?"+c.query, nil, adminTok(e))
		if r.Status != 200 {
			t.Errorf("?%s: %d %s", c.query, r.Status, r.Body)
			continue
		}
		if strings.Contains(string(r.Body), "password") || strings.Contains(string(r.Body), "$2a$") {
			t.Errorf("?%s: the answer mentions password hashes", c.query)
		}
		var body userListBody
		r.Decode(t, &body)
		for _, g := range []struct {
			name    string
			want    bool
			active  bool
			got     *userPageBody
			byHand  int
			present bool
		}{
			{"active", c.active, true, body.Active, c.wantActive, body.Active != nil},
			{"inactive", c.inactive, false, body.Inactive, c.wantInactive, body.Inactive != nil},
		} {
			if g.present != g.want {
				t.Errorf("?%s: group %s present=%v, want %v\n%.300s", c.query, g.name, g.present, g.want, r.Body)
				continue
			}
			if !g.want {
				continue
			}
			total, ids := expectGroup(users, g.active, c.q, c.page, c.perPage)
			if g.byHand >= 0 && total != g.byHand {
				t.Fatalf("?%s: reference total %d for %s disagrees with the hand count %d", c.query, total, g.name, g.byHand)
			}
			if g.got.Total != total {
				t.Errorf("?%s: %s total %d, want %d", c.query, g.name, g.got.Total, total)
			}
			gotIDs := make([]string, 0, len(g.got.Items))
			for _, it := range g.got.Items {
				gotIDs = append(gotIDs, fmt.Sprint(it["id"]))
				if it["active"] != g.active {
					t.Errorf("?%s: %s group holds a user with active=%v", c.query, g.name, it["active"])
				}
			}
			if !slices.Equal(gotIDs, ids) {
				t.Errorf("?%s: %s items\n got %v\nwant %v", c.query, g.name, gotIDs, ids)
			}
		}
	}

	// The seeded search groups are not empty, so the reference checks above
	// did test something.
	for _, q := range []string{"ops", "ann", "smith", "karimov"} {
		if n, _ := expectGroup(users, true, q, 1, 1); n == 0 {
			t.Errorf("seed has no active user matching %q", q)
		}
	}
	if n, _ := expectGroup(users, false, "ann", 1, 1); n == 0 {
		t.Error("seed has no inactive user matching ann")
	}
}

func TestAdminUserListValidation(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	withAdmin(t, e)
	for _, c := range []struct{ query, field string }{
		{"per_page=0", "per_page"},
		{"per_page=101", "per_page"},
		{"per_page=-5", "per_page"},
		{"per_page=ten", "per_page"},
		{"page=0", "page"},
		{"page=-1", "page"},
		{"page=1.5", "page"},
		{"page=99999999999999999999", "page"},
		{"page=2147483648", "page"},
		// Offsets end at 10,000 rows: deeper is the cursor's job.
		{"page=2147483647&per_page=100", "page"},
		{"page=501&per_page=20", "page"},
		{"page=101&per_page=100", "page"},
		{"page=10001", "page"},
		{"cursor=abc", "status"},
		{"status=active&cursor=abc", "cursor"},
		{"status=active&page=2&cursor=abc", "page"},
		{"status=active&cursor=" + strings.Repeat("A", 2001), "cursor"},
		{"status=deleted", "status"},
		{"status=ACTIVE", "status"},
		{"q=" + strings.Repeat("a", 255), "q"},
		{"q=%FF%FE", "q"},
		{"q=a%00b", "q"},
	} {
		r := e.Do("GET", pathAdminUsers+"?"+c.query, nil, adminTok(e))
		if r.Status != 400 || r.ErrorCode() != "validation_failed" || !strings.Contains(string(r.Body), `"`+c.field+`":`) {
			t.Errorf("?%.40s: %d %s", c.query, r.Status, r.Body)
		}
	}
	// Edges that are fine.
	for _, q := range []string{"per_page=100", "per_page=1", "page=500&per_page=20", "page=100&per_page=100", "page=10000&per_page=1", "q=" + strings.Repeat("a", 254), "status=", "q="} {
		if r := e.Do("GET", pathAdminUsers+"?"+q, nil, adminTok(e)); r.Status != 200 {
			t.Errorf("?%.40s: %d %s", q, r.Status, r.Body)
		}
	}
	// An empty list still has both groups, with empty item arrays.
	r := e.Do("GET", pathAdminUsers, nil, adminTok(e))
	if want := `{"active":{"total":0,"total_capped":false,"items":[],"next_cursor":null},"inactive":{"total":0,"total_capped":false,"items":[],"next_cursor":null}}`; string(r.Body) != want {
		t.Errorf("empty list: %s, want %s", r.Body, want)
	}
}

func TestAdminShowUser(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	withAdminAndUser(t, e)
	uid := uuid.MustParse(memberID)
	base := time.Now().UTC().Truncate(time.Microsecond).Add(-time.Hour)
	products := make([]models.Product, 105)
	for i := range products {
		at := base.Add(time.Duration(i) * time.Second)
		products[i] = models.Product{
			ID: models.NewID(), UserID: uid, Name: fmt.Sprintf("P%03d", i), Price: int64(i), Currency: "UZS",
			CreatedAt: at, UpdatedAt: at,
		}
	}
	if _, err := e.DB.NewInsert().Model(&products).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}

	r := e.Do("GET", pathMember, nil, adminTok(e))
	if r.Status != 200 {
		t.Fatalf("show user: %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), "password") {
		t.Fatalf("the answer mentions a password: %.300s", r.Body)
	}
	var body struct {
		User struct {
			ID            string           `json:"id"`
			Email         string           `json:"email"`
			Active        bool             `json:"active"`
			Products      []map[string]any `json:"products"`
			ProductsTotal int              `json:"products_total"`
		} `json:"user"`
	}
	r.Decode(t, &body)
	if body.User.ID != uid.String() || body.User.Email != e.Vars()[varUserEmail] || !body.User.Active {
		t.Fatalf("user: %+v", body.User)
	}
	if body.User.ProductsTotal != 105 || len(body.User.Products) != 100 {
		t.Fatalf("products: %d of total %d, want 100 of 105", len(body.User.Products), body.User.ProductsTotal)
	}
	if first, last := body.User.Products[0]["name"], body.User.Products[99]["name"]; first != "P104" || last != "P005" {
		t.Fatalf("products not newest first: first %v, last %v", first, last)
	}

	for _, path := range []string{
		pathAdminUsers + "/" + uuid.NewString(),
		pathAdminUsers + "/not-a-uuid",
		pathAdminUsers + "/" + strings.Repeat("1", 40),
	} {
		if r := e.Do("GET", path, nil, adminTok(e)); r.Status != 404 || r.ErrorCode() != "not_found" {
			t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
		}
	}
	// An admin's id is no user id.
	ad, _ := models.AdminByEmail(context.Background(), e.DB, e.Vars()[varAdminEmail])
	if r := e.Do("GET", pathAdminUsers+"/"+ad.ID.String(), nil, adminTok(e)); r.Status != 404 {
		t.Errorf("admin id as user id: %d %s", r.Status, r.Body)
	}
}

func TestAdminSetUserActiveFlow(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	withAdminAndUser(t, e)
	ctx := context.Background()
	addr, oldToken := e.Vars()[varUserEmail], userTok(e)
	version := func() int64 {
		u, err := models.UserByEmail(ctx, e.DB, addr)
		if err != nil {
			t.Fatal(err)
		}
		return u.TokenVersion
	}
	patch := func(active bool) map[string]any {
		t.Helper()
		r := e.Do("PATCH", pathMember, map[string]any{"active": active}, adminTok(e))
		if r.Status != 200 {
			t.Fatalf("PATCH active=%v: %d %s", active, r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), "password") || strings.Contains(string(r.Body), "products") {
			t.Fatalf("PATCH answer: %s", r.Body)
		}
		u, _ := r.JSON(t)["user"].(map[string]any)
		if u["active"] != active || u["email"] != addr {
			t.Fatalf("PATCH active=%v answered %s", active, r.Body)
		}
		return u
	}

	// The same state changes nothing and revokes nothing.
	v0 := version()
	patch(true)
	if version() != v0 {
		t.Fatal("re-activating an active user bumped its token version")
	}
	if r := e.Do("GET", pathMe, nil, oldToken); r.Status != 200 {
		t.Fatalf("token after a no-op PATCH: %d", r.Status)
	}

	// Deactivation: tokens die at once, sign-in is refused, the list moves the user.
	patch(false)
	if r := e.Do("GET", pathMe, nil, oldToken); r.Status != 401 || r.ErrorCode() != "unauthorized" {
		t.Fatalf("token of a deactivated user: %d %s", r.Status, r.Body)
	}
	login := map[string]any{"email": addr, "password": testenv.Password}
	if r := e.Do("POST", pathLogin, login, ""); r.Status != 403 || r.ErrorCode() != "account_inactive" {
		t.Fatalf("login of a deactivated user: %d %s", r.Status, r.Body)
	}
	var list userListBody
	e.Do("GET", pathAdminUsers+"?q="+url.QueryEscape(addr), nil, adminTok(e)).Decode(t, &list)
	if list.Active.Total != 0 || list.Inactive.Total != 1 {
		t.Fatalf("deactivated user not in the inactive group: %+v %+v", list.Active, list.Inactive)
	}
	v1 := version()
	patch(false)
	if version() != v1 {
		t.Fatal("deactivating an inactive user bumped its token version")
	}

	// Reactivation: sign-in works again, the old token stays revoked.
	patch(true)
	if r := e.Do("GET", pathMe, nil, oldToken); r.Status != 401 {
		t.Fatalf("old token after reactivation: %d", r.Status)
	}
	fresh := e.Login(addr, testenv.Password)
	if r := e.Do("GET", pathMe, nil, fresh); r.Status != 200 {
		t.Fatalf("fresh token after reactivation: %d %s", r.Status, r.Body)
	}
}

func TestAdminSetUserActiveScenarios(t *testing.T) {
	body := func(b any) func(*testenv.Env) any { return func(*testenv.Env) any { return b } }
	testenv.Run(t, []testenv.Scenario{
		{
			Name: "active missing", Method: "PATCH", Path: pathMember, Setup: withAdminAndUser, Token: adminTok,
			Body: body(map[string]any{}), Status: 400, Code: "validation_failed", Has: []string{`"active":"is required"`},
		},
		{
			Name: "active null", Method: "PATCH", Path: pathMember, Setup: withAdminAndUser, Token: adminTok,
			Body: body(map[string]any{"active": nil}), Status: 400, Code: "validation_failed", Has: []string{`"active":`},
		},
		{
			Name: "active not a boolean", Method: "PATCH", Path: pathMember, Setup: withAdminAndUser, Token: adminTok,
			Body: body(map[string]any{"active": "no"}), Status: 400, Code: "validation_failed", Has: []string{`"active":"must be of type boolean"`},
		},
		{
			Name: "active as a number", Method: "PATCH", Path: pathMember, Setup: withAdminAndUser, Token: adminTok,
			Body: body(map[string]any{"active": 0}), Status: 400, Code: "validation_failed", Has: []string{`"active":`},
		},
		{
			Name: "no body", Method: "PATCH", Path: pathMember, Setup: withAdminAndUser, Token: adminTok,
			Status: 400, Code: "validation_failed",
		},
		{
			Name: "body not an object", Method: "PATCH", Path: pathMember, Setup: withAdminAndUser, Token: adminTok,
			Body: body("[true]"), Status: 400, Code: "validation_failed",
		},
		{
			Name: "email change refused", Method: "PATCH", Path: pathMember, Setup: withAdminAndUser, Token: adminTok,
			Body:   body(map[string]any{"active": false, "email": "someone.else@example.com"}),
			Status: 400, Code: "email_immutable",
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				if m := e.Do("GET", pathMe, nil, userTok(e)); m.Status != 200 {
					t.Fatalf("the refused request changed the user: %d", m.Status)
				}
			},
		},
		{
			Name: "the unchanged email is fine", Method: "PATCH", Path: pathMember, Setup: withAdminAndUser, Token: adminTok,
			Body: func(e *testenv.Env) any {
				return map[string]any{"active": false, "email": strings.ToUpper(e.Vars()[varUserEmail])}
			},
			Status: 200, Has: []string{`"active":false`},
		},
		{
			Name: "unknown user", Method: "PATCH", Path: pathAdminUsers + "/" + uuid.NewString(), Setup: withAdmin, Token: adminTok,
			Body: body(map[string]any{"active": false}), Status: 404, Code: "not_found",
		},
		{
			Name: "malformed id", Method: "PATCH", Path: pathAdminUsers + "/123", Setup: withAdmin, Token: adminTok,
			Body: body(map[string]any{"active": false}), Status: 404, Code: "not_found",
		},
	})
}

func TestAdminEraseUser(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("gone")
	tok := e.RegisterUser(email)
	url := mustUploadAvatar(t, e, tok, encodeJPEG(t, solidImage(64, 64, color.RGBA{200, 10, 10, 255})))
	key := objectKey(t, e, url)
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/products", map[string]any{"name": "Tea", "price": 100}, tok), http.StatusCreated, "")
	_, admin := e.NewAdmin()
	id := userID(t, e, email)

	mustStatus(t, e.Do(http.MethodDelete, "/api/v1/admin/users/"+uuid.NewString(), nil, admin), http.StatusNotFound, "not_found")
	mustStatus(t, e.Do(http.MethodDelete, "/api/v1/admin/users/"+id.String(), nil, tok), http.StatusForbidden, "forbidden")
	mustStatus(t, e.Do(http.MethodDelete, "/api/v1/admin/users/"+id.String(), nil, admin), http.StatusOK, "")
	mustStatus(t, e.Do(http.MethodGet, "/api/v1/admin/users/"+id.String(), nil, admin), http.StatusNotFound, "not_found")
	mustStatus(t, e.Do(http.MethodDelete, "/api/v1/admin/users/"+id.String(), nil, admin), http.StatusNotFound, "not_found")
	mustStatus(t, e.Do(http.MethodGet, "/api/v1/users/me", nil, tok), http.StatusUnauthorized, "unauthorized")
	if slices.Contains(storedKeys(t, e), key) {
		t.Fatal("the avatar object survived the erasure")
	}
	n, err := e.DB.NewSelect().Table("products").Where("user_id = ?", id).Count(context.Background())
	if err != nil || n != 0 {
		t.Fatalf("products left: %d %v", n, err)
	}
	// The email is free again.
	e.RegisterUser(email)
}
