package routes

import (
	"fmt"
	"io"
	"mime"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/models"
)

// userHandlers serve the signed-in user.
type userHandlers struct {
	app *app.App
	presenter
	sessions sessionHandlers
}

type meJSON struct {
	User userWithProductsJSON `json:"user"`
}

type userEnvelopeJSON struct {
	User userJSON `json:"user"`
}

type avatarURLJSON struct {
	AvatarURL string `json:"avatar_url"`
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

// putAvatar takes the image from the multipart field "avatar". The file is
// read whole (the server's body limit already bounds it) and handed to the
// app, which checks its size and trusts neither its name nor its declared
// type.
func (h userHandlers) putAvatar(c *fiber.Ctx) error {
	data, err := h.avatarUpload(c)
	if err != nil {
		return err
	}
	url, err := h.app.ReplaceAvatar(c.UserContext(), currentUser(c), data)
	if err != nil {
		return err
	}
	return c.JSON(avatarURLJSON{AvatarURL: url})
}

func (h userHandlers) avatarUpload(c *fiber.Ctx) ([]byte, error) {
	mediaType, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mediaType != fiber.MIMEMultipartForm {
		return nil, fmt.Errorf("avatar body of type %q: %w", c.Get(fiber.HeaderContentType), models.ErrUnsupportedMedia)
	}
	form, err := c.MultipartForm()
	if err != nil {
		return nil, models.NewValidationError("avatar", "must be sent as a multipart/form-data file field")
	}
	files := form.File["avatar"]
	switch {
	case len(files) == 0:
		return nil, models.NewValidationError("avatar", "is required")
	case len(files) > 1:
		return nil, models.NewValidationError("avatar", "must be a single file")
	}
	f, err := files[0].Open()
	if err != nil {
		return nil, fmt.Errorf("open avatar upload: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read avatar upload: %w", err)
	}
	return data, nil
}

func (h userHandlers) deleteAvatar(c *fiber.Ctx) error {
	u, err := h.app.RemoveAvatar(c.UserContext(), currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(userEnvelopeJSON{User: h.user(u)})
}
