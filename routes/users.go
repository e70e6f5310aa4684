package routes

import (
	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/models"
)

// userHandlers serve the signed-in user.
type userHandlers struct {
	app *app.App
	presenter
	sessions sessionHandlers
	// avatarLimit bounds an avatar upload's whole body, in bytes.
	avatarLimit int
}

type meJSON struct {
	User userWithProductsJSON `json:"user"`
}

type userEnvelopeJSON struct {
	User userJSON `json:"user"`
}

// me answers from what the token middleware loaded in its one query.
func (h userHandlers) me(c *fiber.Ctx) error {
	t, ok := accessToken(c)
	if !ok {
		return models.ErrUnauthorized
	}
	p, err := h.app.Me(c.UserContext(), t)
	if err != nil {
		return err
	}
	return c.JSON(meJSON{User: h.profile(p)})
}

func (h userHandlers) updateMe(c *fiber.Ctx) error {
	var in app.ProfileInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	u, err := h.app.UpdateProfile(c.UserContext(), currentUser(c), in)
	if err != nil {
		return err
	}
	return c.JSON(userEnvelopeJSON{User: h.user(u)})
}

func (h userHandlers) changePassword(c *fiber.Ctx) error {
	var in app.ChangePasswordInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	by, err := tokenSession(c)
	if err != nil {
		return err
	}
	s, err := h.app.ChangePassword(c.UserContext(), currentUser(c), by, in)
	if err != nil {
		return err
	}
	// The same token body as a sign-in, so clients handle both alike.
	return h.sessions.tokenBody(c, s)
}

func (h userHandlers) deleteMe(c *fiber.Ctx) error {
	if err := h.app.Deactivate(c.UserContext(), currentUser(c)); err != nil {
		return err
	}
	return c.JSON(messageJSON{h.text(c, "msg.deactivated")})
}
