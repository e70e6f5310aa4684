package dashboard

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/models"
)

// usersPerPage is the length of each group's page on the dashboard.
const usersPerPage = 20

// group is one status group of the user list as the page shows it.
type group struct {
	Status      string // active or inactive
	Title       string
	Total       int
	TotalCapped bool
	Items       []models.User
	Next        string // the cursor of the next page; "" on the last
	// Continued says this page came from a cursor (not the first page).
	Continued bool
}

type usersData struct {
	Q      string
	Status string
	Groups []group
}

// notices are the messages shown after an action redirected to a page.
var notices = map[string]string{
	"deactivated":   "The user has been deactivated and their sessions ended.",
	"reactivated":   "The user has been reactivated and can sign in again.",
	"erased":        "The user has been erased.",
	"admin_created": "The admin has been created and can sign in now.",
}

// users lists the users in two groups with the same flow as
// GET /api/v1/admin/users, continuing a group with its next_cursor.
func (h *handlers) users(c *fiber.Ctx) error {
	perPage := usersPerPage
	in := app.ListUsersInput{
		Status:  strings.Clone(c.Query("status")),
		Q:       strings.Clone(c.Query("q")),
		Cursor:  strings.Clone(c.Query("cursor")),
		PerPage: &perPage,
	}
	d := usersData{Q: strings.TrimSpace(in.Q), Status: in.Status}
	v := h.signedIn(c, "Users", "users", &d)
	list, err := h.app.ListUsers(c.UserContext(), in)
	if err != nil {
		return h.formError(c, "users", v.Title, v.CSRF, err, &d)
	}
	if g := list.Active; g != nil {
		d.Groups = append(d.Groups, group{Status: "active", Title: "Active", Total: g.Total, TotalCapped: g.TotalCapped, Items: g.Items, Next: list.ActiveNext, Continued: in.Cursor != ""})
	}
	if g := list.Inactive; g != nil {
		d.Groups = append(d.Groups, group{Status: "inactive", Title: "Inactive", Total: g.Total, TotalCapped: g.TotalCapped, Items: g.Items, Next: list.InactiveNext, Continued: in.Cursor != ""})
	}
	return h.render(c, http.StatusOK, "users", v)
}

type userData struct {
	Profile  *app.Profile
	Sessions []app.SessionInfo
}

// user shows one user with their newest products and live sessions.
func (h *handlers) user(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p, err := h.app.ShowUser(ctx, strings.Clone(c.Params("id")))
	if err != nil {
		return err
	}
	// The user's own session list, seen from no session of theirs.
	sessions, err := h.app.ListSessions(ctx, app.TokenSession{Owner: models.Owner{Role: models.RoleUser, ID: p.User.ID}})
	if err != nil {
		return err
	}
	v := h.signedIn(c, p.User.Email, "users", userData{Profile: p, Sessions: sessions})
	return h.render(c, http.StatusOK, "user", v)
}

// actions are what an admin can do to a user, each confirmed first.
var actions = map[string]struct {
	Verb, Title, Explain string
	Danger               bool
}{
	"deactivate": {"Deactivate", "Deactivate this user?", "They are signed out everywhere at once and cannot sign in until an admin reactivates them.", true},
	"reactivate": {"Reactivate", "Reactivate this user?", "They can sign in again. Sessions ended by the deactivation stay ended.", false},
	"erase":      {"Erase", "Erase this user for good?", "Their account, products, sessions and avatar are deleted now and cannot be brought back. The email becomes free to register again. The audit log keeps the event.", true},
}

type confirmData struct {
	User                 *models.User
	Action               string
	Verb, Title, Explain string
	Danger               bool
}

// confirm is the step before an action: a page that says what will happen,
// with the one form that does it.
func (h *handlers) confirm(c *fiber.Ctx) error {
	name := c.Params("action")
	act, ok := actions[name]
	if !ok {
		return fiber.ErrNotFound
	}
	p, err := h.app.ShowUser(c.UserContext(), strings.Clone(c.Params("id")))
	if err != nil {
		return err
	}
	d := confirmData{User: p.User, Action: strings.Clone(name), Verb: act.Verb, Title: act.Title, Explain: act.Explain, Danger: act.Danger}
	return h.render(c, http.StatusOK, "confirm", h.signedIn(c, act.Title, "users", d))
}

// act runs a confirmed action through the same flows as PATCH and DELETE
// /api/v1/admin/users/{id}.
func (h *handlers) act(c *fiber.Ctx) error {
	id := strings.Clone(c.Params("id"))
	by := h.admin(c)
	ctx := c.UserContext()
	var err error
	switch c.Params("action") {
	case "deactivate", "reactivate":
		active := c.Params("action") == "reactivate"
		_, err = h.app.SetUserActive(ctx, by, id, app.SetUserActiveInput{Active: &active})
	case "erase":
		if err = h.app.EraseUser(ctx, by, id); err == nil {
			return c.Redirect("/admin/?done=erased", http.StatusSeeOther)
		}
	default:
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	return c.Redirect("/admin/users/"+url.PathEscape(id)+"?done="+c.Params("action")+"d", http.StatusSeeOther)
}

// signedIn is the view of a page for the signed-in admin.
func (h *handlers) signedIn(c *fiber.Ctx, title, nav string, data any) view {
	return view{Title: title, Admin: h.admin(c), CSRF: h.csrfToken(c), Nav: nav, Notice: notices[c.Query("done")], Data: data}
}
