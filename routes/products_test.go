package routes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

type productBody struct {
	ID          string `json:"id"`
	UserID      string `json:"user_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Price       int64  `json:"price"`
	Currency    string `json:"currency"`
}

// createProduct creates a product through the API and returns it.
func createProduct(t *testing.T, e *testenv.Env, token string, body map[string]any) productBody {
	t.Helper()
	r := e.Do(http.MethodPost, productsPath, body, token)
	if r.Status != http.StatusCreated {
		t.Fatalf("create product %v: %d %s", body, r.Status, r.Body)
	}
	var out struct {
		Product productBody `json:"product"`
	}
	r.Decode(t, &out)
	return out.Product
}

// fixedProductID is the id withProduct gives its product: each Env has its
// own database, and scenario paths are fixed strings.
const fixedProductID = "01936b30-1c2d-7e3f-8a4b-5c6d7e8f9a0b"

// fixedProductPath addresses the product made by withProduct.
const fixedProductPath = productsPath + "/" + fixedProductID

// withProduct signs a user in and gives them one product, fixedProductID.
func withProduct(t *testing.T, e *testenv.Env) {
	t.Helper()
	signedIn(t, e)
	now := time.Now().UTC().Truncate(time.Microsecond)
	p := &models.Product{
		ID: uuid.MustParse(fixedProductID), UserID: storedUser(t, e).ID, Name: "Desk lamp", Description: "Brass",
		Price: 1250000, Currency: "USD", CreatedAt: now, UpdatedAt: now,
	}
	if err := models.InsertProduct(context.Background(), e.DB, p); err != nil {
		t.Fatalf("insert product: %v", err)
	}
}

// withOthersProduct gives the product to another user and signs in a new one.
func withOthersProduct(t *testing.T, e *testenv.Env) {
	t.Helper()
	withProduct(t, e)
	signedIn(t, e)
}

func TestProductScenarios(t *testing.T) {
	testenv.Run(t, []testenv.Scenario{
		{Name: "list without token", Method: "GET", Path: productsPath, Status: 401, Code: "unauthorized"},
		{Name: "list with admin token", Method: "GET", Path: productsPath, Token: adminTokenFor, Status: 403, Code: "forbidden"},
		{Name: "empty list", Setup: signedIn, Method: "GET", Path: productsPath, Token: userToken, Status: 200, Has: []string{`"total":0`, `"items":[]`}},
		{
			Name: "create with defaults", Setup: signedIn, Method: "POST", Path: productsPath, Token: userToken,
			Body: body(map[string]any{"name": "  Tea set  ", "price": 0}), Status: 201,
			Has: []string{`"name":"Tea set"`, `"description":""`, `"price":0`, `"currency":"UZS"`, `"user_id":`},
		},
		{
			Name: "create with everything", Setup: signedIn, Method: "POST", Path: productsPath, Token: userToken,
			Body:   body(map[string]any{"name": "Choynak", "description": "Oʻzbek choynagi", "price": 9007199254740993, "currency": "usd"}),
			Status: 201, Has: []string{`"price":9007199254740993`, `"currency":"USD"`, `"description":"Oʻzbek choynagi"`},
		},
		{
			Name: "create validation", Setup: signedIn, Method: "POST", Path: productsPath, Token: userToken,
			Body:   body(map[string]any{"name": strings.Repeat("n", 201), "description": strings.Repeat("d", 2001), "price": -1, "currency": "ABC"}),
			Status: 400, Code: "validation_failed",
			Has: []string{`"name":"must be at most 200 characters"`, `"description":"must be at most 2000 characters"`, `"price":"must be at least 0"`, `"currency":"must be an ISO 4217`},
		},
		{
			Name: "create without name and price", Setup: signedIn, Method: "POST", Path: productsPath, Token: userToken,
			Body: body(map[string]any{}), Status: 400, Code: "validation_failed", Has: []string{`"name":"is required"`, `"price":"is required"`},
		},
		{
			Name: "price with decimals", Setup: signedIn, Method: "POST", Path: productsPath, Token: userToken,
			Body: body(map[string]any{"name": "A", "price": 12.5}), Status: 400, Code: "validation_failed", Has: []string{`"price":"must be of type integer"`},
		},
		{
			Name: "price as a string", Setup: signedIn, Method: "POST", Path: productsPath, Token: userToken,
			Body: body(map[string]any{"name": "A", "price": "100"}), Status: 400, Code: "validation_failed", Has: []string{`"price"`},
		},
		{
			Name: "limits are characters, not bytes", Setup: signedIn, Method: "POST", Path: productsPath, Token: userToken,
			Body: body(map[string]any{"name": strings.Repeat("ё", 200), "description": strings.Repeat("қ", 2000), "price": 1}), Status: 201,
		},
		{
			Name: "create body over 1 MiB", Setup: signedIn, Method: "POST", Path: productsPath, Token: userToken,
			Body: func(*testenv.Env) any {
				return `{"name":"a","price":1,"description":"` + strings.Repeat("d", 1<<20) + `"}`
			},
			Status: 413, Code: "payload_too_large",
		},
		{
			Name: "get own", Setup: withProduct, Method: "GET", Token: userToken, Status: 200,
			Path: fixedProductPath, Has: []string{`"name":"Desk lamp"`, `"currency":"USD"`},
		},
		{Name: "get another user's", Setup: withOthersProduct, Method: "GET", Path: fixedProductPath, Token: userToken, Status: 404, Code: "not_found"},
		{Name: "get unknown", Setup: signedIn, Method: "GET", Path: productsPath + "/01936b30-0000-7000-8000-000000000000", Token: userToken, Status: 404, Code: "not_found"},
		{Name: "get malformed id", Setup: signedIn, Method: "GET", Path: productsPath + "/not-a-uuid", Token: userToken, Status: 404, Code: "not_found"},
		{
			Name: "patch own: only the fields sent", Setup: withProduct, Method: "PATCH", Path: fixedProductPath, Token: userToken,
			Body:   body(map[string]any{"price": 990000}),
			Status: 200, Has: []string{`"price":990000`, `"name":"Desk lamp"`, `"description":"Brass"`, `"currency":"USD"`},
		},
		{
			Name: "patch null description empties it", Setup: withProduct, Method: "PATCH", Path: fixedProductPath, Token: userToken,
			Body: body(map[string]any{"description": nil, "currency": "eur"}), Status: 200, Has: []string{`"description":""`, `"currency":"EUR"`},
		},
		{
			Name: "patch validation", Setup: withProduct, Method: "PATCH", Path: fixedProductPath, Token: userToken,
			Body:   body(map[string]any{"name": "", "price": nil, "currency": "EURO"}),
			Status: 400, Code: "validation_failed", Has: []string{`"name":"must not be empty"`, `"price":"must not be null"`, `"currency":`},
			After: func(t *testing.T, e *testenv.Env, _ *testenv.Response) {
				r := e.Do("GET", fixedProductPath, nil, userToken(e))
				if !strings.Contains(string(r.Body), `"name":"Desk lamp"`) {
					t.Fatalf("a refused patch changed the product: %s", r.Body)
				}
			},
		},
		{
			Name: "patch another user's", Setup: withOthersProduct, Method: "PATCH", Path: fixedProductPath, Token: userToken,
			Body: body(map[string]any{"price": 1}), Status: 404, Code: "not_found",
			After: func(t *testing.T, e *testenv.Env, _ *testenv.Response) {
				var p models.Product
				if err := e.DB.NewSelect().Model(&p).Where("id = ?", fixedProductID).Scan(context.Background()); err != nil || p.Price != 1250000 {
					t.Fatalf("another user's product changed: price %d, %v", p.Price, err)
				}
			},
		},
		{Name: "patch malformed id", Setup: signedIn, Method: "PATCH", Path: productsPath + "/123", Token: userToken, Body: body(map[string]any{"price": 1}), Status: 404, Code: "not_found"},
		{
			Name: "delete own", Setup: withProduct, Method: "DELETE", Path: fixedProductPath, Token: userToken, Status: 200, Has: []string{`"message":`},
			After: func(t *testing.T, e *testenv.Env, _ *testenv.Response) {
				if r := e.Do("GET", fixedProductPath, nil, userToken(e)); r.Status != 404 {
					t.Fatalf("deleted product still there: %d %s", r.Status, r.Body)
				}
				if r := e.Do("DELETE", fixedProductPath, nil, userToken(e)); r.Status != 404 {
					t.Fatalf("second delete: %d %s", r.Status, r.Body)
				}
			},
		},
		{
			Name: "delete another user's", Setup: withOthersProduct, Method: "DELETE", Path: fixedProductPath, Token: userToken, Status: 404, Code: "not_found",
			After: func(t *testing.T, e *testenv.Env, _ *testenv.Response) {
				n, err := e.DB.NewSelect().Model((*models.Product)(nil)).Where("id = ?", fixedProductID).Count(context.Background())
				if err != nil || n != 1 {
					t.Fatalf("another user's product deleted: %d, %v", n, err)
				}
			},
		},
		{Name: "delete malformed id", Setup: signedIn, Method: "DELETE", Path: productsPath + "/x", Token: userToken, Status: 404, Code: "not_found"},
		{Name: "page 0", Setup: signedIn, Method: "GET", Path: productsPath + "?page=0", Token: userToken, Status: 400, Code: "validation_failed", Has: []string{`"page"`}},
		{Name: "per_page 0", Setup: signedIn, Method: "GET", Path: productsPath + "?per_page=0", Token: userToken, Status: 400, Code: "validation_failed", Has: []string{`"per_page"`}},
		{Name: "per_page 101", Setup: signedIn, Method: "GET", Path: productsPath + "?per_page=101", Token: userToken, Status: 400, Code: "validation_failed", Has: []string{`"per_page":"must be at most 100"`}},
		{Name: "page not a number", Setup: signedIn, Method: "GET", Path: productsPath + "?page=two", Token: userToken, Status: 400, Code: "validation_failed", Has: []string{`"page":"must be an integer"`}},
		{Name: "huge page", Setup: withProduct, Method: "GET", Path: productsPath + "?page=2147483647&per_page=100", Token: userToken, Status: 200, Has: []string{`"total":1`, `"items":[]`}},
	})
}

