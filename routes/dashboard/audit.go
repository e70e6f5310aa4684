package dashboard

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/models"
)

// auditPerPage is the length of an audit log page on the dashboard.
const auditPerPage = 50

type auditData struct {
	Actor, Target, Action string
	Actions               []string
	Page                  int
	Total                 int
	Items                 []models.AuditEvent
	Prev, Next            int // 0: no such page
}

// audit lists the audit log with the same flow as GET /api/v1/admin/audit.
func (h *handlers) audit(c *fiber.Ctx) error {
	d := auditData{
		Actor:   strings.TrimSpace(strings.Clone(c.Query("actor"))),
		Target:  strings.TrimSpace(strings.Clone(c.Query("target"))),
		Action:  strings.Clone(c.Query("action")),
		Actions: app.AuditActions,
		Page:    1,
	}
	if n, err := strconv.Atoi(c.Query("page")); err == nil && n > 1 {
		d.Page = n
	}
	perPage := auditPerPage
	v := h.signedIn(c, "Audit log", "audit", &d)
	page, err := h.app.AuditLog(c.UserContext(), app.AuditInput{Actor: d.Actor, Target: d.Target, Action: d.Action, Page: &d.Page, PerPage: &perPage})
	if err != nil {
		return h.formError(c, "audit", v.Title, v.CSRF, err, &d)
	}
	d.Total, d.Items = page.Total, page.Items
	if d.Page > 1 {
		d.Prev = d.Page - 1
	}
	if d.Page*perPage < d.Total {
		d.Next = d.Page + 1
	}
	return h.render(c, http.StatusOK, "audit", v)
}
