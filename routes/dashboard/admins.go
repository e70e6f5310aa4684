package dashboard

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/app"
)

type adminFormData struct {
	Name, Email string
	Created     string // the email of the admin just created
}

func (h *handlers) adminForm(c *fiber.Ctx) error {
	d := adminFormData{}
	if c.Query("done") == "admin_created" {
		d.Created = strings.Clone(c.Query("email"))
	}
	return h.render(c, http.StatusOK, "admin_new", h.signedIn(c, "New admin", "admins", d))
}

// createAdmin creates another admin, as POST /api/v1/admin/admins.
func (h *handlers) createAdmin(c *fiber.Ctx) error {
	in := app.CreateAdminInput{
		Name:     strings.Clone(c.FormValue("name")),
		Email:    strings.Clone(c.FormValue("email")),
		Password: strings.Clone(c.FormValue("password")),
	}
	ad, err := h.app.CreateAdmin(c.UserContext(), h.admin(c), in)
	if err != nil {
		// The password is never sent back into the page.
		return h.formError(c, "admin_new", "New admin", h.csrfToken(c), err, adminFormData{Name: in.Name, Email: in.Email})
	}
	return c.Redirect("/admin/admins/new?done=admin_created&email="+url.QueryEscape(ad.Email), http.StatusSeeOther)
}
