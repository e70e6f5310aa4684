package docs_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"

	"github.com/acme/accounts/docs"
	"github.com/acme/accounts/internal/testenv"
)

// undocumented are the routed paths the spec leaves out on purpose, by
// prefix: the reference's own assets, uploaded files, the profiler, and the
// admin dashboard's HTML pages (a web app over the same flows, described in
// the README, not part of the JSON API).
var undocumented = []string{"/docs/", "/uploads/", "/debug/", "/admin/"}

// routed asks the router for its routes, as the spec names them: API routes
// relative to the /api/v1 server, operational ones (true) at the root, and
// Fiber's :param as {param}. HEAD, which Fiber adds to every GET, is left out.
func routed(t *testing.T) map[string]bool {
	t.Helper()
	param := regexp.MustCompile(`:(\w+)`)
	out := map[string]bool{}
	for _, r := range testenv.New(t, testenv.Config{}).Fiber.GetRoutes(true) {
		if r.Method == http.MethodHead || slices.ContainsFunc(undocumented, func(p string) bool { return strings.HasPrefix(r.Path, p) }) {
			continue
		}
		path, api := strings.CutPrefix(r.Path, "/api/v1/")
		if api {
			path = "/" + path
		}
		out[r.Method+" "+param.ReplaceAllString(path, "{$1}")] = !api
	}
	return out
}

// publicPrefixes are the API paths that need no token.
var publicPrefixes = []string{"/auth/", "/admin/auth/"}

// optionalToken are the public paths that take a token when there is one
// (logout names its session by the access token or the refresh token).
var optionalToken = []string{"/auth/logout", "/admin/auth/logout"}

// optionalBearer reports whether security is "a bearer token, or nothing".
func optionalBearer(security []*base.SecurityRequirement) bool {
	if len(security) != 2 || security[0].Requirements == nil || orderedmap.Len(security[1].Requirements) != 0 {
		return false
	}
	_, ok := security[0].Requirements.Get("bearerAuth")
	return ok
}

func buildModel(t *testing.T) (libopenapi.Document, *v3.Document) {
	t.Helper()
	doc, err := libopenapi.NewDocument(docs.Spec())
	if err != nil {
		t.Fatalf("parse spec: %v", err)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("build v3 model: %v", err)
	}
	return doc, &m.Model
}

func TestSpecBuildsAndValidates(t *testing.T) {
	t.Parallel()
	doc, model := buildModel(t)
	if got := model.Version; got != "3.0.3" {
		t.Errorf("openapi version = %q, want 3.0.3", got)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("new validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("spec: %s: %s (line %d)", e.Message, e.Reason, e.SpecLine)
		}
	}
}

func TestSpecReturnsACopy(t *testing.T) {
	t.Parallel()
	a := docs.Spec()
	a[0] = 'X'
	if b := docs.Spec(); b[0] == 'X' {
		t.Fatal("Spec shares its backing array with callers")
	}
}