func TestProductListPaging(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	token := e.RegisterUser(e.Email("pager"))
	other := e.RegisterUser(e.Email("other"))
	createProduct(t, e, other, map[string]any{"name": "not mine", "price": 1})
	var ids []string
	for i := range 5 {
		ids = append(ids, createProduct(t, e, token, map[string]any{"name": fmt.Sprintf("p%d", i), "price": i}).ID)
	}
	list := func(query string) (int, []string) {
		t.Helper()
		r := e.Do("GET", productsPath+query, nil, token)
		if r.Status != 200 {
			t.Fatalf("GET /products%s: %d %s", query, r.Status, r.Body)
		}
		var out struct {
			Total int           `json:"total"`
			Items []productBody `json:"items"`
		}
		r.Decode(t, &out)
		var got []string
		for _, p := range out.Items {
			got = append(got, p.ID)
		}
		return out.Total, got
	}
	newest := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if total, got := list(""); total != 5 || fmt.Sprint(got) != fmt.Sprint(newest) {
		t.Fatalf("default page: total %d, %v, want newest first %v", total, got, newest)
	}
	if total, got := list("?per_page=2&page=2"); total != 5 || fmt.Sprint(got) != fmt.Sprint(newest[2:4]) {
		t.Fatalf("page 2 of 2: total %d, %v", total, got)
	}
	if total, got := list("?per_page=2&page=3"); total != 5 || fmt.Sprint(got) != fmt.Sprint(newest[4:]) {
		t.Fatalf("page 3 of 2: total %d, %v", total, got)
	}
	if total, got := list("?per_page=2&page=4"); total != 5 || len(got) != 0 {
		t.Fatalf("past the end: total %d, %v", total, got)
	}
}

