package routes_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/acme/accounts/internal/testenv"
)

func TestSelfReactivation(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("back")
	tok := e.RegisterUser(email)
	mustStatus(t, e.Do(http.MethodDelete, "/api/v1/users/me", nil, tok), http.StatusOK, "")
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/login", creds(email), ""), http.StatusForbidden, "account_inactive")

	// Wrong password, unknown email: the same 400.
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/reactivate", map[string]any{"email": email, "password": "not the password"}, ""), http.StatusBadRequest, "invalid_credentials")
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/reactivate", creds(e.Email("nobody")), ""), http.StatusBadRequest, "invalid_credentials")

	r := e.Do(http.MethodPost, "/api/v1/auth/reactivate", creds(email), "")
	mustStatus(t, r, http.StatusOK, "")
	code := e.Code(email)
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/reactivate/verify", map[string]any{"email": email, "code": "000000"}, ""), http.StatusBadRequest, "invalid_code")
	r = e.Do(http.MethodPost, "/api/v1/auth/reactivate/verify", map[string]any{"email": email, "code": code}, "")
	mustStatus(t, r, http.StatusOK, "")
	if !strings.Contains(string(r.Body), `"token":"`) || !strings.Contains(string(r.Body), `"active":true`) {
		t.Fatalf("token body: %s", r.Body)
	}
	// Used once; the account is active again, so a second round is refused.
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/reactivate/verify", map[string]any{"email": email, "code": code}, ""), http.StatusBadRequest, "invalid_code")
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/reactivate", creds(email), ""), http.StatusBadRequest, "invalid_credentials")
	e.Login(email, testenv.Password)
}

func TestAdminDeactivatedCannotReactivate(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("out")
	e.RegisterUser(email)
	_, admin := e.NewAdmin()
	id := userID(t, e, email)
	mustStatus(t, e.Do(http.MethodPatch, "/api/v1/admin/users/"+id.String(), map[string]any{"active": false}, admin), http.StatusOK, "")
	before := len(e.Mails(email))
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/reactivate", creds(email), ""), http.StatusForbidden, "account_inactive")
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/reactivate", map[string]any{"email": email, "password": "not the password"}, ""), http.StatusBadRequest, "invalid_credentials")
	if n := len(e.Mails(email)); n != before {
		t.Fatalf("%d mails sent to an admin-deactivated account", n-before)
	}
}

// An administrator who steps in between the code mail and its verify wins.
func TestReactivationLosesToAdmin(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, testenv.Config{})
	email := e.Email("race")
	tok := e.RegisterUser(email)
	mustStatus(t, e.Do(http.MethodDelete, "/api/v1/users/me", nil, tok), http.StatusOK, "")
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/reactivate", creds(email), ""), http.StatusOK, "")
	code := e.Code(email)
	_, admin := e.NewAdmin()
	id := userID(t, e, email)
	mustStatus(t, e.Do(http.MethodPatch, "/api/v1/admin/users/"+id.String(), map[string]any{"active": true}, admin), http.StatusOK, "")
	mustStatus(t, e.Do(http.MethodPatch, "/api/v1/admin/users/"+id.String(), map[string]any{"active": false}, admin), http.StatusOK, "")
	mustStatus(t, e.Do(http.MethodPost, "/api/v1/auth/reactivate/verify", map[string]any{"email": email, "code": code}, ""), http.StatusForbidden, "account_inactive")
}
