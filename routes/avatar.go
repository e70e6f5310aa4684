package routes

import (
	"fmt"
	"io"
	"mime"

	"github.com/gofiber/fiber/v2"

	"github.com/acme/accounts/models"
)

type avatarURLJSON struct {
	AvatarURL string `json:"avatar_url"`
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
