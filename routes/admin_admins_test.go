package routes_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/acme/accounts/internal/testenv"
	"github.com/acme/accounts/models"
)

func TestCreateAdminScenarios(t *testing.T) {
	create := func(name, addr, password string) func(e *testenv.Env) any {
		return func(e *testenv.Env) any {
			if addr == "" {
				addr = e.Email("new")
			}
			return map[string]any{"name": name, "email": addr, "password": password}
		}
	}
	testenv.Run(t, []testenv.Scenario{
		{
			Name: "creates an admin who can sign in at once", Method: "POST", Path: pathAdmins, Setup: withAdmin, Token: adminTok,
			Body: func(e *testenv.Env) any {
				e.Vars()["new"] = e.Email("second")
				return map[string]any{"name": "  Operations ", "email": " " + strings.ToUpper(e.Vars()["new"]), "password": "a long admin passphrase"}
			},
			Status: 201, Has: []string{`"admin":{`, `"name":"Operations"`}, HasNot: []string{"password", "token_version", `"active"`},
			After: func(t *testing.T, e *testenv.Env, r *testenv.Response) {
				addr := e.Vars()["new"]
				admin, _ := r.JSON(t)["admin"].(map[string]any)
				if admin["email"] != addr {
					t.Fatalf("email %v, want %s", admin["email"], addr)
				}
				if _, err := uuid.Parse(fmt.Sprint(admin["id"])); err != nil {
					t.Fatalf("id: %v", err)
				}
				tok := e.AdminLogin(addr, "a long admin passphrase")
				if l := e.Do("GET", pathAdminUsers, nil, tok); l.Status != 200 {
					t.Fatalf("new admin's token: %d %s", l.Status, l.Body)
				}
				if exists, _ := models.UserEmailExists(context.Background(), e.DB, addr); exists {
					t.Fatal("an admin landed in the users table")
				}
			},
		},
		{
			Name: "email of an existing admin, other case", Method: "POST", Path: pathAdmins, Setup: withAdmin, Token: adminTok,
			Body: func(e *testenv.Env) any {
				return create("Again", strings.ToUpper(e.Vars()[varAdminEmail]), testenv.Password)(e)
			},
			Status: 400, Code: "email_taken",
		},
		{
			Name: "a user's email is free for an admin", Method: "POST", Path: pathAdmins, Setup: withAdminAndUser, Token: adminTok,
			Body:   func(e *testenv.Env) any { return create("Member", e.Vars()[varUserEmail], testenv.Password)(e) },
			Status: 201,
		},
		{
			Name: "every field wrong", Method: "POST", Path: pathAdmins, Setup: withAdmin, Token: adminTok,
			Body:   create("", "not-an-email", "short"),
			Status: 400, Code: "validation_failed", Has: []string{`"name":`, `"email":`, `"password":"must be 8 to 72 bytes"`},
		},
		{
			Name: "blank name", Method: "POST", Path: pathAdmins, Setup: withAdmin, Token: adminTok,
			Body: create("   ", "", testenv.Password), Status: 400, Code: "validation_failed", Has: []string{`"name":`},
		},
		{
			Name: "name of 101 characters", Method: "POST", Path: pathAdmins, Setup: withAdmin, Token: adminTok,
			Body: create(strings.Repeat("é", 101), "", testenv.Password), Status: 400, Code: "validation_failed", Has: []string{`"name":`},
		},
		{
			Name: "name of 100 characters", Method: "POST", Path: pathAdmins, Setup: withAdmin, Token: adminTok,
			Body: create(strings.Repeat("é", 100), "", testenv.Password), Status: 201,
		},
		{
			Name: "73-byte password", Method: "POST", Path: pathAdmins, Setup: withAdmin, Token: adminTok,
			Body: create("Long", "", strings.Repeat("a", 73)), Status: 400, Code: "validation_failed", Has: []string{`"password":`},
		},
		{
			Name: "72-byte password", Method: "POST", Path: pathAdmins, Setup: withAdmin, Token: adminTok,
			Body: create("Long", "", strings.Repeat("a", 72)), Status: 201,
		},
		{
			Name: "7-byte password", Method: "POST", Path: pathAdmins, Setup: withAdmin, Token: adminTok,
			Body: create("Short", "", "1234567"), Status: 400, Code: "validation_failed", Has: []string{`"password":`},
		},
		{
			Name: "name of the wrong type", Method: "POST", Path: pathAdmins, Setup: withAdmin, Token: adminTok,
			Body: func(e *testenv.Env) any {
				return map[string]any{"name": 7, "email": e.Email("x"), "password": testenv.Password}
			},
			Status: 400, Code: "validation_failed", Has: []string{`"name":`},
		},
	})
}
