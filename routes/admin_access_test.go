package routes_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

func TestAdminRoleSeparation(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	withAdminAndUser(t, e)
	admin, user := adminTok(e), userTok(e)
	someUser := pathMember
	patchBody := map[string]any{"active": false}

	adminRoutes := []struct {
		method, path string
		body         any
	}{
		{"POST", pathAdmins, map[string]any{"name": "X", "email": e.Email("x"), "password": testenv.Password}},
		{"GET", pathAdminUsers, nil},
		{"GET", pathAdminUsers + "?status=active", nil},
		{"GET", someUser, nil},
		{"PATCH", someUser, patchBody},
	}
	for _, rt := range adminRoutes {
		if r := e.Do(rt.method, rt.path, rt.body, user); r.Status != 403 || r.ErrorCode() != "forbidden" {
			t.Errorf("user token on %s %s: %d %s", rt.method, rt.path, r.Status, r.Body)
		}
		if r := e.Do(rt.method, rt.path, rt.body, ""); r.Status != 401 || r.ErrorCode() != "unauthorized" {
			t.Errorf("no token on %s %s: %d %s", rt.method, rt.path, r.Status, r.Body)
		}
	}
	// The user was not deactivated by any refused request above.
	if r := e.Do("GET", pathMe, nil, user); r.Status != 200 {
		t.Fatalf("user token after refused admin requests: %d %s", r.Status, r.Body)
	}

	// Every route of the signed-in user and their products.
	userRoutes := []struct {
		method, route, path string
		body                any
	}{
		{"GET", "/api/v1/users/me", pathMe, nil},
		{"PATCH", "/api/v1/users/me", pathMe, map[string]any{"first_name": "Hacked"}},
		{"DELETE", "/api/v1/users/me", pathMe, nil},
		{"PUT", "/api/v1/users/me/password", pathMe + "/password", map[string]any{"current_password": testenv.Password, "new_password": "another password"}},
		{"PUT", "/api/v1/users/me/avatar", pathMe + "/avatar", testenv.NewMultipart(t, "avatar", "a.png", []byte("\x89PNG\r\n\x1a\n"))},
		{"DELETE", "/api/v1/users/me/avatar", pathMe + "/avatar", nil},
		{"GET", "/api/v1/products", "/api/v1/products", nil},
		{"POST", "/api/v1/products", "/api/v1/products", map[string]any{"name": "Lamp", "price": 100}},
		{"GET", "/api/v1/products/:id", "/api/v1/products/" + uuid.NewString(), nil},
		{"PATCH", "/api/v1/products/:id", "/api/v1/products/" + uuid.NewString(), map[string]any{"name": "Lamp"}},
		{"DELETE", "/api/v1/products/:id", "/api/v1/products/" + uuid.NewString(), nil},
	}
	for _, rt := range userRoutes {
		if !hasRoute(e, rt.method, rt.route) {
			t.Errorf("%s %s is not routed", rt.method, rt.route)
			continue
		}
		if r := e.Do(rt.method, rt.path, rt.body, admin); r.Status != 403 || r.ErrorCode() != "forbidden" {
			t.Errorf("admin token on %s %s: %d %s", rt.method, rt.path, r.Status, r.Body)
		}
	}
	if r := e.Do("GET", pathAdminUsers, nil, admin); r.Status != 200 {
		t.Fatalf("admin token after refused user requests: %d %s", r.Status, r.Body)
	}
}

// hasRoute reports whether the router serves method on the route pattern.
func hasRoute(e *testenv.Env, method, route string) bool {
	for _, r := range e.Fiber.GetRoutes(true) {
		if r.Method == method && r.Path == route {
			return true
		}
	}
	return false
}

func TestAdminTokenScenarios(t *testing.T) {
	testenv.Run(t, []testenv.Scenario{
		{
			// The role names the table the subject is looked up in: a user's
			// id in an admin-role token finds no admin.
			Name: "forged admin role on a user's id", Method: "GET", Path: pathAdminUsers, Setup: withAdminAndUser,
			Token:  func(e *testenv.Env) string { return e.SignToken(e.T, e.Vars()[varUserEmail], "admin", 1, time.Hour) },
			Status: 401, Code: "unauthorized",
		},
		{
			Name: "forged user role on an admin's id", Method: "GET", Path: pathMe, Setup: withAdmin,
			Token: func(e *testenv.Env) string {
				return e.SignAdminToken(e.T, e.Vars()[varAdminEmail], "user", 1, time.Hour)
			},
			Status: 401, Code: "unauthorized",
		},
		{
			Name: "unknown role", Method: "GET", Path: pathAdminUsers, Setup: withAdmin,
			Token: func(e *testenv.Env) string {
				return e.SignAdminToken(e.T, e.Vars()[varAdminEmail], "root", 1, time.Hour)
			},
			Status: 403, Code: "forbidden",
		},
		{
			Name: "expired admin token", Method: "GET", Path: pathAdminUsers, Setup: withAdmin,
			Token: func(e *testenv.Env) string {
				return e.SignAdminToken(e.T, e.Vars()[varAdminEmail], "admin", 1, -time.Minute)
			},
			Status: 401, Code: "unauthorized",
		},
		{
			Name: "stale admin token version", Method: "GET", Path: pathAdminUsers, Setup: withAdmin,
			Token: func(e *testenv.Env) string {
				return e.SignAdminToken(e.T, e.Vars()[varAdminEmail], "admin", 2, time.Hour)
			},
			Status: 401, Code: "unauthorized",
		},
		{
			Name: "token of a deactivated admin", Method: "GET", Path: pathAdminUsers,
			Setup: func(t *testing.T, e *testenv.Env) {
				withAdmin(t, e)
				if _, err := e.DB.NewUpdate().Model((*models.Admin)(nil)).Set("active = ?", false).
					Where("email = ?", e.Vars()[varAdminEmail]).Exec(context.Background()); err != nil {
					t.Fatal(err)
				}
			},
			Token: adminTok, Status: 401, Code: "unauthorized",
		},
		{
			Name: "garbage token", Method: "GET", Path: pathAdminUsers,
			Token: func(*testenv.Env) string { return "not.a.jwt" }, Status: 401, Code: "unauthorized",
		},
	})
}