func TestEveryRouteDocumented(t *testing.T) {
	t.Parallel()
	_, model := buildModel(t)

	if len(model.Servers) != 1 || model.Servers[0].URL != "/api/v1" {
		t.Fatalf("document servers = %v, want exactly /api/v1", model.Servers)
	}

	type op struct {
		path string
		item *v3.PathItem
		op   *v3.Operation
	}
	got := map[string]op{}
	for path, item := range model.Paths.PathItems.FromOldest() {
		for method, o := range item.GetOperations().FromOldest() {
			got[strings.ToUpper(method)+" "+path] = op{path, item, o}
		}
	}

	want := routed(t)
	for r := range want {
		if _, ok := got[r]; !ok {
			t.Errorf("route %q is missing from the spec", r)
		}
	}
	var extra []string
	for r := range got {
		if _, ok := want[r]; !ok {
			extra = append(extra, r)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("spec has routes the product does not: %v", extra)
	}

	ids := map[string]string{}
	for r, o := range got {
		isOps, known := want[r]
		if !known {
			continue
		}
		if o.op.OperationId == "" {
			t.Errorf("%s: no operationId", r)
		} else if prev, dup := ids[o.op.OperationId]; dup {
			t.Errorf("%s: operationId %q also used by %s", r, o.op.OperationId, prev)
		}
		ids[o.op.OperationId] = r

		codes := o.op.Responses.Codes
		for _, c := range []string{"500", "503"} {
			if _, ok := codes.Get(c); !ok {
				t.Errorf("%s: no %s response", r, c)
			}
		}

		if isOps {
			if len(o.item.Servers) != 1 || o.item.Servers[0].URL != "/" {
				t.Errorf("%s: path servers must be exactly [/]", r)
			}
		} else if len(o.item.Servers) != 0 {
			t.Errorf("%s: API paths must use the document server", r)
		}

		public := isOps
		for _, p := range publicPrefixes {
			public = public || strings.HasPrefix(o.path, p)
		}
		switch {
		case slices.Contains(optionalToken, o.path):
			if !optionalBearer(o.op.Security) {
				t.Errorf("%s: must declare `security: [{bearerAuth: []}, {}]`", r)
			}
		case public && (o.op.Security == nil || len(o.op.Security) != 0):
			t.Errorf("%s: must declare `security: []`", r)
		case !public && o.op.Security != nil:
			t.Errorf("%s: must inherit the bearerAuth requirement", r)
		case !public:
			for _, c := range []string{"401", "403"} {
				if _, ok := codes.Get(c); !ok {
					t.Errorf("%s: protected route without a %s response", r, c)
				}
			}
		}

		if o.op.RequestBody != nil {
			for _, c := range []string{"400", "413", "415"} {
				if _, ok := codes.Get(c); !ok {
					t.Errorf("%s: route with a body has no %s response", r, c)
				}
			}
		}
		if strings.Contains(o.path, "{id}") {
			if _, ok := codes.Get("404"); !ok {
				t.Errorf("%s: route with an id has no 404 response", r)
			}
		}
		if rl, ok := codes.Get("429"); ok {
			if _, ok := rl.Headers.Get("Retry-After"); !ok {
				t.Errorf("%s: 429 without a Retry-After header", r)
			}
		}
	}

	if len(model.Security) != 1 {
		t.Fatalf("global security = %v, want bearerAuth", model.Security)
	}
	if _, ok := model.Security[0].Requirements.Get("bearerAuth"); !ok {
		t.Error("global security is not bearerAuth")
	}
	scheme, ok := model.Components.SecuritySchemes.Get("bearerAuth")
	if !ok || scheme.Type != "http" || scheme.Scheme != "bearer" || scheme.BearerFormat != "JWT" {
		t.Errorf("bearerAuth must be an HTTP bearer JWT scheme, got %+v", scheme)
	}
}

const (
	uid  = "01936b2e-8f3a-7c4d-9e2b-5a6f7d8c9b0a"
	pid  = "01936b30-1c2d-7e3f-8a4b-5c6d7e8f9a0b"
	ts   = "2025-01-31T09:30:00Z"
	user = `{"id":"` + uid + `","email":"ann@example.com","first_name":"Ann","last_name":"Lee",` +
		`"phone":null,"locale":null,"avatar_url":null,"active":true,"created_at":"` + ts + `","updated_at":"` + ts + `"}`
	product = `{"id":"` + pid + `","user_id":"` + uid + `","name":"Lamp","description":"","price":0,` +
		`"currency":"UZS","created_at":"` + ts + `","updated_at":"` + ts + `"}`
	admin = `{"id":"` + uid + `","email":"ops@example.com","name":"Ops","created_at":"` + ts +
		`","updated_at":"` + ts + `"}`
)

// TestResponsesCheckedStrictly proves the spec is strict where it matters: the
// answers the API gives pass, and near misses (extra fields, wrong enums,
// missing headers, codes a route never answers) fail.
func TestResponsesCheckedStrictly(t *testing.T) {
	t.Parallel()
	doc, _ := buildModel(t)
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
	if len(errs) > 0 {
		t.Fatalf("new validator: %v", errs)
	}

	cases := []struct {
		name, method, path string
		status             int
		contentType        string
		header             map[string]string
		body               string
		valid              bool
	}{
		{"code sent", "POST", "/api/v1/auth/register", 200, "", nil,
			`{"message":"sent","email":"ann@example.com","expires_in":600}`, true},
		{"code sent without expires_in", "POST", "/api/v1/auth/login", 200, "", nil,
			`{"message":"sent","email":"ann@example.com"}`, false},
		{"user token", "POST", "/api/v1/auth/login/verify", 200, "", nil,
			`{"token":"a.b.c","token_type":"Bearer","expires_in":900,"refresh_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","refresh_expires_in":2592000,"user":` + user + `}`, true},
		{"token with a leaked hash", "POST", "/api/v1/auth/register/verify", 200, "", nil,
			`{"token":"a.b.c","token_type":"Bearer","expires_in":900,"refresh_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","refresh_expires_in":2592000,"user":` +
				strings.Replace(user, `"active":true`, `"active":true,"password_hash":"x"`, 1) + `}`, false},
		{"lower-case token type", "PUT", "/api/v1/users/me/password", 200, "", nil,
			`{"token":"a.b.c","token_type":"bearer","expires_in":900,"refresh_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","refresh_expires_in":2592000,"user":` + user + `}`, false},
		{"admin token", "POST", "/api/v1/admin/auth/login/verify", 200, "", nil,
			`{"token":"a.b.c","token_type":"Bearer","expires_in":900,"refresh_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","refresh_expires_in":2592000,"admin":` + admin + `}`, true},
		{"admin token carrying a user", "POST", "/api/v1/admin/auth/login/verify", 200, "", nil,
			`{"token":"a.b.c","token_type":"Bearer","expires_in":900,"refresh_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","refresh_expires_in":2592000,"user":` + user + `}`, false},
		{"me with products", "GET", "/api/v1/users/me", 200, "", nil,
			`{"user":` + strings.TrimSuffix(user, "}") + `,"products":[` + product + `],"products_total":1}}`, true},
		{"me without products_total", "GET", "/api/v1/users/me", 200, "", nil,
			`{"user":` + strings.TrimSuffix(user, "}") + `,"products":[]}}`, false},
		{"patched user", "PATCH", "/api/v1/users/me", 200, "", nil, `{"user":` + user + `}`, true},
		{"avatar url", "PUT", "/api/v1/users/me/avatar", 200, "", nil, `{"avatar_url":"http://localhost:8080/uploads/a.jpg"}`, true},
		{"product created", "POST", "/api/v1/products", 201, "", nil, `{"product":` + product + `}`, true},
		{"product lower-case currency", "GET", "/api/v1/products/" + pid, 200, "", nil,
			`{"product":` + strings.Replace(product, "UZS", "uzs", 1) + `}`, false},
		{"product negative price", "PATCH", "/api/v1/products/" + pid, 200, "", nil,
			`{"product":` + strings.Replace(product, `"price":0`, `"price":-1`, 1) + `}`, false},
		{"product page", "GET", "/api/v1/products", 200, "", nil, `{"total":1,"items":[` + product + `]}`, true},
		{"product deleted", "DELETE", "/api/v1/products/" + pid, 200, "", nil, `{"message":"deleted"}`, true},
		{"product not found", "DELETE", "/api/v1/products/" + pid, 404, "", nil,
			`{"error":{"code":"not_found","message":"not found"}}`, true},
		{"admin list both groups", "GET", "/api/v1/admin/users", 200, "", nil,
			`{"active":{"total":1,"total_capped":false,"items":[` + user + `],"next_cursor":null},"inactive":{"total":0,"total_capped":false,"items":[],"next_cursor":null}}`, true},
		{"admin list one group", "GET", "/api/v1/admin/users?status=inactive", 200, "", nil,
			`{"inactive":{"total":0,"total_capped":false,"items":[],"next_cursor":null}}`, true},
		{"admin list capped with a cursor", "GET", "/api/v1/admin/users?status=active&q=a", 200, "", nil,
			`{"active":{"total":10000,"total_capped":true,"items":[` + user + `],"next_cursor":"AQEY"}}`, true},
		{"admin list without next_cursor", "GET", "/api/v1/admin/users?status=inactive", 200, "", nil,
			`{"inactive":{"total":0,"total_capped":false,"items":[]}}`, false},
		{"admin list unknown group", "GET", "/api/v1/admin/users", 200, "", nil,
			`{"deleted":{"total":0,"items":[]}}`, false},
		{"admin created", "POST", "/api/v1/admin/admins", 201, "", nil, `{"admin":` + admin + `}`, true},
		{"password code valid", "POST", "/api/v1/auth/password/verify", 200, "", nil, `{"valid":true}`, true},
		{"code resent", "POST", "/api/v1/auth/code/resend", 200, "", nil, `{"message":"sent","expires_in":600}`, true},
		{"validation error with fields", "POST", "/api/v1/auth/register", 400, "", nil,
			`{"error":{"code":"validation_failed","message":"invalid","fields":{"email":"must be a valid email address"}}}`, true},
		{"email taken", "POST", "/api/v1/auth/register", 400, "", nil,
			`{"error":{"code":"email_taken","message":"taken"}}`, true},
		{"a code the route never answers", "POST", "/api/v1/auth/register", 400, "", nil,
			`{"error":{"code":"invalid_code","message":"wrong"}}`, false},
		{"error with an extra field", "POST", "/api/v1/auth/login/verify", 400, "", nil,
			`{"error":{"code":"invalid_code","message":"wrong","stack":"main.go:1"}}`, false},
		{"rate limited", "POST", "/api/v1/auth/code/resend", 429, "", map[string]string{"Retry-After": "42"},
			`{"error":{"code":"rate_limited","message":"wait"}}`, true},
		{"rate limited without Retry-After", "POST", "/api/v1/auth/login", 429, "", nil,
			`{"error":{"code":"rate_limited","message":"wait"}}`, false},
		{"Retry-After not a number", "POST", "/api/v1/auth/register", 429, "", map[string]string{"Retry-After": "soon"},
			`{"error":{"code":"rate_limited","message":"wait"}}`, false},
		{"a status the route never answers", "GET", "/api/v1/users/me", 404, "", nil,
			`{"error":{"code":"not_found","message":"not found"}}`, false},
		{"id that is not a uuid", "GET", "/api/v1/admin/users/" + uid, 200, "", nil,
			`{"user":` + strings.Replace(strings.TrimSuffix(user, "}"), uid, "42", 1) + `,"products":[],"products_total":0}}`, false},
		{"timestamp that is not RFC 3339", "PATCH", "/api/v1/admin/users/" + uid, 200, "", nil,
			`{"user":` + strings.Replace(user, `"created_at":"`+ts, `"created_at":"31.01.2025`, 1) + `}`, false},
		{"local-disk avatar url", "DELETE", "/api/v1/users/me/avatar", 200, "", nil,
			`{"user":` + strings.Replace(user, `"avatar_url":null`, `"avatar_url":"/uploads/a.webp"`, 1) + `}`, true},
		{"unauthorized", "GET", "/api/v1/users/me", 401, "", nil,
			`{"error":{"code":"unauthorized","message":"no token"}}`, true},
		{"forbidden", "GET", "/api/v1/admin/users/" + uid, 403, "", nil,
			`{"error":{"code":"forbidden","message":"no"}}`, true},
		{"unsupported avatar", "PUT", "/api/v1/users/me/avatar", 415, "", nil,
			`{"error":{"code":"unsupported_media_type","message":"no"}}`, true},
		{"unavailable", "POST", "/api/v1/auth/password/forgot", 503, "", nil,
			`{"error":{"code":"unavailable","message":"mail is unavailable"}}`, true},
		{"internal", "GET", "/api/v1/products", 500, "", nil,
			`{"error":{"code":"internal","message":"internal server error"}}`, true},
		{"healthz", "GET", "/healthz", 200, "", nil, `{"status":"ok"}`, true},
		{"readyz", "GET", "/readyz", 200, "", nil,
			`{"status":"ok","checks":{"database":"ok","redis":"ok","storage":"ok"}}`, true},
		{"readyz down", "GET", "/readyz", 503, "", nil,
			`{"error":{"code":"unavailable","message":"redis is unavailable"}}`, true},
		{"metrics", "GET", "/metrics", 200, "text/plain; version=0.0.4; charset=utf-8", nil,
			"# TYPE up gauge\nup 1\n", true},
		{"openapi document", "GET", "/openapi.yaml", 200, "application/yaml", nil, "openapi: 3.0.3\n", true},
		{"docs page", "GET", "/docs", 200, "text/html; charset=utf-8", nil, "<!DOCTYPE html>", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://api.test"+tc.path, nil)
			ct := tc.contentType
			if ct == "" {
				ct = "application/json"
			}
			res := &http.Response{
				StatusCode: tc.status,
				Header:     http.Header{"Content-Type": {ct}},
				Body:       io.NopCloser(strings.NewReader(tc.body)),
				Request:    req,
			}
			for k, val := range tc.header {
				res.Header.Set(k, val)
			}
			ok, verrs := v.ValidateHttpResponse(req, res)
			if ok != tc.valid {
				var msgs []string
				for _, e := range verrs {
					msgs = append(msgs, e.Message+": "+e.Reason)
					for _, se := range e.SchemaValidationErrors {
						msgs = append(msgs, "  "+se.Reason+" at "+se.KeywordLocation)
					}
				}
				t.Fatalf("valid = %v, want %v; errors: %s", ok, tc.valid, strings.Join(msgs, "\n"))
			}
		})
	}
}

