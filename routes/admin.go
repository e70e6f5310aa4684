package routes

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/models"
)

// adminHandlers serve administrator sign-in and user management.
type adminHandlers struct {
	app *app.App
	presenter
	sessions sessionHandlers
}

type adminEnvelopeJSON struct {
	Admin adminJSON `json:"admin"`
}

type adminUserPageJSON struct {
	Total       int        `json:"total"`
	TotalCapped bool       `json:"total_capped"`
	Items       []userJSON `json:"items"`
	// NextCursor is null on the group's last page.
	NextCursor *string `json:"next_cursor"`
}

// adminUserListJSON leaves out the group a status filter excluded.
type adminUserListJSON struct {
	Active   *adminUserPageJSON `json:"active,omitempty"`
	Inactive *adminUserPageJSON `json:"inactive,omitempty"`
}

type adminUserJSON struct {
	User userJSON `json:"user"`
}

type adminUserDetailJSON struct {
	User userWithProductsJSON `json:"user"`
}

func (h adminHandlers) login(c *fiber.Ctx) error {
	var in app.LoginInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	sent, err := h.app.AdminLogin(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.JSON(h.codeSent(sent, h.text(c, "msg.login_code_sent")))
}

func (h adminHandlers) verifyLogin(c *fiber.Ctx) error {
	var in app.VerifyInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	s, err := h.app.VerifyAdminLogin(c.UserContext(), in, client(c))
	if err != nil {
		return err
	}
	return h.sessions.tokenBody(c, s)
}

func (h adminHandlers) createAdmin(c *fiber.Ctx) error {
	var in app.CreateAdminInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	ad, err := h.app.CreateAdmin(c.UserContext(), currentAdmin(c), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(adminEnvelopeJSON{Admin: h.admin(ad)})
}

func (h adminHandlers) listUsers(c *fiber.Ctx) error {
	verr := &models.ValidationError{}
	in := app.ListUsersInput{
		// Copied: Fiber reuses the request buffer once the handler returns.
		Status:  strings.Clone(c.Query("status")),
		Q:       strings.Clone(c.Query("q")),
		Page:    h.intQuery(c, "page", verr),
		PerPage: h.intQuery(c, "per_page", verr),
		Cursor:  strings.Clone(c.Query("cursor")),
	}
	if err := verr.OrNil(); err != nil {
		return err
	}
	list, err := h.app.ListUsers(c.UserContext(), in)
	if err != nil {
		return err
	}
	page := func(g *models.UserGroup, next string) *adminUserPageJSON {
		p := &adminUserPageJSON{Total: g.Total, TotalCapped: g.TotalCapped, Items: h.users(g.Items)}
		if next != "" {
			p.NextCursor = &next
		}
		return p
	}
	var out adminUserListJSON
	if g := list.Active; g != nil {
		out.Active = page(g, list.ActiveNext)
	}
	if g := list.Inactive; g != nil {
		out.Inactive = page(g, list.InactiveNext)
	}
	return c.JSON(out)
}

// intQuery reads an optional whole-number query parameter; nil when absent.
func (h adminHandlers) intQuery(c *fiber.Ctx, key string, verr *models.ValidationError) *int {
	raw := c.Query(key)
	if raw == "" {
		return nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		verr.Add(key, "must be an integer")
		return nil
	}
	return &n
}

func (h adminHandlers) showUser(c *fiber.Ctx) error {
	p, err := h.app.ShowUser(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(adminUserDetailJSON{User: h.profile(p)})
}

func (h adminHandlers) updateUser(c *fiber.Ctx) error {
	var in app.SetUserActiveInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	u, err := h.app.SetUserActive(c.UserContext(), currentAdmin(c), c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(adminUserJSON{User: h.user(u)})
}

// eraseUser erases a user at once (row, products, sessions, avatar).
func (h adminHandlers) eraseUser(c *fiber.Ctx) error {
	if err := h.app.EraseUser(c.UserContext(), currentAdmin(c), c.Params("id")); err != nil {
		return err
	}
	return c.JSON(messageJSON{h.text(c, "msg.user_erased")})
}

// audit lists the audit log, newest first, filtered by actor, target and action.
func (h adminHandlers) audit(c *fiber.Ctx) error {
	verr := &models.ValidationError{}
	in := app.AuditInput{
		// Copied: Fiber reuses the request buffer once the handler returns.
		Actor:   strings.Clone(c.Query("actor")),
		Target:  strings.Clone(c.Query("target")),
		Action:  strings.Clone(c.Query("action")),
		Page:    h.intQuery(c, "page", verr),
		PerPage: h.intQuery(c, "per_page", verr),
	}
	if err := verr.OrNil(); err != nil {
		return err
	}
	page, err := h.app.AuditLog(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.JSON(auditPageJSON{Total: page.Total, Items: h.auditEvents(page.Items)})
}