func TestMeCarriesNewestHundredProducts(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	addr := e.Email("many")
	token := e.RegisterUser(addr)
	u, err := models.UserByEmail(context.Background(), e.DB, addr)
	if err != nil {
		t.Fatal(err)
	}
	// Straight into the database: 105 API calls would only slow the test.
	base := time.Now().UTC().Truncate(time.Microsecond)
	products := make([]models.Product, 105)
	for i := range products {
		at := base.Add(time.Duration(i) * time.Second)
		products[i] = models.Product{
			ID: models.NewID(), UserID: u.ID, Name: fmt.Sprintf("p%03d", i), Price: int64(i), Currency: "UZS", CreatedAt: at, UpdatedAt: at,
		}
	}
	if _, err := e.DB.NewInsert().Model(&products).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	me := getMe(t, e, token)
	if me.User.ProductsTotal != 105 || len(me.User.Products) != 100 {
		t.Fatalf("products_total %d, %d products", me.User.ProductsTotal, len(me.User.Products))
	}
	if me.User.Products[0].Name != "p104" || me.User.Products[99].Name != "p005" {
		t.Fatalf("not the newest 100, newest first: %s .. %s", me.User.Products[0].Name, me.User.Products[99].Name)
	}
}

// TestProductJSONShape checks the exact fields of a product.
func TestProductJSONShape(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	token := e.RegisterUser(e.Email("shape"))
	r := e.Do("POST", productsPath, map[string]any{"name": "A", "price": 5}, token)
	var out map[string]map[string]any
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(maps.Keys(out["product"]))
	want := "created_at currency description id name price updated_at user_id"
	if got := strings.Join(keys, " "); got != want {
		t.Fatalf("product fields: %s, want %s", got, want)
	}
}