var assetRef = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

func TestUIHandlerServesEmbeddedAssets(t *testing.T) {
	t.Parallel()
	h := docs.UIHandler("Accounts API", "/openapi.yaml", "/docs")

	for _, path := range []string{"/docs", "/docs/"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d", path, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET %s content type = %q", path, ct)
		}
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/docs/", nil))
	page := rec.Body.String()
	if !strings.Contains(page, "/openapi.yaml") {
		t.Error("page does not point at /openapi.yaml")
	}
	for _, cdn := range []string{"unpkg", "jsdelivr", "cdnjs", "googleapis"} {
		if strings.Contains(page, cdn) {
			t.Errorf("page mentions %s", cdn)
		}
	}

	refs := assetRef.FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("page references %d assets, want the script, style and icons:\n%s", len(refs), page)
	}
	seen := map[string]bool{}
	for _, m := range refs {
		ref := m[1]
		if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "//") {
			t.Errorf("page loads %s from outside the binary", ref)
			continue
		}
		if !strings.HasPrefix(ref, "/docs/") {
			t.Errorf("asset %s is not served below /docs/", ref)
			continue
		}
		seen[ref] = true
		for _, enc := range []string{"", "gzip"} {
			req := httptest.NewRequest(http.MethodGet, ref, nil)
			if enc != "" {
				req.Header.Set("Accept-Encoding", enc)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
				t.Errorf("GET %s (Accept-Encoding %q) = %d with %d bytes", ref, enc, rec.Code, rec.Body.Len())
			}
		}
	}
	for _, want := range []string{"/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"} {
		if !seen[want] {
			t.Errorf("page does not load %s", want)
		}
	}
}
