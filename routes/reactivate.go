package routes

import (
	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/app"
)

// reactivate checks the password of a self-deactivated account and mails a
// code (purpose reactivate).
func (h authHandlers) reactivate(c *fiber.Ctx) error {
	var in app.LoginInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	sent, err := h.app.Reactivate(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.JSON(h.codeSent(sent, h.text(c, "msg.reactivate_code_sent")))
}

// verifyReactivation switches the account back on and signs the user in.
func (h authHandlers) verifyReactivation(c *fiber.Ctx) error {
	var in app.VerifyInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	s, err := h.app.VerifyReactivation(c.UserContext(), in, client(c))
	if err != nil {
		return err
	}
	return h.sessions.tokenBody(c, s)
}
